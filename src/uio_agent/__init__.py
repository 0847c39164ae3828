"""uio-agent: Unified-IO 2 as a Gymnasium policy for embodied benchmarks."""

__version__ = "0.1.0"
