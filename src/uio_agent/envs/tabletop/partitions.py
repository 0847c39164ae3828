"""VIMA-Bench's evaluation partitions (``vima_bench/tasks/partition_files``) for the tasks re-created."""

from __future__ import annotations

import copy
from typing import Any

COLOR_SET_1 = [
    "red",
    "green",
    "yellow",
    "granite",
    "polka dot",
    "tiger",
    "rainbow",
    "red and yellow stripe",
    "yellow and green stripe",
    "red and yellow polka dot",
    "red and green polka dot",
    "red and blue polka dot",
    "yellow and blue polka dot",
    "green and blue polka dot",
    "red swirl",
    "green swirl",
    "red paisley",
    "yellow paisley",
    "green paisley",
]
COLOR_SET_2 = [
    "blue",
    "purple",
    "cyan",
    "olive",
    "tiles",
    "wooden",
    "plastic",
    "checkerboard",
    "red and blue stripe",
    "yellow and blue stripe",
    "red and purple stripe",
    "yellow and purple stripe",
    "green and purple stripe",
    "blue and purple stripe",
    "yellow and purple polka dot",
    "green and purple polka dot",
    "blue and purple polka dot",
    "purple swirl",
    "blue swirl",
    "blue paisley",
]
DRAGGED = [
    "letter A",
    "letter E",
    "letter G",
    "letter M",
    "letter T",
    "letter V",
    "block",
    "cross",
    "triangle",
    "flower",
    "heart",
    "ring",
    "pentagon",
    "L-shaped block",
]
DRAGGED_ASYMMETRIC = [
    "letter A",
    "letter E",
    "letter G",
    "letter M",
    "letter T",
    "letter V",
    "heart",
    "L-shaped block",
]
BASES = ["bowl", "frame", "container", "square"]
NOVEL_DRAGGED = ["letter R", "diamond", "hexagon", "round", "star"]
NOVEL_BASES = ["pallet", "pan"]

ALL_PARTITIONS = [
    "placement_generalization",
    "combinatorial_generalization",
    "novel_object_generalization",
    "novel_task_generalization",
]


def _level(
    dragged_tex: list[str] | None, base_tex: list[str] | None, novel: bool
) -> dict[str, dict[str, Any]]:
    def textures(**kw: list[str] | None) -> dict[str, list[str]]:
        return {k: v for k, v in kw.items() if v is not None}

    return {
        "rotate": {
            "possible_dragged_obj": ["letter R"] if novel else DRAGGED_ASYMMETRIC,
            **textures(possible_dragged_obj_texture=dragged_tex),
        },
        "visual_manipulation": {
            "possible_dragged_obj": NOVEL_DRAGGED if novel else DRAGGED,
            "possible_base_obj": NOVEL_BASES if novel else BASES,
            **textures(possible_dragged_obj_texture=dragged_tex, possible_base_obj_texture=base_tex),
        },
    }


_PLACEMENT = _level(COLOR_SET_1, COLOR_SET_2, novel=False)
#: ``"train"`` equals placement_generalization; level 4 holds only held-out tasks (none re-created yet).
PARTITION_TO_SPECS: dict[str, Any] = {
    "train": copy.deepcopy(_PLACEMENT),
    "test": {
        "placement_generalization": copy.deepcopy(_PLACEMENT),
        "combinatorial_generalization": _level(COLOR_SET_2, COLOR_SET_1, novel=False),
        "novel_object_generalization": _level(None, None, novel=True),
        "novel_task_generalization": {},
    },
}
