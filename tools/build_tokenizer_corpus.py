"""Build the frozen corpus the project's SentencePiece base is trained on.

The project cannot ship the LLaMA tokenizer, so it trains a small byte-fallback BPE model on the text
its tasks actually use. This script holds those words as tables (values from
``shared/reference/vima-bench.md``, ``navigation.md`` and ``uio2-architecture.md`` §9, i.e. the VIMA-Bench
templates and catalogues and the UIO-2 embodied prompt lists) and expands them deterministically into
one sentence per line. Special pieces (``<extra_id_N>``, ``<image_history_k>``, prefixes) never appear
in the corpus: the tokenizer matches them before SentencePiece sees the text, so the lines hold the
text *around* them (e.g. ``1: pick from ( ) and place to ( )``).

The output is committed as package data; regenerate it only deliberately, then retrain with
``tools/train_tokenizer.py`` (checkpoints pin the tokenizer by sha256).

    python tools/build_tokenizer_corpus.py [--out src/uio_agent/model/assets/tokenizer_corpus.txt]
"""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path

from uio_agent.codecs.prompts import (
    EMBODIED_GOAL_PROMPTS,
    EMBODIED_HISTORY_PROMPTS,
    EMBODIED_TASK_CAPTIONS,
    MANIPULATION_HEADERS,
    NEXT_ACTION_PHRASES,
    POINTNAV_DESC,
    POINTNAV_QA,
    VIMA_ACTION_DESC,
    VIMA_BBOX_PHRASES,
    VIMA_PROMPT_VERBS,
    VIMA_PROMPTS_SHORT,
    VIMA_TASK_ONLY_PROMPTS,
)

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/uio_agent/model/assets/tokenizer_corpus.txt"

# --- VIMA-Bench (vima-bench.md §3, §6, §9, §12) -------------------------------------------------------
VIMA_TEMPLATES = [
    "Put the {dragged_obj_1} into the {base_obj}.",
    "Put the <texture> object in {scene} into the <texture> object.",
    "Rotate the {dragged_obj} <angle> degrees.",
    "Rearrange to this {scene}.",
    "Rearrange objects to this setup {scene} and then restore.",
    "{demo_blicker_obj_1} is <adj> than {demo_less_blicker_obj_1}. {demo_blicker_obj_2} is <adj> than "
    "{demo_less_blicker_obj_2}. {demo_blicker_obj_3} is <adj> than {demo_less_blicker_obj_3}. "
    "Put the <adj> {dragged_obj} into the {base_obj}.",
    "This is a <noun> {dragged_obj_1}. This is a <noun2> {base_obj}. Put a <noun> into a <noun2>.",
    '"Twist" is defined as rotating object a specific angle. For examples: From {before_twist_1} to '
    "{after_twist_1}. From {before_twist_2} to {after_twist_2}. From {before_twist_3} to {after_twist_3}. "
    "Now twist all <texture> objects.",
    "Stack objects in this order {frame_0} {frame_1} {frame_2}.",
    "Sweep <quantity> {swept_obj} into {bounds} without exceeding {constraint}.",
    "Put all objects with the same profile as {base_obj} into it.",
    "First put {dragged_obj} into {base_obj} then put the object that was previously at its <direction> "
    "into the same {base_obj}.",
    "Put {dragged_obj} into {base_obj_1} then {base_obj_2}. Finally restore it into its original container.",
    "Sweep <quantity> {swept_obj} into {bounds} without touching {constraint}.",
    "This is a <noun> {dragged_obj_1}. This is a <noun2> {base_obj}. {demo_blicker_obj_1} is <adj> than "
    "{demo_less_blicker_obj_1}. Put the <adj> <noun> into the <noun2>.",
    "Follow this motion for {dragged_obj}: {frame_0} {frame_1} {frame_2}.",
    "Put all objects with the same texture as {base_obj} into it.",
]
VIMA_TASKS = [
    "visual_manipulation", "scene_understanding", "rotate", "rearrange", "rearrange_then_restore",
    "novel_adj", "novel_noun", "novel_adj_and_noun", "twist", "follow_motion", "follow_order",
    "sweep_without_exceeding", "sweep_without_touching", "same_texture", "same_shape",
    "manipulate_old_neighbor", "pick_in_order_then_restore",
]  # fmt: skip
VIMA_LEVELS = [
    "placement_generalization", "combinatorial_generalization", "novel_object_generalization",
    "novel_task_generalization",
]  # fmt: skip
VIMA_DRAGGED = [
    "letter A", "letter E", "letter G", "letter M", "letter T", "letter V", "letter R", "block",
    "shorter block", "small block", "cross", "diamond", "triangle", "flower", "heart", "hexagon",
    "pentagon", "L-shaped block", "ring", "round", "star",
]  # fmt: skip
VIMA_BASES = ["bowl", "container", "frame", "square", "pallet", "pan", "three-sided rectangle", "line"]
VIMA_PLAIN_COLOURS = ["blue", "red", "green", "orange", "yellow", "purple", "pink", "cyan", "olive"]
VIMA_IMAGE_TEXTURES = [
    "brick", "tiles", "wooden", "granite", "plastic", "polka dot", "checkerboard", "tiger", "magma", "rainbow",
]  # fmt: skip
VIMA_PATTERN_COLOURS = ["red", "yellow", "green", "blue", "purple"]
VIMA_NOVEL_NOUNS = ["dax", "blicket", "wug", "zup"]
VIMA_NOVEL_ADJECTIVES = ["daxer", "blicker", "modier", "kobar"]
VIMA_DIRECTIONS = ["north", "south", "east", "west"]
VIMA_QUANTITIES = ["one", "two", "three", "any", "all"]
VIMA_PROFILES = ["square-like", "circle-like"]


def vima_textures() -> list[str]:
    """The 82 texture names of vima-bench.md §9.2."""
    plain = VIMA_PLAIN_COLOURS + [f"dark {c}" for c in VIMA_PLAIN_COLOURS if c != "olive"]
    pairs = list(itertools.combinations(VIMA_PATTERN_COLOURS, 2))
    stripes = [f"{d}{a} and {b} stripe" for d in ("", "dark ") for a, b in pairs]
    dots = [f"{d}{a} and {b} polka dot" for d in ("", "dark ") for a, b in pairs]
    swirls = [f"{d}{c} swirl" for d in ("", "dark ") for c in VIMA_PATTERN_COLOURS]
    paisleys = [f"{c} paisley" for c in VIMA_PATTERN_COLOURS]
    names = plain + VIMA_IMAGE_TEXTURES + stripes + dots + swirls + paisleys
    assert len(names) == 82, len(names)
    return names


# --- navigation (navigation.md §1.5, §2.3, §2.4, §2.5) -------------------------------------------------
HABITAT_ACTIONS = ["stop", "move_forward", "turn_left", "turn_right", "look_up", "look_down"]
NAV_ACTION_TEXT = [
    "stop",
    "move forward",
    "move ahead",
    "turn left",
    "turn right",
    "look up",
    "look down",
    "end",
]
THOR_ACTIONS = [
    "MoveAhead", "MoveBack", "MoveLeft", "MoveRight", "RotateLeft", "RotateRight", "LookUp", "LookDown",
    "End", "Stop", "Done",
]  # fmt: skip
OBJECTNAV_TARGETS = [
    "AlarmClock", "Apple", "BaseballBat", "BasketBall", "Bed", "Bowl", "Chair", "GarbageCan", "HousePlant",
    "Laptop", "Mug", "Sofa", "SprayBottle", "Television", "Toilet", "Vase", "CounterTop", "DiningTable",
    "Dresser", "Sink", "Stool",
]  # fmt: skip
ROOM_TYPES = ["Kitchen", "LivingRoom", "Bedroom", "Bathroom"]
NAV_GOAL_PHRASES = [
    "The goal is {d} meters away and {a} degrees to the {side}. ",
    "Navigate to the goal point {d} m ahead at an angle of {a} degrees. ",
    "Find the {target} in the house. ",
    "Go to the {target}. ",
    "Search for a {target} in the {room}. ",
]


def _split_camel(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _fill_vima(template: str, i: int, textures: list[str]) -> tuple[str, str]:
    """Two readings of one template: placeholders as object phrases, and placeholders removed."""
    tex = textures[(7 * i) % len(textures)]
    words = {
        "<texture>": tex,
        "<angle>": str(30 * (1 + i % 11)),
        "<adj>": VIMA_NOVEL_ADJECTIVES[i % 4],
        "<noun>": VIMA_NOVEL_NOUNS[i % 4],
        "<noun2>": VIMA_NOVEL_NOUNS[(i + 1) % 4],
        "<direction>": VIMA_DIRECTIONS[i % 4],
        "<quantity>": VIMA_QUANTITIES[i % 5],
    }
    for key, value in words.items():
        template = template.replace(key, value)
    counter = itertools.count(i)

    def obj(_: re.Match[str]) -> str:
        k = next(counter)
        return f"{textures[(5 * k + 3) % len(textures)]} {(VIMA_DRAGGED + VIMA_BASES)[k % 29]}"

    placeholder = re.compile(r"\{[a-z_0-9]+\}")
    with_objects = placeholder.sub(obj, template)
    without = re.sub(r" {2,}", " ", placeholder.sub("", template)).strip()
    return with_objects, without


def build_corpus() -> list[str]:
    """All corpus lines, in a fixed order, without duplicates."""
    textures = vima_textures()
    lines: list[str] = []

    # VIMA-Bench prompts, filled and bare; catalogue words in short phrases.
    for rep in range(6):
        for t, template in enumerate(VIMA_TEMPLATES):
            lines.extend(_fill_vima(template, 17 * rep + t, textures))
    for name in textures:
        lines.append(f"the {name} object")
    for obj in VIMA_DRAGGED + VIMA_BASES:
        lines.append(f"Put the {obj} into the {VIMA_BASES[len(obj) % 4]}.")
    lines.append(" ".join(VIMA_NOVEL_NOUNS + VIMA_NOVEL_ADJECTIVES + VIMA_DIRECTIONS + VIMA_PROFILES))
    lines.append(" ".join(VIMA_TASKS + VIMA_LEVELS))
    lines.append("suction spatula front top rgb segm end effector pose0 pose1 position rotation")

    # UIO-2 VIMA prompts, with and without an object-box phrase.
    for verb, prep in VIMA_PROMPT_VERBS:
        lines.append(f"{verb} {VIMA_ACTION_DESC} {prep} the agent's initial observation")
    lines += VIMA_PROMPTS_SHORT + VIMA_TASK_ONLY_PROMPTS
    lines += [f"Given {p}" for p in VIMA_BBOX_PHRASES]

    # VIMA action plans (the location tokens themselves are special pieces, so only the frame remains).
    for n_steps in range(1, 9):
        for verb in ("pick from ( ) and place to ( )", "push from ( ) and push to ( )"):
            lines.append(" ".join(f"{k}: {verb}" for k in range(1, n_steps + 1)))

    # Navigation: the PointNav prompt with several observation and action-space fillers.
    action_spaces = [", ".join(NAV_ACTION_TEXT[:5]), ", ".join(HABITAT_ACTIONS), ", ".join(THOR_ACTIONS[4:9])]
    for i, phrase in enumerate(NEXT_ACTION_PHRASES):
        goal = NAV_GOAL_PHRASES[i % len(NAV_GOAL_PHRASES)].format(
            d=f"{1 + (i * 37) % 90 / 10:.1f}",
            a=(i * 23) % 180,
            side=("left", "right")[i % 2],
            target=_split_camel(OBJECTNAV_TARGETS[i % len(OBJECTNAV_TARGETS)]).lower(),
            room=_split_camel(ROOM_TYPES[i % 4]).lower(),
        )
        desc = POINTNAV_DESC.format(OBS=goal if i % 3 else "", ACTIONS=action_spaces[i % 3])
        lines.append(f"{phrase} {desc}")
        lines.append(phrase)
    for i in range(8):
        history = " ".join(f"( ) {NAV_ACTION_TEXT[(i + k) % 5]}" for k in range(i + 1))
        lines.append(EMBODIED_HISTORY_PROMPTS[i % 2].format(history))
    for q in POINTNAV_QA:
        lines += [q.format(a) for a in NAV_ACTION_TEXT]
    lines.append(" ".join(HABITAT_ACTIONS + THOR_ACTIONS))
    lines.append(" ".join(OBJECTNAV_TARGETS + ROOM_TYPES))
    lines.append(" ".join(_split_camel(n) for n in OBJECTNAV_TARGETS + ROOM_TYPES))
    lines.append("distance to goal, success, spl, soft spl, collisions, geodesic distance, episode length")

    # Other embodied prompt lists.
    tasks = [_fill_vima(VIMA_TEMPLATES[i], i, textures)[0] for i in range(len(VIMA_TEMPLATES))]
    for i, p in enumerate(EMBODIED_GOAL_PROMPTS):
        lines.append(p.format(tasks[i % len(tasks)]))
    lines += EMBODIED_TASK_CAPTIONS
    spaces = ["x y z roll pitch yaw gripper", "pick and place", "position and rotation"]
    for h, (header, lower) in enumerate(MANIPULATION_HEADERS):
        for i, phrase in enumerate(NEXT_ACTION_PHRASES):
            filled = header.format(ACTION=spaces[(h + i) % 3], PROMPT=tasks[(h + i) % len(tasks)].rstrip("."))
            lines.append(f"{filled} {phrase.lower() if lower else phrase}.".replace("\n", " "))

    # Numbers, digits and punctuation used in plans, prompts and metrics.
    lines.append(" ".join(str(n) for n in range(0, 101)))
    lines.append(" ".join(f"{n / 100:.2f}" for n in range(0, 101, 5)))
    lines.append(" ".join(f"{d} degrees" for d in range(0, 361, 15)))
    lines.append("0 1 2 3 4 5 6 7 8 9 . , : ; ( ) [ ] { } \" ' ? ! - _ / % + = # * < > & @")
    lines.append("step 1: step 2: step 3: step 4: step 5: step 6: step 7: step 8:")
    lines.append("x y z r a1 b1 r1 a2 b2 r2 y1 x1 y2 x2 yes no true false")

    leftover = re.compile(r"<[a-z_0-9]+>|\{[A-Za-z_0-9]*\}")
    seen: set[str] = set()
    unique = []
    for line in lines:
        line = line.strip()
        if leftover.search(line):
            raise AssertionError(f"unfilled placeholder or special piece in corpus line: {line!r}")
        if line and line not in seen:
            seen.add(line)
            unique.append(line)
    return unique


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus file to write")
    args = parser.parse_args()
    lines = build_corpus()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {len(lines)} lines to {args.out}")


if __name__ == "__main__":
    main()
