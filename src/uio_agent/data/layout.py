"""How one :class:`Episode` maps onto a Minari episode group, and back.

Per-step data follows Minari's conventions, so plain ``minari`` reads it: ``observations`` (``T + 1``
entries) and ``actions`` (``T``) stacked along the first axis per space leaf, ``rewards`` (1.0 on the last
step of a successful episode, else 0), ``terminations`` (True on the last step), ``truncations`` (False).
Episode-level data is stored once per episode, never repeated per step:

* small scalars as attributes of the episode group (Minari's per-episode metadata): ``seed``,
  ``env_name``, ``prompt``, ``success``, ``failure_reason`` (absent when None), ``sha256``;
* anything that can grow as datasets under ``infos`` (HDF5 attributes stop at 64 KB):
  ``infos/meta_info_json`` (one exact-JSON string) and ``infos/prompt_assets/{count, names, layouts,
  arrays/<path>, masks/<path>}`` (see :mod:`uio_agent.data.prompt_assets`).

Per-step info values (the agent pose of navigation episodes) follow Minari's one-info-per-step
convention under ``infos/steps/<key>/...``: ``T + 1`` entries per leaf (see
:mod:`uio_agent.data.step_infos`); the group is absent when the episode has none (VIMA episodes, and
datasets written before format 2).

``sha256`` covers every array and string of the episode, so a flipped byte inside image data (which
HDF5 itself cannot notice: Minari writes no checksummed filters) is reported instead of trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from uio_agent.data import exact_json, prompt_assets, step_infos
from uio_agent.data.episode import Episode

#: the ``infos`` group of per-step values
STEPS = "steps"


def stack(space: spaces.Space[Any], items: list[Any], where: str) -> Any:
    """Per-step values (one per step) as one array per space leaf, in the space's dtype."""
    if isinstance(space, spaces.Dict):
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or set(item) != set(space.spaces):
                keys = sorted(item) if isinstance(item, Mapping) else type(item).__name__
                raise ValueError(f"{where}[{i}]: keys {keys} do not match the space's {sorted(space.spaces)}")
        return {k: stack(sub, [item[k] for item in items], f"{where}.{k}") for k, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(stack(sub, [item[j] for item in items], f"{where}[{j}]") for j, sub in enumerate(space))
    if isinstance(space, spaces.Text):
        return [str(item) for item in items]
    values = [np.asarray(item) for item in items]
    dtype = np.dtype(space.dtype) if space.dtype is not None else values[0].dtype
    for i, value in enumerate(values):
        if space.shape is not None and value.shape != tuple(space.shape):
            raise ValueError(f"{where}[{i}]: shape {value.shape} does not match the space's {space.shape}")
        if value.dtype != dtype and not np.can_cast(value.dtype, dtype, casting="safe"):
            raise ValueError(
                f"{where}[{i}]: dtype {value.dtype} cannot be stored as the space's {dtype} without loss"
            )
    return np.stack(values).astype(dtype, copy=False)


def unstack(space: spaces.Space[Any], data: Any, count: int) -> list[Any]:
    """Inverse of :func:`stack`: ``count`` per-step values."""
    if isinstance(space, spaces.Dict):
        columns = {k: unstack(sub, data[k], count) for k, sub in space.spaces.items()}
        return [{k: columns[k][t] for k in space.spaces} for t in range(count)]
    if isinstance(space, spaces.Tuple):
        parts = [unstack(sub, data[j], count) for j, sub in enumerate(space)]
        return [tuple(part[t] for part in parts) for t in range(count)]
    if len(data) != count:
        raise ValueError(f"expected {count} entries, found {len(data)}")
    if isinstance(space, spaces.Text):
        return [_text(v) for v in data]
    return [data[t] for t in range(count)]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _nest(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """``{"rgb/front": a}`` -> ``{"rgb": {"front": a}}`` (HDF5 groups)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split("/")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "/"))
        else:
            out[path] = value
    return out


def episode_infos(episode: Episode) -> dict[str, Any]:
    """The ``infos`` tree: meta_info and prompt assets, and the per-step infos under ``steps``."""
    packed = prompt_assets.pack(episode.prompt_assets)
    assets: dict[str, Any] = {"count": np.array([len(packed)], dtype=np.int64)}
    if len(packed):
        assets |= {
            "names": list(packed.names),
            "layouts": list(packed.layouts),
            "arrays": _nest(packed.arrays),
            "masks": _nest(packed.masks),
        }
    infos: dict[str, Any] = {"meta_info_json": [exact_json.dumps(episode.meta_info)], "prompt_assets": assets}
    if episode.step_infos:
        infos[STEPS] = step_infos.stack(episode.step_infos, f"episode {episode.env_name} seed {episode.seed}")
    return infos


def episode_from_infos(infos: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(meta_info, prompt_assets)`` from what :func:`episode_infos` wrote (as h5py reads it back)."""
    meta_info = exact_json.loads(_text(infos["meta_info_json"][0]))
    assets = infos["prompt_assets"]
    count = int(assets["count"][0])
    if count == 0:
        return meta_info, {}
    packed = prompt_assets.PackedPromptAssets(
        names=[_text(n) for n in assets["names"]],
        layouts=[_text(s) for s in assets["layouts"]],
        arrays=_flatten(assets["arrays"]),
        masks={k: np.asarray(v, dtype=bool) for k, v in _flatten(assets["masks"]).items()},
    )
    if len(packed) != count:
        raise ValueError(f"prompt assets: count {count} but {len(packed)} names")
    return meta_info, prompt_assets.unpack(packed)


def step_infos_from(infos: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """The ``count`` per-step infos of what :func:`episode_infos` wrote (``[]`` when it wrote none)."""
    return step_infos.unstack(infos[STEPS], count) if STEPS in infos else []


def step_signals(episode: Episode) -> dict[str, np.ndarray]:
    """Minari's per-step rewards, terminations and truncations, derived from the outcome."""
    steps = episode.num_steps
    rewards = np.zeros(steps, dtype=np.float64)
    terminations = np.zeros(steps, dtype=bool)
    if steps:
        rewards[-1] = 1.0 if episode.success else 0.0
        terminations[-1] = True
    return {"rewards": rewards, "terminations": terminations, "truncations": np.zeros(steps, dtype=bool)}


def episode_attributes(episode: Episode) -> dict[str, Any]:
    """Scalars stored as attributes of the episode group (``seed`` is written by Minari itself)."""
    attributes: dict[str, Any] = {
        "env_name": episode.env_name,
        "prompt": episode.prompt,
        "success": bool(episode.success),
    }
    if episode.failure_reason is not None:
        attributes["failure_reason"] = str(episode.failure_reason)
    return attributes


def checksum(*trees: Any) -> str:
    """sha256 over every leaf (arrays by dtype, shape and bytes; strings as UTF-8), in key order."""
    digest = hashlib.sha256()

    def visit(node: Any) -> None:
        if isinstance(node, Mapping):
            for key in sorted(node):
                digest.update(f"<{key}>".encode())
                visit(node[key])
        elif isinstance(node, tuple):
            for item in node:
                visit(item)
        elif isinstance(node, list | np.ndarray) and (isinstance(node, list) or node.dtype.kind in "OSU"):
            for item in node:
                digest.update(b"s" + _text(item).encode("utf-8") + b"\0")
        elif isinstance(node, np.ndarray | np.generic):
            array = np.ascontiguousarray(node)
            digest.update(f"a{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(f"v{node!r}".encode())

    for tree in trees:
        visit(tree)
    return digest.hexdigest()
