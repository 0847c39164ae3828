"""JSON that gives back exactly the Python value it was given.

``meta_info`` and prompt-asset ``obj_info`` hold dicts with integer keys (``obj_id_to_info``), tuples and
numpy scalars; plain JSON would turn the keys into strings and the tuples into lists, so a dataset
read back would differ from what was recorded. Values plain JSON keeps exactly are written as-is
(readable by any JSON reader); the others become small tagged objects.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

_DICT, _TUPLE, _NP_SCALAR, _NP_ARRAY = "__dict_items__", "__tuple__", "__np_scalar__", "__ndarray__"
_TAGS = frozenset({_DICT, _TUPLE, _NP_SCALAR, _NP_ARRAY})


def _encode(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if type(value) in (int, float):
        return value
    if isinstance(value, np.generic):
        return {_NP_SCALAR: value.dtype.str, "value": value.item()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc?":
            raise TypeError(f"{path}: cannot store a numpy array of dtype {value.dtype} as exact JSON")
        return {_NP_ARRAY: value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}
    if isinstance(value, list):
        return [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(type(k) is str for k in value) and not _TAGS & set(value):
            return {k: _encode(v, f"{path}.{k}") for k, v in value.items()}
        return {_DICT: [[_encode(k, f"{path} key"), _encode(v, f"{path}[{k!r}]")] for k, v in value.items()]}
    raise TypeError(
        f"{path}: values of type {type(value).__name__} cannot be stored exactly; "
        "use None, bool, int, float, str, list, tuple, dict or numpy values"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if _DICT in value:
        return {_hashable(_decode(k)): _decode(v) for k, v in value[_DICT]}
    if _TUPLE in value:
        return tuple(_decode(v) for v in value[_TUPLE])
    if _NP_SCALAR in value:
        return np.dtype(value[_NP_SCALAR]).type(value["value"])
    if _NP_ARRAY in value:
        return np.asarray(value["data"], dtype=np.dtype(value[_NP_ARRAY])).reshape(value["shape"])
    return {k: _decode(v) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    """Tuple keys come back as tuples (hashable); anything else unhashable is a corrupt document."""
    if isinstance(key, list):
        raise ValueError(f"exact JSON: dict key {key!r} is not hashable")
    return key


def dumps(value: Any) -> str:
    """Serialise ``value`` so that :func:`loads` returns an equal value of the same types."""
    return json.dumps(_encode(value, "value"), ensure_ascii=False, allow_nan=True)


def loads(text: str) -> Any:
    """Inverse of :func:`dumps`."""
    return _decode(json.loads(text))
