"""Adapters to the real benchmarks, which run out of process through :mod:`uio_agent.envs.remote`.

Only the parent side is imported here; ``*_worker.py`` files run in the benchmark's interpreter.
"""
