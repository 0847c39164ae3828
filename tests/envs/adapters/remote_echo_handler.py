"""A handler for protocol tests, loaded by file path in a worker (numpy 1.x or 2.x, Python >= 3.8)."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from typing import Any

import numpy as np

#: dtype strings exercised by the tests; the same recipe builds them on both sides.
DTYPES = ["|u1", "<i8", "<f4", "<f8", "|b1", "<i4", "<u2", ">f8", "<f2", "<c16"]


def reference_arrays() -> dict[str, np.ndarray]:
    """Arrays whose bytes depend only on the recipe, so two numpy versions can compare them."""
    out = {}
    for i, dtype in enumerate(DTYPES):
        raw = bytes((7 * k + 31 * i) % 256 for k in range(np.dtype(dtype).itemsize * 24))
        out[dtype] = np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(2, 3, 4).copy()
    out["empty"] = np.zeros((0, 5), dtype=np.float32)
    out["scalar_shape"] = np.array(3.5, dtype=np.float64)
    out["fortran"] = np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4))
    return out


def digest(array: np.ndarray) -> list[Any]:
    return [
        array.dtype.str,
        list(array.shape),
        hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(),
    ]


class EchoHandler:
    def __init__(self, greeting: str = "hello", fail: bool = False) -> None:
        if fail:
            raise ImportError("No module named 'simulated_benchmark'")
        self.greeting = greeting

    def echo(self, value: Any) -> Any:
        return value

    def hello(self) -> str:
        print("chatter on stdout must not corrupt the protocol")
        os.write(1, b"raw chatter on fd 1 too\n")
        return self.greeting

    def versions(self) -> dict[str, Any]:
        return {"numpy": np.__version__, "python": list(sys.version_info[:3])}

    def reference_arrays(self) -> dict[str, np.ndarray]:
        return reference_arrays()

    def digests(self, arrays: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        return {k: digest(v) for k, v in arrays.items()}

    def numpy_types(self, value: Any) -> Any:
        """Type names of what arrived, to check scalars and containers keep their kinds."""
        if isinstance(value, dict):
            return {k: self.numpy_types(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [type(value).__name__, [self.numpy_types(v) for v in value]]
        return type(value).__name__

    def sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "late reply"

    def fail(self, message: str) -> None:
        raise KeyError(message)

    def unsendable(self) -> Any:
        return {"fn": print}

    def die(self) -> None:
        sys.stderr.write("about to die horribly\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    def exit(self, code: int) -> None:
        sys.stderr.write("exiting on purpose\n")
        os._exit(code)
