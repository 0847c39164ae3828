"""Prompt assets as fixed-shape arrays with a mask, and back to the nested dict, exactly.

VIMA prompt assets are ``{name: {"placeholder_type": ..., "rgb": {"front": (3, H, W) uint8, ...},
"segm": {"front": (H, W) uint8, ..., "obj_info": dict | list[dict]}}}``. HDF5 attributes stop at
64 KB, so the images cannot live in episode metadata; Minari has no ``Sequence`` space either. Each
placeholder is therefore split into its arrays and a *layout*: the same nested dict with every array
replaced by a marker, written as exact JSON (so ``obj_info`` and key order survive). Arrays found at the
same path (``rgb/front``) are stacked over placeholders into one ``(N, ...)`` array, with an ``(N,)``
boolean mask saying which placeholders have that array (the others hold zeros).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from uio_agent.data import exact_json

_ARRAY_MARKER = "__prompt_asset_array__"


@dataclass
class PackedPromptAssets:
    """``names[i]`` has layout ``layouts[i]``; ``arrays[path][i]`` is valid where ``masks[path][i]``."""

    names: list[str]
    layouts: list[str]
    arrays: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.names)


def _split(value: Any, path: tuple[str, ...], found: dict[str, np.ndarray]) -> Any:
    """``value`` with arrays replaced by markers; the arrays go into ``found`` keyed by path."""
    if isinstance(value, np.ndarray):
        key = "/".join(path)
        found[key] = value
        return {_ARRAY_MARKER: key}
    if isinstance(value, dict) and all(type(k) is str for k in value):
        out = {}
        for k, v in value.items():
            if "/" in k or not k:
                raise ValueError(
                    f"prompt asset key {k!r} at {'/'.join(path) or '<root>'}: keys must be non-empty and contain no '/'"
                )
            out[k] = _split(v, (*path, k), found)
        return out
    return value


def pack(prompt_assets: Mapping[str, Any]) -> PackedPromptAssets:
    """Split ``prompt_assets`` into names, exact-JSON layouts, stacked arrays and masks."""
    names = list(prompt_assets)
    layouts: list[str] = []
    per_placeholder: list[dict[str, np.ndarray]] = []
    for name in names:
        asset = prompt_assets[name]
        if not isinstance(asset, dict):
            raise TypeError(f"prompt asset {name!r}: expected a dict, got {type(asset).__name__}")
        found: dict[str, np.ndarray] = {}
        layouts.append(exact_json.dumps(_split(asset, (), found)))
        per_placeholder.append(found)
    paths = sorted({p for found in per_placeholder for p in found})
    arrays: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for path in paths:
        present = [found[path] for found in per_placeholder if path in found]
        first = present[0]
        for other in present[1:]:
            if other.shape != first.shape or other.dtype != first.dtype:
                raise ValueError(
                    f"prompt assets: arrays at {path!r} differ between placeholders "
                    f"({first.shape} {first.dtype} vs {other.shape} {other.dtype}); they must share shape and dtype"
                )
        stacked = np.zeros((len(names), *first.shape), dtype=first.dtype)
        mask = np.zeros(len(names), dtype=bool)
        for i, found in enumerate(per_placeholder):
            if path in found:
                stacked[i] = found[path]
                mask[i] = True
        arrays[path], masks[path] = stacked, mask
    return PackedPromptAssets(names, layouts, arrays, masks)


def _join(layout: Any, arrays: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], i: int) -> Any:
    if isinstance(layout, dict):
        if set(layout) == {_ARRAY_MARKER}:
            path = layout[_ARRAY_MARKER]
            if path not in arrays or not bool(masks[path][i]):
                raise ValueError(f"prompt assets: layout of placeholder {i} refers to missing array {path!r}")
            return np.array(arrays[path][i])
        return {k: _join(v, arrays, masks, i) for k, v in layout.items()}
    return layout


def unpack(packed: PackedPromptAssets) -> dict[str, Any]:
    """The nested dict :func:`pack` was given."""
    if len(packed.layouts) != len(packed.names):
        raise ValueError(f"prompt assets: {len(packed.names)} names but {len(packed.layouts)} layouts")
    return {
        name: _join(exact_json.loads(layout), packed.arrays, packed.masks, i)
        for i, (name, layout) in enumerate(zip(packed.names, packed.layouts, strict=True))
    }
