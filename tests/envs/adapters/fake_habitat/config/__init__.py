"""``habitat.config.read_write``: unlock a read-only config for the duration of a block."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def read_write(config: Any) -> Iterator[Any]:
    config.set_readonly(False)
    try:
        yield config
    finally:
        config.set_readonly(True)
