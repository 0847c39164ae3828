"""Gymnasium spaces rebuilt from the plain-data description a benchmark worker sends.

Workers run in the benchmark's own interpreter (old gym, numpy 1.x) and describe their spaces as
dicts of numbers and arrays (``describe_space`` in each ``*_worker.py``); the adapters rebuild them
here so the spaces are identical to the benchmark's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np


def space_from_description(desc: Mapping[str, Any]) -> gym.Space:
    kind = desc["type"]
    if kind == "Dict":
        return gym.spaces.Dict({k: space_from_description(v) for k, v in desc["spaces"].items()})
    if kind == "Discrete":
        return gym.spaces.Discrete(desc["n"], start=desc.get("start", 0))
    if kind == "Box":
        dtype = np.dtype(desc["dtype"])
        return gym.spaces.Box(
            low=np.asarray(desc["low"], dtype=dtype),
            high=np.asarray(desc["high"], dtype=dtype),
            shape=tuple(desc["shape"]),
            dtype=dtype,
        )
    raise ValueError(f"unknown space type {kind!r} in the worker's description")
