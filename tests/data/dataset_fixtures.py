"""Synthetic VIMA-shaped episodes (small images, no simulator) and an exact deep comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from uio_agent.data.episode import Episode

H, W = 8, 16

OBS_SPACE = spaces.Dict(
    {
        "ee": spaces.Discrete(2),
        "rgb": spaces.Dict(
            {"front": spaces.Box(0, 255, (3, H, W), np.uint8), "top": spaces.Box(0, 255, (3, H, W), np.uint8)}
        ),
        "segm": spaces.Dict(
            {"front": spaces.Box(0, 255, (H, W), np.uint8), "top": spaces.Box(0, 255, (H, W), np.uint8)}
        ),
    }
)
ACTION_SPACE = spaces.Dict(
    {
        "pose0_position": spaces.Box(-1.0, 1.0, (2,), np.float32),
        "pose0_rotation": spaces.Box(-1.0, 1.0, (4,), np.float32),
        "pose1_position": spaces.Box(-1.0, 1.0, (2,), np.float32),
        "pose1_rotation": spaces.Box(-1.0, 1.0, (4,), np.float32),
    }
)


def _views(rng: np.random.Generator, views: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    rgb = {v: rng.integers(0, 256, (3, H, W), dtype=np.uint8) for v in views}
    segm = {v: rng.integers(0, 256, (H, W), dtype=np.uint8) for v in views}
    return rgb, segm


def make_episode(seed: int, steps: int = 2, env_name: str = "tabletop/visual_manipulation@L1") -> Episode:
    """An episode with random images, an object and a scene placeholder (the scene lacks ``top``)."""
    rng = np.random.default_rng(seed)
    observations = []
    for _ in range(steps + 1):
        rgb, segm = _views(rng, ("front", "top"))
        observations.append({"ee": np.int64(rng.integers(0, 2)), "rgb": rgb, "segm": segm})
    actions = [
        {k: rng.uniform(-1, 1, space.shape).astype(np.float32) for k, space in ACTION_SPACE.spaces.items()}
        for _ in range(steps)
    ]
    obj_rgb, obj_segm = _views(rng, ("front", "top"))
    scene_rgb, scene_segm = _views(rng, ("front",))
    prompt_assets = {
        "dragged_obj": {
            "rgb": obj_rgb,
            "segm": {**obj_segm, "obj_info": {"obj_id": 0, "obj_name": "letter M", "obj_color": "red"}},
            "placeholder_type": "object",
        },
        "scene": {
            "rgb": scene_rgb,
            "segm": {
                **scene_segm,
                "obj_info": [
                    {"obj_id": 5, "obj_name": "bowl", "obj_color": "blue"},
                    {"obj_id": 6, "obj_name": "block", "obj_color": "green and blue stripe"},
                ],
            },
            "placeholder_type": "scene",
        },
    }
    meta_info = {
        "end_effector_type": "suction",
        "n_objects": 2,
        "seed": seed,
        "views": ["front", "top"],
        "action_bounds": {"low": [0.25, -0.5], "high": [0.75, 0.5]},
        "obj_id_to_info": {5: {"obj_name": "bowl", "obj_symmetry": 3.141592653589793, "alias": None}},
        "pair": (1, "two"),
        "scale": np.float32(0.1),
        "text": "ünïcode ✓" * 3000,  # large: would not fit an HDF5 attribute
    }
    return Episode(
        env_name=env_name,
        seed=seed,
        observations=observations,
        actions=actions,
        prompt="Put the {dragged_obj} into {scene}.",
        prompt_assets=prompt_assets,
        meta_info=meta_info,
        success=seed % 2 == 0,
        failure_reason=None if seed % 2 == 0 else "wrong object",
    )


def assert_same(a: Any, b: Any, path: str = "value") -> None:
    """Equal values of the same types (dict key types and order, tuple vs list, numpy dtypes)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray | np.generic):
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} != {b.dtype}"
        assert np.shape(a) == np.shape(b), f"{path}: shape {np.shape(a)} != {np.shape(b)}"
        assert np.array_equal(a, b), f"{path}: values differ"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def assert_same_episode(a: Episode, b: Episode) -> None:
    for name in (
        "env_name",
        "seed",
        "observations",
        "actions",
        "prompt",
        "prompt_assets",
        "meta_info",
        "success",
        "failure_reason",
        "step_infos",
    ):
        assert_same(getattr(a, name), getattr(b, name), name)
