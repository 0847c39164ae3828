"""Task rules and oracles: seeded oracle success, VIMA's tolerances, symmetry, failures, the primitive."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uio_agent.envs.tabletop import PARTITION_TO_SPECS, make
from uio_agent.envs.tabletop.stress import STRESS_BASES, STRESS_DRAGGED, run_trial, stress_world


def _quat(yaw: float) -> np.ndarray:
    return np.array([0, 0, math.sin(yaw / 2), math.cos(yaw / 2)], dtype=np.float32)


def run_oracle(env, seed, pick_point=None):
    obs, info = env.reset(seed=seed, options={"oracle": True})
    oracle = env.oracle(pick_point) if pick_point else env.task.oracle(env)
    for _ in range(env.task.oracle_max_steps):
        action = oracle.act(obs)
        assert action is not None
        assert all(v.dtype == np.float32 for v in action.values())
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return info


@pytest.mark.parametrize("task", ["visual_manipulation", "rotate"])
@pytest.mark.parametrize(
    "level", ["placement_generalization", "combinatorial_generalization", "novel_object_generalization"]
)
def test_oracle_solves_seeded_episodes(task, level):
    env = make(task, task_kwargs=PARTITION_TO_SPECS["test"][level][task])
    seeds = range(6) if level == "placement_generalization" else range(100, 103)
    results = [run_oracle(env, s) for s in seeds]
    env.close()
    assert all(r["success"] and not r["failure"] for r in results), [r["failure_reason"] for r in results]


def test_interior_pick_point_solves_and_differs_from_sampling():
    env = make("visual_manipulation", oracle_pick_point="interior")
    obs, _ = env.reset(seed=7)
    interior = env.oracle().act(obs)
    sampled = env.oracle("sample").act(obs)
    assert not np.allclose(interior["pose0_position"], sampled["pose0_position"])
    assert run_oracle(env, 7)["success"]
    env.close()
    with pytest.raises(ValueError, match="pick_point"):
        env.oracle("edge")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rot():
    env = make("rotate", task_kwargs=PARTITION_TO_SPECS["test"]["placement_generalization"]["rotate"])
    yield env
    env.close()


def test_rotate_needs_the_clockwise_angle(rot):
    obs, info = rot.reset(seed=21)
    degrees = int(info["prompt"].split()[-2])
    assert degrees in (30, 60, 90, 120, 150)
    oracle_action = rot.task.oracle(rot).act(obs)
    # the oracle turns the object clockwise (negative yaw) by the prompt's angle
    turn = math.atan2(oracle_action["pose1_rotation"][2], oracle_action["pose1_rotation"][3]) * 2
    assert math.isclose((turn + math.radians(degrees)) % (2 * math.pi), 0, abs_tol=1e-4) or math.isclose(
        (turn + math.radians(degrees)) % (2 * math.pi), 2 * math.pi, abs_tol=1e-4
    )
    # counter-clockwise by the same angle: not a success (the objects have no symmetry)
    wrong = {**oracle_action, "pose1_rotation": _quat(-turn)}
    wrong["pose1_position"] = oracle_action["pose0_position"]
    _, _, terminated, _, info = rot.step(wrong)
    assert not info["success"] and not terminated
    rot.reset(seed=21)
    _, _, terminated, _, info = rot.step(oracle_action)
    assert info["success"] and terminated


def test_translation_without_rotation_is_not_a_rotation(rot):
    obs, _ = rot.reset(seed=22)
    action = rot.task.oracle(rot).act(obs)
    still = {**action, "pose1_rotation": _quat(0.0), "pose1_position": action["pose0_position"] + 0.02}
    _, _, terminated, _, info = rot.step(still)
    assert info["picked_obj_id"] == 5 and not info["success"] and not terminated


def test_distractor_into_the_base_is_a_failure():
    env = make(
        "visual_manipulation",
        task_kwargs=PARTITION_TO_SPECS["test"]["placement_generalization"]["visual_manipulation"],
    )
    for seed in range(10):
        env.reset(seed=seed)
        ((distractor, _),) = env.task.distractors
        if not env.world.is_fixed(distractor):
            break
    mask = env.world.oracle_mask() == distractor
    v, u = np.argwhere(mask).mean(axis=0)
    pick = np.array([0.25 + u * 0.003125, -0.5 + v * 0.003125], dtype=np.float32)
    offset = env.world.pose(distractor)[0][:2] - pick
    base_pos, _ = env.world.pose(5)
    action = {
        "pose0_position": pick,
        "pose0_rotation": _quat(0),
        "pose1_position": (base_pos[:2] - offset).astype(np.float32),
        "pose1_rotation": _quat(0),
    }
    _, _, terminated, _, info = env.step(action)
    env.close()
    assert info["picked_obj_id"] == distractor
    assert terminated and info["failure"] and info["failure_reason"] == "distractor_at_target"


def test_primitive_moves_only_what_it_grips(rot):
    rot.reset(seed=30)
    world = rot.world
    before = {i: world.pose(i)[0] for i in world.objects}
    empty = np.array([0.27, 0.48], dtype=np.float32)  # a workspace corner: nothing to grip
    assert world.oracle_mask()[-2, 5] == 1
    _, _, _, _, info = rot.step(
        {
            "pose0_position": empty,
            "pose0_rotation": _quat(0),
            "pose1_position": empty + np.array([0.3, -0.5], dtype=np.float32),
            "pose1_rotation": _quat(1),
        }
    )
    assert info["picked_obj_id"] is None
    for i, p in before.items():
        assert np.allclose(world.pose(i)[0], p, atol=1e-3)


def test_suction_does_not_grip_a_fixed_base():
    env = make("visual_manipulation", seed=0)
    env.reset(seed=0)
    base_pos, _ = env.world.pose(5)
    mask = env.world.oracle_mask() == 5
    v, u = np.argwhere(mask)[len(np.argwhere(mask)) // 2]
    on_base = np.array([0.25 + u * 0.003125, -0.5 + v * 0.003125], dtype=np.float32)
    _, _, _, _, info = env.step(
        {
            "pose0_position": on_base,
            "pose0_rotation": _quat(0),
            "pose1_position": on_base,
            "pose1_rotation": _quat(0),
        }
    )
    assert info["picked_obj_id"] is None
    assert np.allclose(env.world.pose(5)[0], base_pos)
    env.close()


def test_primitive_stress_sample():
    """A seeded slice of the 1,000-trial stress benchmark (benchmarks/stress_tabletop_primitive.py)."""
    world = stress_world()
    rng = np.random.default_rng(2024)
    results = []
    for i in range(2 * len(STRESS_DRAGGED)):  # every shape twice, every base six times or more
        base = STRESS_BASES[i % len(STRESS_BASES)]
        results.append(run_trial(world, rng, STRESS_DRAGGED[i % len(STRESS_DRAGGED)], base))
    failures = [(r.dragged, r.base, round(r.position_error, 3)) for r in results if not r.success]
    assert not failures
    world.renderer.close()


def test_nothing_spawns_inside_a_hollow_base():
    from uio_agent.envs.tabletop.tasks.visual_manipulation import in_hollow

    size, frame = np.array([0.144, 0.144, 0.036]), np.array([0.225, 0.225, 0.0])
    assert in_hollow(np.array([0.5, 0.0]), size, np.array([0.5, 0.0]), frame)
    assert in_hollow(
        np.array([0.5, 0.19]), size, np.array([0.5, 0.0]), frame
    )  # within (0.144 + 0.225) / 2 + 1 cm
    assert not in_hollow(np.array([0.5, 0.2]), size, np.array([0.5, 0.0]), frame)
    env = make("visual_manipulation", task_kwargs={"possible_base_obj": "frame"})
    for seed in range(6):
        env.reset(seed=seed)
        frame_xy = env.world.pose(5)[0][:2]
        for obj_id, placed in env.world.objects.items():
            if obj_id != 5 and not placed.spec.fixed:
                # VIMA's rule: centres farther apart than the two half sizes plus 1 cm
                limit = (placed.size[0] + 0.225) / 2 + 0.01
                assert np.linalg.norm(env.world.pose(obj_id)[0][:2] - frame_xy) > limit
    env.close()


def test_level_three_draws_novel_objects_and_default_textures():
    from uio_agent.envs.tabletop.catalog import DEFAULT_BASE_TEXTURES, DEFAULT_DRAGGED_TEXTURES

    env = make(
        "visual_manipulation",
        task_kwargs=PARTITION_TO_SPECS["test"]["novel_object_generalization"]["visual_manipulation"],
    )
    for seed in range(4):
        env.reset(seed=seed)
        info = env.meta_info["obj_id_to_info"]
        assert info[5]["obj_name"] in {"pallet", "pan"} and info[5]["texture_name"] in DEFAULT_BASE_TEXTURES
        assert info[6]["obj_name"] in {"letter R", "diamond", "hexagon", "round", "star"}
        assert info[6]["texture_name"] in DEFAULT_DRAGGED_TEXTURES
    env.close()
