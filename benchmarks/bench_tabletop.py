"""Speed and quality of the embedded VIMA-Bench (``tabletop``) against the real one.

Per task: env construction, median reset (prompt assets included) and step time with oracle
actions, oracle success over seeded episodes, random-policy success, peak memory; ratios to
VIMA-Bench's published 2-core CPU timings (0.40 s/step, 0.68 s/reset, reference §11). When
VIMA-Bench is installed (in this interpreter, or in another one named by ``--vima-python`` /
``$UIO_AGENT_VIMA_PYTHON``), it is timed side by side on the same seeds with the same oracle.

    .venv/bin/python benchmarks/bench_tabletop.py --episodes 100 [--level L1] [--vima-python PY]
        [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from uio_agent.envs.names import LEVEL_ALIASES
from uio_agent.envs.tabletop import PARTITION_TO_SPECS, make

VIMA_STEP_S = 0.40
VIMA_RESET_S = 0.68


@dataclass
class TaskFigures:
    task: str
    make_s: float = 0.0
    reset_s: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    reset_cpu_s: list[float] = field(default_factory=list)
    step_cpu_s: list[float] = field(default_factory=list)
    oracle_success: int = 0
    random_success: int = 0
    episodes: int = 0
    oracle_steps: list[int] = field(default_factory=list)


def run_task(task: str, level: str, episodes: int, seed0: int) -> TaskFigures:
    kwargs = PARTITION_TO_SPECS["test"][level][task]
    t0 = time.perf_counter()
    env = make(task, task_kwargs=kwargs)
    figures = TaskFigures(task, make_s=time.perf_counter() - t0, episodes=episodes)
    for seed in range(seed0, seed0 + episodes):
        t0, c0 = time.perf_counter(), time.process_time()
        obs, info = env.reset(seed=seed, options={"oracle": True})
        figures.reset_s.append(time.perf_counter() - t0)
        figures.reset_cpu_s.append(time.process_time() - c0)
        oracle = env.task.oracle(env)
        steps = 0
        for _ in range(env.task.oracle_max_steps):
            action = oracle.act(obs)
            if action is None:
                break
            t0, c0 = time.perf_counter(), time.process_time()
            obs, _, terminated, truncated, info = env.step(action)
            figures.step_s.append(time.perf_counter() - t0)
            figures.step_cpu_s.append(time.process_time() - c0)
            steps += 1
            if terminated or truncated:
                break
        figures.oracle_success += bool(info["success"])
        figures.oracle_steps.append(steps)
        # Random policy: uniform actions in the action space, the evaluation's step budget.
        env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(env.max_episode_steps):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        figures.random_success += bool(info["success"])
    env.close()
    return figures


def vima_side_by_side(
    task: str, level: str, episodes: int, seed0: int, python: str | None
) -> tuple[float, float]:
    """Median (reset, step) seconds of the real VIMA-Bench on the same seeds, through the
    out-of-process adapter (``python``: an interpreter with ``vima_bench``; None: in-process)."""
    from uio_agent.envs import make_env

    env = make_env(f"vima_bench/{task}@{level}", **({"python": python} if python else {}))
    resets, steps = [], []
    for seed in range(seed0, seed0 + episodes):
        t0 = time.perf_counter()
        obs, _ = env.reset(seed=seed, options={"oracle": True})
        resets.append(time.perf_counter() - t0)
        oracle = env.task.oracle(env)
        for _ in range(env.task.oracle_max_steps):
            action = oracle.act(obs)
            if action is None:
                break
            t0 = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(action)
            steps.append(time.perf_counter() - t0)
            if terminated or truncated:
                break
    env.close()
    return statistics.median(resets), statistics.median(steps)


def vima_available(python: str | None) -> bool:
    return python is not None or importlib.util.find_spec("vima_bench") is not None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--level", default="L1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="*", default=["visual_manipulation", "rotate"])
    parser.add_argument("--results", default=None, help="append a markdown section to this file")
    parser.add_argument(
        "--vima-python",
        default=os.environ.get("UIO_AGENT_VIMA_PYTHON"),
        help="interpreter with vima_bench installed, for a side-by-side run (default: $UIO_AGENT_VIMA_PYTHON)",
    )
    parser.add_argument("--vima-episodes", type=int, default=10)
    args = parser.parse_args()
    level = LEVEL_ALIASES.get(args.level, args.level)

    rows = []
    for task in args.tasks:
        f = run_task(task, level, args.episodes, args.seed)
        reset, step = statistics.median(f.reset_s), statistics.median(f.step_s)
        reset_cpu, step_cpu = statistics.median(f.reset_cpu_s), statistics.median(f.step_cpu_s)
        real_text = "not installed"
        if vima_available(args.vima_python):
            real = vima_side_by_side(task, level, args.vima_episodes, args.seed, args.vima_python)
            real_text = f"reset {real[0]:.3f} s, step {real[1]:.3f} s ({args.vima_episodes} episodes)"
        rows.append(
            f"| {task} | {args.level} | {f.oracle_success}/{f.episodes} | {f.random_success}/{f.episodes} "
            f"| {np.mean(f.oracle_steps):.2f} | {f.make_s:.2f} | {reset * 1e3:.1f} / {reset_cpu * 1e3:.1f} "
            f"| {step * 1e3:.1f} / {step_cpu * 1e3:.1f} "
            f"| {VIMA_RESET_S / reset:.0f}x | {VIMA_STEP_S / step:.1f}x | {real_text} |"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    header = (
        "| task | level | oracle success | random success | oracle steps | make s | reset ms wall / CPU (median) "
        "| step ms wall / CPU (median) | reset speed-up vs 0.68 s | step speed-up vs 0.40 s | real VIMA-Bench here |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    command = "python benchmarks/bench_tabletop.py " + " ".join(sys.argv[1:])
    load = os.getloadavg()[0]
    machine = f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip()
    text = (
        f"\n## tabletop (embedded VIMA-Bench), {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"`{command}` on {machine} ({os.cpu_count()} CPUs, load average {load:.1f} at the end), "
        f"peak RSS {peak_mb:.0f} MB. Speed-ups use wall time.\n\n{header}\n" + "\n".join(rows) + "\n"
    )
    print(text)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
