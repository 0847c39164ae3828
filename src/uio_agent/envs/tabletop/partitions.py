"""VIMA-Bench's evaluation partitions (``vima_bench/tasks/partition_files``): the four levels and ``train``."""

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

COLOR_SET_1_WITH_DARK = [
    "red",
    "green",
    "yellow",
    "dark red",
    "dark green",
    "dark yellow",
    "red and yellow stripe",
    "yellow and green stripe",
    "red and yellow polka dot",
    "red and green polka dot",
    "red and blue polka dot",
    "yellow and blue polka dot",
    "green and blue polka dot",
    "red swirl",
    "green swirl",
    "dark red and yellow stripe",
    "dark yellow and green stripe",
    "dark red and yellow polka dot",
    "dark red and green polka dot",
    "dark red and blue polka dot",
    "dark yellow and blue polka dot",
    "dark green and blue polka dot",
    "dark red swirl",
    "dark green swirl",
]
#: Level 2's dragged textures for novel_adj: colour set 2's entries that have a dark twin, and the twins.
COLOR_SUBSET_2_WITH_DARK = [
    "blue",
    "dark blue",
    "purple",
    "dark purple",
    "cyan",
    "dark cyan",
    "red and blue stripe",
    "dark red and blue stripe",
    "yellow and blue stripe",
    "dark yellow and blue stripe",
    "red and purple stripe",
    "dark red and purple stripe",
    "yellow and purple stripe",
    "dark yellow and purple stripe",
    "green and purple stripe",
    "dark green and purple stripe",
    "blue and purple stripe",
    "dark blue and purple stripe",
    "yellow and purple polka dot",
    "dark yellow and purple polka dot",
    "green and purple polka dot",
    "dark green and purple polka dot",
    "blue and purple polka dot",
    "dark blue and purple polka dot",
    "purple swirl",
    "dark purple swirl",
    "blue swirl",
    "dark blue swirl",
]

ALL_PARTITIONS = [
    "placement_generalization",
    "combinatorial_generalization",
    "novel_object_generalization",
    "novel_task_generalization",
]
#: The level-4 (held-out) tasks: they run with their default kwargs.
HELD_OUT_TASKS = ["sweep_without_touching", "novel_adj_and_noun", "follow_motion", "same_texture"]


def _seen_level(dragged_tex: list[str], base_tex: list[str], adj_tex: list[str]) -> dict[str, dict[str, Any]]:
    """Levels 1 and 2 (the texture sets are swapped in level 2)."""
    no_block = [o for o in DRAGGED if o != "block"]
    shorter = ["shorter block", *no_block]
    both = {"possible_dragged_obj_texture": dragged_tex, "possible_base_obj_texture": base_tex}
    return {
        "sweep_without_exceeding": dict(both),
        "rotate": {"possible_dragged_obj": DRAGGED_ASYMMETRIC, "possible_dragged_obj_texture": dragged_tex},
        "scene_understanding": {"possible_dragged_obj": DRAGGED, "possible_base_obj": BASES, **both},
        "visual_manipulation": {"possible_dragged_obj": DRAGGED, "possible_base_obj": BASES, **both},
        "twist": {"possible_dragged_obj": DRAGGED_ASYMMETRIC, "possible_dragged_obj_texture": dragged_tex},
        "novel_adj": {
            "possible_dragged_obj": no_block,
            "possible_base_obj": BASES,
            "possible_dragged_obj_texture": adj_tex,
            "possible_base_obj_texture": base_tex,
        },
        "novel_noun": {"possible_dragged_obj": DRAGGED, "possible_base_obj": BASES, **both},
        "follow_order": {"possible_dragged_obj": DRAGGED, "possible_dragged_obj_texture": dragged_tex},
        "rearrange": {"possible_dragged_obj": DRAGGED, "possible_dragged_obj_texture": dragged_tex},
        "manipulate_old_neighbor": {"possible_dragged_obj": DRAGGED, "possible_base_obj": BASES, **both},
        "pick_in_order_then_restore": {"possible_dragged_obj": DRAGGED, "possible_base_obj": BASES, **both},
        "rearrange_then_restore": {
            "possible_dragged_obj": DRAGGED,
            "possible_dragged_obj_texture": dragged_tex,
        },
        "same_shape": {"possible_dragged_obj": shorter, "possible_base_obj": BASES, **both},
    }


def _novel_object_level() -> dict[str, dict[str, Any]]:
    return {
        "rotate": {"possible_dragged_obj": ["letter R"]},
        "scene_understanding": {"possible_dragged_obj": NOVEL_DRAGGED, "possible_base_obj": NOVEL_BASES},
        "visual_manipulation": {"possible_dragged_obj": NOVEL_DRAGGED, "possible_base_obj": NOVEL_BASES},
        "twist": {"possible_dragged_obj": ["letter R"]},
        "novel_adj": {"possible_dragged_obj": NOVEL_DRAGGED, "possible_base_obj": NOVEL_BASES},
        "novel_noun": {"possible_dragged_obj": NOVEL_DRAGGED, "possible_base_obj": NOVEL_BASES},
        "follow_order": {"possible_dragged_obj": NOVEL_DRAGGED},
        "rearrange": {"possible_dragged_obj": NOVEL_DRAGGED},
        "manipulate_old_neighbor": {"possible_dragged_obj": NOVEL_DRAGGED, "possible_base_obj": NOVEL_BASES},
        "pick_in_order_then_restore": {
            "possible_dragged_obj": NOVEL_DRAGGED,
            "possible_base_obj": ["pallet"],
        },
        "rearrange_then_restore": {"possible_dragged_obj": NOVEL_DRAGGED},
        "same_shape": {
            "possible_dragged_obj": ["shorter block", *NOVEL_DRAGGED],
            "possible_base_obj": NOVEL_BASES,
        },
    }


_PLACEMENT = _seen_level(COLOR_SET_1, COLOR_SET_2, COLOR_SET_1_WITH_DARK)
_COMBINATORIAL = _seen_level(COLOR_SET_2, COLOR_SET_1, COLOR_SUBSET_2_WITH_DARK)
#: ``"train"`` equals placement_generalization (VIMA's train.yaml).
PARTITION_TO_SPECS: dict[str, Any] = {
    "train": copy.deepcopy(_PLACEMENT),
    "test": {
        "placement_generalization": copy.deepcopy(_PLACEMENT),
        "combinatorial_generalization": _COMBINATORIAL,
        "novel_object_generalization": _novel_object_level(),
        "novel_task_generalization": dict.fromkeys(HELD_OUT_TASKS),
    },
}
