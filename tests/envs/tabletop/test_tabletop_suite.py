"""The 17 tasks and four levels: VIMA's tables, seeded oracle success at every level, the spatula,
the task-specific failure rules, and the VIMA codec on every task's prompt and oracle plan."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from uio_agent.codecs.vima import MAX_PROMPT_IMAGES, VimaCodec
from uio_agent.envs.tabletop import ALL_PARTITIONS, ALL_TASKS, PARTITION_TO_SPECS, make
from uio_agent.envs.tabletop.catalog import OBJECTS, TEXTURES
from uio_agent.envs.tabletop.stress import STRESS_BASES, STRESS_DRAGGED, push_world, run_push_trial
from uio_agent.envs.tabletop.tasks.imitation import stacking_sequences
from uio_agent.envs.tabletop.tasks.sweep import SweepBase, block_points

REFERENCE = json.loads((Path(__file__).parent / "data" / "vima_bench_partitions.json").read_text())
#: Objects (name, texture, in id order) and prompts of seeds 0-2 of every task on VIMA-Bench (level 1,
#: level 4 for the held-out tasks), recorded from its ``meta_info`` and ``prompt``.
VIMA_EPISODES = json.loads((Path(__file__).parent / "data" / "vima_bench_seed_episodes.json").read_text())
#: Where our draws part from VIMA's: rotate's (part 1) sampling; an extra layout rejection (our
#: free-space masks differ) in novel_noun and same_shape seed 2; sweep_without_exceeding seed 0 re-draws
#: an overlapping block, which shifts its determiner draw.
OBJECTS_DIFFER = {("rotate", "0"), ("rotate", "1"), ("rotate", "2"), ("novel_noun", "2"), ("same_shape", "2")}
PROMPT_DIFFERS = {("novel_noun", "2"), ("sweep_without_exceeding", "0")}
HELD_OUT = set(PARTITION_TO_SPECS["test"]["novel_task_generalization"])
LEVEL_TASKS = [(level, task) for level in ALL_PARTITIONS for task in PARTITION_TO_SPECS["test"][level]]
IDENTITY = np.array([0, 0, 0, 1], dtype=np.float32)


def _action(p0, p1, yaw1: float = 0.0) -> dict[str, np.ndarray]:
    return {
        "pose0_position": np.asarray(p0, dtype=np.float32),
        "pose0_rotation": IDENTITY.copy(),
        "pose1_position": np.asarray(p1, dtype=np.float32),
        "pose1_rotation": np.array([0, 0, math.sin(yaw1 / 2), math.cos(yaw1 / 2)], dtype=np.float32),
    }


def run_oracle(env, seed):
    obs, info = env.reset(seed=seed, options={"oracle": True})
    assert not info["failure"], info["failure_reason"]
    oracle, actions = env.oracle(), []
    for _ in range(env.task.oracle_max_steps):
        action = oracle.act(obs)
        assert action is not None
        actions.append(action)
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return info, actions


# ---------------------------------------------------------------------------------- tables


def test_tables_equal_vima_bench():
    """The level specs, task list and level names are those of VIMA-Bench (recorded from its
    ``PARTITION_TO_SPECS``, ``ALL_TASKS`` and ``ALL_PARTITIONS``)."""
    assert REFERENCE["ALL_TASKS"] == ALL_TASKS
    assert REFERENCE["ALL_PARTITIONS"] == ALL_PARTITIONS
    assert REFERENCE["PARTITION_TO_SPECS"] == PARTITION_TO_SPECS
    test = PARTITION_TO_SPECS["test"]
    assert [len(test[level]) for level in ALL_PARTITIONS] == [13, 13, 12, 4]
    assert set(test["novel_object_generalization"]) == set(test["placement_generalization"]) - {
        "sweep_without_exceeding"
    }
    assert all(v is None for v in test["novel_task_generalization"].values())
    l1, l2 = test["placement_generalization"], test["combinatorial_generalization"]
    for task in l1:  # level 2 swaps the dragged and base texture sets (novel_adj: with dark twins)
        if "possible_base_obj_texture" in l1[task] and task != "novel_adj":
            assert l2[task]["possible_dragged_obj_texture"] == l1[task]["possible_base_obj_texture"]
            assert l2[task]["possible_base_obj_texture"] == l1[task]["possible_dragged_obj_texture"]
    assert set(l2["novel_adj"]["possible_dragged_obj_texture"]) - {
        t.removeprefix("dark ") for t in l2["novel_adj"]["possible_dragged_obj_texture"]
    } <= {"dark " + t for t in l1["novel_adj"]["possible_base_obj_texture"]}
    for level in test.values():  # every name resolves in our catalogues
        for kwargs in level.values():
            for key, names in (kwargs or {}).items():
                table = TEXTURES if key.endswith("texture") else OBJECTS
                assert all(n in table for n in names), (key, [n for n in names if n not in table])


@pytest.mark.parametrize("task", list(VIMA_EPISODES))
def test_seeded_episodes_draw_what_vima_bench_draws(task):
    """Same sampling order and RNG use as VIMA-Bench: seeds give VIMA's own objects and prompts."""
    level = "novel_task_generalization" if task in HELD_OUT else "placement_generalization"
    env = make(task, task_kwargs=PARTITION_TO_SPECS["test"][level][task])
    for seed, ref in VIMA_EPISODES[task].items():
        env.reset(seed=int(seed))
        objects = [
            [v["obj_name"], v["texture_name"]] for _, v in sorted(env.meta_info["obj_id_to_info"].items())
        ]
        assert (objects == ref["objects"]) != ((task, seed) in OBJECTS_DIFFER), (
            seed,
            objects,
            ref["objects"],
        )
        assert (env.prompt == ref["prompt"]) != ((task, seed) in PROMPT_DIFFERS), (seed, env.prompt)
    env.close()


def test_stacking_sequences_are_vimas_breadth_first_moves():
    seqs = stacking_sequences(3, 2)
    # 6 first moves, each followed by the 4 moves that do not take from the emptied stack
    assert len(seqs) == 24 and seqs[0] == [(0, 1), (1, 0)]
    assert all(len(s) == 2 and all(a != b for a, b in s) for s in seqs)
    assert [(0, 1), (0, 2)] not in seqs and [(0, 1), (1, 2)] in seqs


# ---------------------------------------------------------------------------------- oracle


@pytest.mark.parametrize(("level", "task"), LEVEL_TASKS)
def test_oracle_solves_every_task_at_every_level(level, task):
    env = make(task, task_kwargs=PARTITION_TO_SPECS["test"][level][task])
    seeds = (0, 1) if level != "combinatorial_generalization" else (100,)
    for seed in seeds:
        info, actions = run_oracle(env, seed)
        assert info["success"] and not info["failure"], (seed, info["failure_reason"], len(actions))
    env.close()


@pytest.mark.parametrize("key", ALL_TASKS)
def test_every_task_passes_the_gymnasium_checker_and_is_deterministic(key):
    env = make(key, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
    a, _ = env.reset(seed=5)
    prompt = env.prompt
    b, _ = env.reset(seed=5)
    assert env.prompt == prompt
    assert all(np.array_equal(a[m][v], b[m][v]) for m in ("rgb", "segm") for v in ("front", "top"))
    env.close()


# ---------------------------------------------------------------------------------- spatula


@pytest.fixture(scope="module")
def exceed():
    env = make(
        "sweep_without_exceeding",
        task_kwargs=PARTITION_TO_SPECS["test"]["placement_generalization"]["sweep_without_exceeding"],
    )
    yield env
    env.close()


def test_spatula_tasks_report_the_spatula(exceed):
    obs, info = exceed.reset(seed=0)
    assert obs["ee"] == 1 and exceed.observation_space.contains(obs)
    meta = exceed.meta_info
    assert meta["end_effector_type"] == "spatula" and meta["robot_components"] == [2, 3]
    assert min(meta["obj_id_to_info"]) == 4  # objects start at 4 with the spatula
    names = [v["obj_name"] for v in meta["obj_id_to_info"].values()]
    assert names[:2] == ["three-sided rectangle", "line"] and set(names[2:]) == {"small block"}
    ids = set(np.unique(obs["segm"]["top"])) - {0, 1}
    assert ids <= set(meta["obj_id_to_info"]) and 4 in ids
    assert info["prompt"].startswith("Sweep ") and info["prompt"].endswith("without exceeding {constraint}.")
    assert list(info["prompt_assets"]) == ["bounds", "constraint", "swept_obj"]  # VIMA's order
    # the swept block's prompt image is drawn 7 times larger (VIMA's global_scaling)
    swept = info["prompt_assets"]["swept_obj"]["segm"]["top"] == 0
    assert swept.sum() > 40 * 40


def _blocks(env):
    task = env.task
    assert isinstance(task, SweepBase)
    return list(task.obj_pts), list(task.distractor_pts)


def test_sweeping_a_block_past_the_line_fails(exceed):
    exceed.reset(seed=2)
    swept, _ = _blocks(exceed)
    start = exceed.world.pose(swept[0])[0][:2]
    _, _, terminated, _, info = exceed.step(_action(start, [0.26, start[1]]))
    assert terminated and info["failure"] and info["failure_reason"] == "constraint_violated"


def test_sweeping_a_distractor_into_the_zone_fails(exceed):
    exceed.reset(seed=4)
    _, distractors = _blocks(exceed)
    task = exceed.task
    target = task.zone.center[:2].copy()
    start = exceed.world.pose(distractors[0])[0][:2]
    _, _, terminated, _, info = exceed.step(_action(start, target))
    assert terminated and info["failure_reason"] == "distractor_in_zone"


def test_sweeping_more_blocks_than_asked_fails(exceed):
    for seed in range(40):  # an episode asking for one block out of several
        exceed.reset(seed=seed)
        if exceed.task.target_num == 1 and len(exceed.task.obj_pts) >= 2:
            break
    task = exceed.task
    outcomes = []
    for obj_id in list(task.obj_pts)[:2]:  # the rule holds after every step (an agent may go on)
        pos = exceed.world.pose(obj_id)[0][:2]
        _, _, terminated, _, info = exceed.step(_action(pos, task.push_target(exceed, obj_id)))
        outcomes.append((terminated, info["success"], info["failure_reason"]))
    assert outcomes == [(True, True, None), (True, False, "swept_too_many")]


def test_push_stress_sample():
    """A seeded slice of the push stress benchmark: blocks go where VIMA's push geometry says."""
    world, rng = push_world(), np.random.default_rng(1)
    results = [run_push_trial(world, rng) for _ in range(25)]
    assert all(r.success for r in results), [(r.along_error, r.lateral_error) for r in results]
    assert "small block" not in STRESS_DRAGGED and "line" not in STRESS_BASES
    world.renderer.close()


def test_zone_points_follow_vimas_grid():
    pts = block_points((0.03, 0.03, 0.03))
    assert pts.shape == (3, 8)
    assert np.allclose(sorted(set(pts[0].round(4))), [-0.015, 0.005])


def test_push_moves_a_block_along_the_push_direction(exceed):
    exceed.reset(seed=6)
    swept, _ = _blocks(exceed)
    before = exceed.world.pose(swept[0])[0][:2]
    target = before + np.array([-0.12, 0.0])
    exceed.step(_action(before, target))
    after = exceed.world.pose(swept[0])[0][:2]
    moved = after - before
    assert moved[0] < -0.05 and abs(moved[1]) < 0.03  # pushed toward -x, ending short of the target
    # a push of zero length changes nothing
    _, _, _, _, info = exceed.step(_action(after, after))
    assert np.allclose(exceed.world.pose(swept[0])[0][:2], after, atol=1e-4) and not info["failure"]


# ---------------------------------------------------------------------------------- task rules


def test_follow_motion_budget_is_read_at_construction():
    env = make("follow_motion")
    assert env.max_episode_steps == 6
    _obs, info = env.reset(seed=0)
    assert env.task.oracle_max_steps == 2 and env.max_episode_steps == 6
    assert next(iter(info["prompt_assets"])) == "dragged_obj"
    assert [a["placeholder_type"] for a in info["prompt_assets"].values()] == ["object"] + ["scene"] * 3
    # a step that reaches no goal fails the episode (VIMA's no-progress rule)
    _, _, terminated, _, info = env.step(_action([0.26, -0.45], [0.26, -0.4]))
    assert terminated and info["failure_reason"] == "no_progress"
    env.close()


def test_follow_order_frames_and_no_progress_rule():
    env = make("follow_order")
    _, info = env.reset(seed=1)
    assert not info["failure"]
    assert info["prompt"] == "Stack objects in this order {frame_0} {frame_1} {frame_2}."
    frames = info["prompt_assets"]
    # frame 0 shows three separate objects; the last frame shows a stack (fewer visible piles)
    assert len(frames["frame_0"]["segm"]["obj_info"]) == 3
    _, _, terminated, _, info = env.step(_action([0.26, -0.45], [0.26, -0.4]))
    assert terminated and info["failure_reason"] == "no_progress"
    env.close()


def test_manipulate_old_neighbor_fails_when_the_neighbour_goes_first():
    env = make("manipulate_old_neighbor")
    env.reset(seed=2)
    task = env.task
    neighbour = task.neighbor[0]
    base = task.goals[0].targets[0][0][:2]
    pos = env.world.pose(neighbour)[0][:2]
    _, _, terminated, _, info = env.step(_action(pos, base))
    assert terminated and info["failure_reason"] == "wrong_order"
    assert any(w in env.prompt for w in ("north", "south", "east", "west"))
    env.close()


def test_pick_in_order_then_restore_fails_when_the_order_is_skipped():
    env = make("pick_in_order_then_restore")
    env.reset(seed=3)
    task = env.task
    obj = task.goals[0].objects[0][0]
    second = task.goals[1].targets[0][0][:2]
    pos = env.world.pose(obj)[0][:2]
    _, _, terminated, _, info = env.step(_action(pos, second))
    assert terminated and info["failure_reason"] == "wrong_order"
    env.close()


def test_rearrange_oracle_moves_a_conflicting_distractor_first():
    env = make("rearrange")
    for seed in range(60):
        env.reset(seed=seed, options={"oracle": True})
        if env.task.conflict_distractors:
            break
    task = env.task
    assert task.goals[0].oracle_only
    distractor = task.conflict_distractors[0][0]
    _, _, _, _, info = env.step(env.oracle().act(None))
    assert info["picked_obj_id"] == distractor and not info["failure"]
    # without oracle mode the same episode does not need the distractor moved
    env.reset(seed=seed)
    assert any(g.oracle_only for g in task.goals) and not info["success"]
    env.close()


def test_same_texture_and_shape_goals_and_tolerance():
    env = make("same_texture")
    env.reset(seed=0)
    base_tex = env.meta_info["obj_id_to_info"][5]["texture_name"]
    goal_objs = [g.objects[0][0] for g in env.task.goals]
    assert len(goal_objs) == 2
    assert all(env.meta_info["obj_id_to_info"][o]["texture_name"] == base_tex for o in goal_objs)
    bowl = make("same_shape", task_kwargs={"possible_base_obj": "bowl"})
    bowl.reset(seed=0)
    assert math.isclose(bowl.task.pos_eps, 0.0875)
    profiles = {bowl.meta_info["obj_id_to_info"][g.objects[0][0]]["obj_profile"] for g in bowl.task.goals}
    assert profiles == {1}  # circle-like, as the bowl
    env.close()
    bowl.close()


def _front_height(asset) -> int:
    rows = np.nonzero((asset["segm"]["front"] == 0).any(axis=1))[0]
    return int(rows.max() - rows.min())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_novel_adj_goal_obeys_the_demonstrated_comparative(seed):
    env = make("novel_adj", task_kwargs={"adjective_types": "shorter/taller"})
    _, info = env.reset(seed=seed)
    prompt, assets = info["prompt"], info["prompt_assets"]
    assert prompt.count(" than ") == 3 and prompt.startswith("{demo_blicker_obj_1} is ")
    assert list(assets)[-2:] == ["base_obj", "dragged_obj"] and len(assets) == 8  # VIMA's order
    # demonstrations: the "blicker" object of each pair is consistently taller, or shorter
    signs = {
        np.sign(
            _front_height(assets[f"demo_blicker_obj_{i}"])
            - _front_height(assets[f"demo_less_blicker_obj_{i}"])
        )
        for i in (1, 2, 3)
    }
    assert len(signs) == 1 and 0 not in signs
    blicker_taller = signs.pop() > 0
    less = "Put the less " in prompt
    dragged, confusion = env.task.goals[0].objects[0][0], env.task.distractors[0][0]
    h_dragged, h_confusion = (env.world.half_extents(o)[2] for o in (dragged, confusion))
    assert max(h_dragged, h_confusion) > 4 * min(h_dragged, h_confusion)
    assert (h_dragged > h_confusion) == (blicker_taller != less)
    env.close()


def test_a_layout_that_cannot_be_sampled_is_drawn_again():
    """Level-3 rearrange, seed 74: the first layout leaves no free spot (VIMA raises and its
    evaluation retries with seed + 1); our reset draws again from the same seed."""
    env = make(
        "rearrange", task_kwargs=PARTITION_TO_SPECS["test"]["novel_object_generalization"]["rearrange"]
    )
    info, _ = run_oracle(env, 74)
    assert info["success"]
    first, _ = env.reset(seed=74)
    again, _ = env.reset(seed=74)
    assert np.array_equal(first["rgb"]["top"], again["rgb"]["top"])
    env.close()


def test_bad_task_arguments_raise_specific_errors():
    with pytest.raises(ValueError, match="dark twin"):
        make("novel_adj", task_kwargs={"possible_dragged_obj_texture": ["olive", "red"]})
    with pytest.raises(ValueError, match="rows"):
        make("pick_in_order_then_restore", task_kwargs={"num_array_rows": 3})
    with pytest.raises(ValueError, match="two textures"):
        make("twist", task_kwargs={"possible_dragged_obj_texture": "red"})
    with pytest.raises(ValueError, match="unknown object"):
        make("follow_order", task_kwargs={"possible_dragged_obj": ["spoon"]})
    with pytest.raises(ValueError, match="constraint_range"):
        make("sweep_without_exceeding", task_kwargs={"constraint_range": [0.6, 0.2]})
    with pytest.raises(ValueError, match="neighbour"):
        make("manipulate_old_neighbor", task_kwargs={"num_dragged_obj": 3})


def test_twist_rotates_by_the_demonstrated_angle():
    env = make("twist")
    _, info = env.reset(seed=4, options={"oracle": True})
    assert len(info["prompt_assets"]) == 6
    assert info["prompt"].endswith(" objects.") and info["prompt"].startswith('"Twist" is defined')
    for goal in env.task.goals:
        obj, sym = goal.objects[0]
        _, yaw = env.world.pose(obj)
        assert sym > 6 and not math.isclose(
            goal.targets[0][1] % (2 * math.pi), yaw % (2 * math.pi), abs_tol=0.2
        )
    env.close()


# ---------------------------------------------------------------------------------- codec


@pytest.mark.parametrize("key", ALL_TASKS)
def test_codec_handles_every_task(key):
    """Every prompt fits the 8 history slots; oracle plans (pushes included) survive the round trip."""
    codec = VimaCodec()
    env = make(key)
    for seed in (0, 1):
        obs, info = env.reset(seed=seed, options={"oracle": True})
        _text, order = codec.prompt_text(info["prompt"])
        assert len(order) <= MAX_PROMPT_IMAGES and set(order) == set(info["prompt_assets"])
        for name in order:
            frame = codec.asset_image(name, info["prompt_assets"][name])
            assert frame.ndim == 3 and frame.shape[0] == 3 and min(frame.shape[1:]) > 4
        if seed == 0:  # the whole input: one history frame per distinct placeholder
            inputs = codec.encode(obs, info)
            assert inputs.image_history_patches is not None
            assert inputs.image_history_patches.shape[1] == len(order)
        oracle, actions = env.oracle(), []
        for _ in range(env.task.oracle_max_steps):
            action = oracle.act(obs)
            if action is None:
                break
            actions.append(action)
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        decoded = codec.decode(codec.target({"actions": actions, "end_effector": env.task.end_effector}))
        assert len(decoded) == len(actions)
        for a, d in zip(actions, decoded, strict=True):
            for k in ("pose0_position", "pose1_position"):
                assert np.allclose(a[k], d[k], atol=1.1e-3), (k, a[k], d[k])
            for k in ("pose0_rotation", "pose1_rotation"):
                ya = math.atan2(a[k][2], a[k][3]) * 2
                yd = math.atan2(d[k][2], d[k][3]) * 2
                assert abs((ya - yd + math.pi) % (2 * math.pi) - math.pi) < math.radians(0.5)
    env.close()
