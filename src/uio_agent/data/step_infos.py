"""Per-step ``info`` values that a dataset keeps, as one array per leaf.

Navigation codecs write the agent's pose at every history step, and the pose is not part of the
observation (habitat's and THOR's sensors do not report it): it is in the ``info`` of each step. A
dataset therefore keeps a few keys of every info (``T + 1`` of them: the reset info, then one per step),
Minari's per-step ``infos`` convention. Nested dicts (THOR's ``info["agent"]``) become nested groups whose
leaves are stacked over steps: ``agent/position/x`` is a ``(T + 1,)`` float64 array, ``agent_position`` a
``(T + 1, 3)`` one. Only numbers and booleans are kept.

:data:`STEP_INFO_KEYS` is the explicit list collection keeps: the pose keys of the navigation suites'
infos, which are exactly what the navigation codecs read (their ``pose_keys``; a test checks that the
list covers them). ``data`` cannot import ``codecs`` (DESIGN.md's import rule), hence a list here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: info keys kept per step when the environment reports them: PointNav's (habitat's) ``agent_position``
#: ``[x, y, z]`` and ``agent_rotation`` ``[x, y, z, w]``; ObjectNav's (THOR's) ``agent`` dict
#: (``position`` and ``rotation`` ``{x, y, z}``, ``cameraHorizon``)
STEP_INFO_KEYS: tuple[str, ...] = ("agent_position", "agent_rotation", "agent")


def keep(infos: Sequence[Mapping[str, Any]], keys: Sequence[str], where: str) -> list[dict[str, Any]]:
    """The ``keys`` of each info that the first info (the reset info) reports, in the canonical form the
    reader gives back (numpy scalars and arrays); ``[]`` when it reports none of them. A key reported at
    reset but missing later is a ``ValueError`` naming the step."""
    kept = [key for key in keys if key in infos[0]] if infos else []
    if not kept:
        return []
    rows = []
    for t, info in enumerate(infos):
        missing = [key for key in kept if key not in info]
        if missing:
            raise ValueError(f"{where}: info {t} lacks {missing}, which the reset info reports")
        rows.append({key: info[key] for key in kept})
    return unstack(stack(rows, where), len(rows))


def stack(rows: Sequence[Mapping[str, Any]], where: str) -> dict[str, Any]:
    """Per-step dicts (the same keys at every step) -> one nested dict of arrays, stacked over steps,
    keys sorted."""
    out: dict[str, Any] = {}
    for key in _sorted_keys(rows[0], where):
        if not key or "/" in key:
            raise ValueError(f"{where}: info key {key!r} must be non-empty and contain no '/'")
        values = [row[key] for row in rows]
        if isinstance(values[0], Mapping):
            for t, value in enumerate(values):
                if not isinstance(value, Mapping) or set(value) != set(values[0]):
                    raise ValueError(f"{where}: info {t} {key!r} does not have the keys of info 0")
            out[key] = stack(values, f"{where}.{key}")
            continue
        arrays = [np.asarray(v) for v in values]
        for t, array in enumerate(arrays):
            if array.dtype.kind not in "biuf":
                raise ValueError(
                    f"{where}: info {t} {key!r} is {array.dtype}; only numbers and booleans are kept"
                )
            if array.shape != arrays[0].shape:
                raise ValueError(
                    f"{where}: info {t} {key!r} has shape {array.shape}, info 0 {arrays[0].shape}"
                )
        out[key] = np.stack(arrays)
    return out


def _sorted_keys(row: Mapping[str, Any], where: str) -> list[str]:
    """Keys in sorted order (HDF5 lists a group's members sorted, so both directions agree)."""
    keys = list(row)
    if not all(isinstance(key, str) for key in keys):
        raise ValueError(f"{where}: info keys {keys!r} must be strings")
    return sorted(keys)


def unstack(tree: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """Inverse of :func:`stack`: ``count`` per-step dicts (leaves as numpy scalars or arrays)."""
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for key in sorted(tree):
        value = tree[key]
        if isinstance(value, Mapping):
            column: Sequence[Any] = unstack(value, count)
        else:
            if len(value) != count:
                raise ValueError(f"step info {key!r}: {len(value)} entries, expected {count}")
            column = [value[t] for t in range(count)]
        for row, item in zip(rows, column, strict=True):
            row[key] = item
    return rows
