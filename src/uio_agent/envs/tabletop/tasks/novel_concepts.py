"""VIMA's novel-concept tasks: ``novel_noun``, ``novel_adj``, ``novel_adj_and_noun`` and ``twist``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from uio_agent.envs.tabletop.catalog import (
    ASYMMETRIC_OBJECTS,
    DEFAULT_BASE_TEXTURES,
    LIGHT_TEXTURES,
    ObjectSpec,
    TextureSpec,
)
from uio_agent.envs.tabletop.scene import BOUNDS, PoolKey, size_variants
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Placeholder,
    SamplingError,
    Task,
    resolve_objects,
    resolve_textures,
)
from uio_agent.envs.tabletop.tasks.common import (
    ALL_BASES,
    ALL_DRAGGED,
    LIGHT_DARK_TEXTURES,
    AllGoalsTask,
    any_in_hollow,
    darker,
    is_hollow,
    lighter,
)
from uio_agent.envs.tabletop.tasks.visual_manipulation import VisualManipulation

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

NOVEL_NAMES = ("dax", "blicket", "wug", "zup")
NOVEL_ADJECTIVES = ("daxer", "blicker", "modier", "kobar")
ADJECTIVE_TYPES = ("shorter/taller", "lighter color/darker color")
#: The compiled heights of novel_adj's short and tall objects (VIMA draws 0.3-0.4 and that + 2.0).
SHORT_SCALE, TALL_SCALE = 0.35, 2.35


class NovelNoun(VisualManipulation):
    """ "This is a dax {dragged_obj_1}. This is a zup {base_obj}. Put a dax into a zup." (neutral-grey
    definition images; distractors never share a shape with the dragged or base objects)."""

    task_name = "novel_noun"
    group = "novel_concept_grounding"

    def __init__(self, novel_names: str | Sequence[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("use_neutral_color", True)
        kwargs.setdefault("exclude_distractor_by_geometry", True)
        super().__init__(**kwargs)
        names = (
            NOVEL_NAMES
            if novel_names is None
            else ([novel_names] if isinstance(novel_names, str) else novel_names)
        )
        self.novel_names = list(names)
        if self.num_dragged + 1 > len(self.novel_names):
            raise ValueError(f"novel_noun needs {self.num_dragged + 1} novel names, got {self.novel_names}")

    def _compose(self) -> str:
        names = self.choices(self.novel_names, self.num_dragged + 1, replace=False)
        dragged_names, base_name = names[:-1], names[-1]
        descs = [f"This is a {n} {{dragged_obj_{i + 1}}}." for i, n in enumerate(dragged_names)]
        descs.append(f"This is a {base_name} {{base_obj}}.")
        self.rng.shuffle(descs)
        certain = " and ".join(f"a {n}" for n in dragged_names)
        return " ".join([*descs, f"Put {certain} into a {base_name}."])

    def reset(self, env: TabletopEnv) -> None:
        # VIMA composes the prompt before sampling the objects, after them, and once more (its
        # SimpleManipulation.reset calls the override twice, NovelNoun.reset once): the last counts
        self._compose()
        super().reset(env)
        self._compose()
        self.prompt_template = self._compose()


class NovelAdj(Task):
    """Three demonstrations of a made-up comparative (shorter/taller or lighter/darker colour), then
    "Put the <adj> {dragged_obj} into the {base_obj}." (optionally "less <adj>")."""

    task_name = "novel_adj"
    group = "novel_concept_grounding"

    def __init__(
        self,
        n_supports: int = 3,
        novel_adjectives: str | Sequence[str] | None = None,
        adjective_types: str | Sequence[str] | None = None,
        num_geometric_distractors: int = 0,
        oracle_max_steps: int = 3,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_base_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if n_supports < 1 or num_geometric_distractors < 0:
            raise ValueError("novel_adj needs >= 1 demonstration and >= 0 geometric distractors")
        super().__init__(oracle_max_steps, seed)
        self.n_supports = n_supports
        self.num_geometric = num_geometric_distractors
        adjs = NOVEL_ADJECTIVES if novel_adjectives is None else novel_adjectives
        self.adjectives = [adjs] if isinstance(adjs, str) else list(adjs)
        types = ADJECTIVE_TYPES if adjective_types is None else adjective_types
        self.adjective_types = [types] if isinstance(types, str) else list(types)
        for t in self.adjective_types:
            if set(t.split("/")) - {
                "shorter",
                "taller",
                "lighter color",
                "darker color",
                "smaller",
                "larger",
            }:
                raise ValueError(f"unknown adjective type {t!r}")
        self.possible_dragged = resolve_objects(
            possible_dragged_obj, [n for n in ALL_DRAGGED if n != "block"]
        )
        if len(self.possible_dragged) < 2:
            raise ValueError("novel_adj samples two different dragged objects")
        self.possible_base = resolve_objects(possible_base_obj, ALL_BASES)
        self.possible_dragged_texture = resolve_textures(possible_dragged_obj_texture, LIGHT_DARK_TEXTURES)
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        if any("color" in t for t in self.adjective_types):
            lonely = [t.name for t in self.possible_dragged_texture if t.name not in LIGHT_DARK_TEXTURES]
            if lonely:
                raise ValueError(
                    f"colour adjectives need textures with a dark twin; these have none: {lonely}"
                )
        template = "".join(
            f"{{demo_blicker_obj_{i + 1}}} is {{novel_adj}} than {{demo_less_blicker_obj_{i + 1}}}. "
            for i in range(n_supports)
        )
        self.prompt_template = template + "Put the {adv}{novel_adj} {dragged_obj} into the {base_obj}."
        self._template = self.prompt_template

    def pool(self) -> dict[PoolKey, int]:
        counts: dict[PoolKey, int] = {}
        for spec in self.possible_dragged:
            counts[spec.name] = 3 + self.num_geometric
            mid = np.asarray(size_variants(spec.name)[len(size_variants(spec.name)) // 2])
            for scale in (SHORT_SCALE, TALL_SCALE):
                counts[(spec.name, tuple(mid * (1, 1, scale)))] = 2
        for spec in self.possible_base:
            counts[spec.name] = counts.get(spec.name, 0) + 1 + self.num_geometric
        return counts

    @staticmethod
    def _scaled(size: np.ndarray, scalar: tuple[float, float, float]) -> np.ndarray:
        return np.asarray(size) * np.asarray(scalar)

    def _reset_adjective(self) -> bool:
        self.text_slots["novel_adj"] = str(self.choice(self.adjectives))
        flip = bool(self.rng.choice([True, False]))
        self.text_slots["adv"] = "less " if flip else ""
        return flip

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        self.prompt_template = self._template
        rng, world = self.rng, env.world
        flip = self._reset_adjective()
        types = list(self.adjective_types)
        rng.shuffle(types)
        definition = str(self.choice(types[0].split("/")))
        rng.uniform(0.55, 0.6)  # VIMA draws the smaller/larger ratio in every episode
        short = float(rng.uniform(0.3, 0.4))
        one = (1.0, 1.0, 1.0)
        blicker, less = one, one
        if definition in ("shorter", "taller"):
            blicker, less = (1.0, 1.0, short), (1.0, 1.0, short + 2.0)
            if definition == "taller":
                blicker, less = less, blicker
        dragged_scalar, confusion_scalar = (less, blicker) if flip else (blicker, less)
        base_tex = self.choice(self.possible_base_texture)
        sample_tex = self.choice(self.possible_dragged_texture)
        dragged_tex, confusion_tex = self._colour_pair(definition, sample_tex)
        if flip:
            dragged_tex, confusion_tex = confusion_tex, dragged_tex
        for i in range(self.n_supports):
            demo_tex = self.choice(self.possible_dragged_texture)
            b_tex, l_tex = self._colour_pair(definition, demo_tex)
            spec = self.choice(self.possible_dragged)
            size = self.sample_size(spec)
            for name, tex, scalar in (
                ("demo_blicker_obj", b_tex, blicker),
                ("demo_less_blicker_obj", l_tex, less),
            ):
                asset = self.temp_object_asset(env, spec, tex, self._scaled(size, scalar))
                self.placeholders[f"{name}_{i + 1}"] = Placeholder(-1, spec.name, tex, asset=asset)
        base_spec = self.choice(self.possible_base)
        base_size = self.sample_size(base_spec)
        pose = world.random_pose(base_size, rng)
        if pose is None:
            raise SamplingError("Error in sampling base object")
        base_id = world.add_object(base_spec, base_tex, base_size, *pose)
        base_xy = pose[0]
        self.placeholders["base_obj"] = Placeholder(base_id, base_spec.name, base_tex, neutral=True)
        spec, _distractor_spec = self.choices(self.possible_dragged, 2, replace=False)
        hollow = [(base_xy, base_size)] if is_hollow(base_spec) else []
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            size = self.sample_size(spec)
            scaled = self._scaled(size, dragged_scalar)
            pose = world.random_pose(scaled, rng)
            if pose is None or (hollow and any_in_hollow([(pose[0], scaled)], hollow)):
                continue
            dragged_id = world.add_object(spec, dragged_tex, scaled, *pose)
            asset = self.temp_object_asset(env, spec, dragged_tex, size, neutral=True)
            self.placeholders["dragged_obj"] = Placeholder(
                -1, spec.name, dragged_tex, neutral=True, asset=asset
            )
            base_pos, base_yaw = world.pose(base_id)
            self.goals.append(Goal([(dragged_id, 0.0)], [(base_pos, base_yaw)], rotations=True))
            self._all_goals = list(self.goals)
            break
        else:
            raise SamplingError("Error in sampling dragged object")
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            scaled = self._scaled(size, confusion_scalar)
            pose = world.random_pose(scaled, rng)
            if pose is None or (hollow and any_in_hollow([(pose[0], scaled)], hollow)):
                continue
            self.distractors.append((world.add_object(spec, confusion_tex, scaled, *pose), 0.0))
            break
        else:
            raise SamplingError("Error in sampling the first confusion object")
        if self.num_geometric:
            self._geometric_distractors(env, base_spec, spec)
        self._order_placeholders()

    def _order_placeholders(self) -> None:
        """Prompt assets in VIMA's order (demonstrations, then the base and dragged objects)."""
        names = [
            f"{k}_{i + 1}"
            for i in range(self.n_supports)
            for k in ("demo_blicker_obj", "demo_less_blicker_obj")
        ]
        names += ["base_obj", "dragged_obj"]
        self.placeholders = {n: self.placeholders[n] for n in names}

    def _colour_pair(self, definition: str, tex: TextureSpec) -> tuple[TextureSpec, TextureSpec]:
        if definition == "lighter color":
            return lighter(tex), darker(tex)
        if definition == "darker color":
            return darker(tex), lighter(tex)
        return tex, tex

    def _geometric_distractors(
        self, env: TabletopEnv, base_spec: ObjectSpec, dragged_spec: ObjectSpec
    ) -> None:
        rng, world = self.rng, env.world
        candidates = [
            o
            for o in self.possible_dragged + self.possible_base
            if o.name not in (base_spec.name, dragged_spec.name)
        ]
        textures = self.possible_dragged_texture + self.possible_base_texture
        added = 0
        for _ in range(self.num_geometric + self.REJECT_SAMPLING_MAX_TIMES):
            spec = self.choice(candidates)
            tex = self.choice(textures)
            size = self.sample_size(spec)
            pose = world.random_pose(size, rng)
            if pose is None:
                continue
            self.distractors.append((world.add_object(spec, tex, size, *pose), 0.0))
            added += 1
            if added == self.num_geometric:
                return
        raise SamplingError("Error in sampling distractors")


class NovelAdjAndNoun(NovelAdj):
    """Novel-noun definitions plus novel-adjective demonstrations: "Put the <adj> <noun> into the <noun>."."""

    task_name = "novel_adj_and_noun"
    group = "novel_concept_grounding"

    def __init__(
        self,
        novel_names: str | Sequence[str] | None = None,
        num_geometric_distractors: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_geometric_distractors=num_geometric_distractors, **kwargs)
        names = (
            NOVEL_NAMES
            if novel_names is None
            else ([novel_names] if isinstance(novel_names, str) else novel_names)
        )
        self.novel_names = list(names)
        if len(self.novel_names) < 2:
            raise ValueError("novel_adj_and_noun needs two novel names")

    def _reset_adjective(self) -> bool:
        flip = super()._reset_adjective()
        noun_dragged, noun_base = self.choices(self.novel_names, 2, replace=False)
        descs = [f"This is a {noun_dragged} {{dragged_obj}}.", f"This is a {noun_base} {{base_obj}}."]
        order = self.rng.permutation(2)
        template = self._template.replace("{dragged_obj}", noun_dragged).replace("{base_obj}", noun_base)
        self._pending_template = " ".join([*(descs[int(k)] for k in order), template])
        return flip

    def reset(self, env: TabletopEnv) -> None:
        super().reset(env)
        self.prompt_template = self._pending_template


class Twist(AllGoalsTask):
    """ "Twist" demonstrated by three before/after scenes of another object; "Now twist all <texture>
    objects." 1-2 objects of that texture must turn clockwise by the demonstrated angle (30°..330°)."""

    task_name = "twist"
    group = "novel_concept_grounding"

    def __init__(
        self,
        num_total_objs: int = 3,
        n_supports: int = 3,
        oracle_max_steps: int = 5,
        possible_angles_of_rotation: float | Sequence[float] | None = None,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_total_objs < 2 or n_supports < 1:
            raise ValueError("twist needs >= 2 objects and >= 1 demonstration")
        super().__init__(oracle_max_steps, seed)
        self.pos_eps = 0.05
        if possible_angles_of_rotation is None:
            self.angles = [math.pi / 6 * i for i in range(1, 12)]
        elif isinstance(possible_angles_of_rotation, int | float):
            self.angles = [float(possible_angles_of_rotation)]
        else:
            self.angles = [float(a) for a in possible_angles_of_rotation]
        if not all(self.rot_eps < abs(a) for a in self.angles):
            raise ValueError(f"angle(s) of rotation {self.angles} are within the 15° tolerance")
        self.num_total = num_total_objs
        self.n_supports = n_supports
        self.possible_dragged = resolve_objects(possible_dragged_obj, ASYMMETRIC_OBJECTS)
        self.possible_texture = resolve_textures(possible_dragged_obj_texture, LIGHT_TEXTURES)
        if len(self.possible_texture) < 2:
            raise ValueError("twist needs two textures at least (examples and distractors differ)")
        template = '"Twist" is defined as rotating object a specific angle. For examples:'
        for i in range(n_supports):
            template += f" From {{before_twist_{i + 1}}} to {{after_twist_{i + 1}}}."
        self.prompt_template = template + " Now twist all {twist_obj_texture} objects."

    def pool(self) -> dict[PoolKey, int]:
        return {spec.name: self.num_total + 1 for spec in self.possible_dragged}

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        num_dragged = int(rng.integers(1, self.num_total))
        num_distractors = self.num_total - num_dragged
        angle = float(self.choice(self.angles))
        texture = self.choice(self.possible_texture)
        self.text_slots["twist_obj_texture"] = texture.name
        archive: list[tuple[ObjectSpec, TextureSpec]] = []
        dragged: list[int] = []
        for _ in range(num_dragged + self.REJECT_SAMPLING_MAX_TIMES):
            for _ in range(num_dragged):
                spec = self.choice(self.possible_dragged)
                size = self.sample_size(spec)
                pose = world.random_pose(size, rng)
                if pose is None:
                    break
                obj_id = world.add_object(spec, texture, size, *pose)
                dragged.append(obj_id)
                archive.append((spec, texture))
                pos, yaw = world.pose(obj_id)
                symmetry = spec.symmetry if spec.symmetry is not None else 0.0
                self.goals.append(Goal([(obj_id, symmetry)], [(pos, yaw - angle)], rotations=True))
            if len(dragged) >= num_dragged:
                break
        else:
            raise SamplingError("Error in adding object to env.")
        self._all_goals = list(self.goals)
        added = 0
        for _ in range(num_distractors + self.REJECT_SAMPLING_MAX_TIMES):
            spec = self.choice(self.possible_dragged)
            tex = self.choice(self.possible_texture)
            while tex.name == texture.name:
                tex = self.choice(self.possible_texture)
            if (spec, tex) in archive:
                continue
            size = self.sample_size(spec)
            pose = world.random_pose(size, rng)
            if pose is not None:
                self.distractors.append((world.add_object(spec, tex, size, *pose), 0.0))
                added += 1
            if added == num_distractors:
                break
        else:
            raise SamplingError("Error in adding object to env.")
        center = BOUNDS[:2].mean(axis=1)
        half = (BOUNDS[:2, 1] - BOUNDS[:2, 0]) * np.array([0.25, 0.75]) / 2
        for i in range(self.n_supports):
            spec = archive[int(rng.choice(len(archive)))][0]
            size = self.sample_size(spec)
            tex = self.choice(self.possible_texture)
            while tex.name == texture.name:
                tex = self.choice(self.possible_texture)
            theta = float(rng.random() * 2 * np.pi)
            xy = rng.uniform(center - half, center + half)
            for name, yaw in ((f"before_twist_{i + 1}", theta), (f"after_twist_{i + 1}", theta - angle)):
                asset = self.temp_scene_asset(env, [], [(spec, tex, size, xy, yaw)])
                self.placeholders[name] = Placeholder(-1, "scene", tex, asset=asset)
