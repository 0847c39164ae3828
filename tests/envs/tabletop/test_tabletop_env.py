"""The environment's VIMA-Bench interface: spaces, prompt format, meta_info, ids, validation, seeding."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from uio_agent.envs import make_env
from uio_agent.envs.tabletop import ALL_PARTITIONS, ALL_TASKS, PARTITION_TO_SPECS, make

VIMA_META_KEYS = {
    "end_effector_type",
    "n_objects",
    "difficulty",
    "views",
    "modalities",
    "seed",
    "action_bounds",
    "robot_components",
    "obj_id_to_info",
}
VIMA_OBJ_INFO_KEYS = {
    "obj_name",
    "obj_assets",
    "obj_size_range",
    "obj_from_template",
    "obj_replace_fn",
    "obj_pose_transform_fn",
    "obj_alias",
    "obj_novel_name",
    "obj_template_file",
    "obj_symmetry",
    "obj_profile",
    "texture_name",
    "texture_color_value",
    "texture_texture_asset",
    "texture_alias",
    "texture_novel_name",
}


@pytest.fixture(scope="module")
def vm():
    env = make(
        "visual_manipulation",
        task_kwargs=PARTITION_TO_SPECS["test"]["placement_generalization"]["visual_manipulation"],
    )
    yield env
    env.close()


@pytest.fixture(scope="module")
def rot():
    env = make("rotate", task_kwargs=PARTITION_TO_SPECS["test"]["placement_generalization"]["rotate"], seed=0)
    yield env
    env.close()


def test_module_tables_use_vimas_names():
    assert len(ALL_TASKS) == 17
    assert ALL_TASKS[:3] == [
        "instruction_following/visual_manipulation",
        "instruction_following/scene_understanding",
        "instruction_following/rotate",
    ]
    assert ALL_PARTITIONS == [
        "placement_generalization",
        "combinatorial_generalization",
        "novel_object_generalization",
        "novel_task_generalization",
    ]
    assert set(PARTITION_TO_SPECS) == {"train", "test"}
    assert PARTITION_TO_SPECS["train"] == PARTITION_TO_SPECS["test"]["placement_generalization"]
    l1, l2 = (PARTITION_TO_SPECS["test"][k]["visual_manipulation"] for k in ALL_PARTITIONS[:2])
    # level 2 swaps the texture sets of dragged and base objects
    assert l1["possible_dragged_obj_texture"] == l2["possible_base_obj_texture"]
    assert PARTITION_TO_SPECS["test"]["novel_object_generalization"]["rotate"] == {
        "possible_dragged_obj": ["letter R"]
    }


def test_spaces_match_vima(vm):
    obs_space, act_space = vm.observation_space, vm.action_space
    for view in ("front", "top"):
        assert obs_space["rgb"][view].shape == (3, 128, 256) and obs_space["rgb"][view].dtype == np.uint8
        assert obs_space["segm"][view].shape == (128, 256) and obs_space["segm"][view].dtype == np.uint8
    assert obs_space["ee"] == gym.spaces.Discrete(2)
    assert set(act_space) == {"pose0_position", "pose0_rotation", "pose1_position", "pose1_rotation"}
    assert np.allclose(act_space["pose0_position"].low, [0.25, -0.5])
    assert np.allclose(act_space["pose1_position"].high, [0.75, 0.5])
    assert act_space["pose1_rotation"].shape == (4,) and act_space["pose1_rotation"].dtype == np.float32
    assert vm.max_episode_steps == vm.task.oracle_max_steps + 2 == 5


def test_reset_gives_vima_prompt_assets_and_meta_info(vm):
    _, info = vm.reset(seed=3)
    assert info["prompt"] == vm.prompt == "Put the {dragged_obj_1} into the {base_obj}."
    assert set(vm.prompt_assets) == {"dragged_obj_1", "base_obj"}
    assert info["success"] is False and info["failure"] is False
    for name, asset in vm.prompt_assets.items():
        assert asset["placeholder_type"] == "object"
        assert asset["rgb"]["front"].shape == (3, 128, 256) and asset["rgb"]["top"].dtype == np.uint8
        assert asset["segm"]["top"].shape == (128, 256)
        assert set(np.unique(asset["segm"]["top"])) == {0, 255}  # the object (id 0) alone
        white = asset["rgb"]["top"][:, asset["segm"]["top"] == 255]
        assert (white == 255).all()
        info_ = asset["segm"]["obj_info"]
        placed = vm.meta_info["obj_id_to_info"][vm.task.placeholders[name].obj_id]
        assert info_ == {"obj_id": 0, "obj_name": placed["obj_name"], "obj_color": placed["texture_name"]}
    meta = vm.meta_info
    assert set(meta) == VIMA_META_KEYS
    assert meta["end_effector_type"] == "suction" and meta["n_objects"] == 3 and meta["seed"] == 3
    assert sorted(meta["obj_id_to_info"]) == [5, 6, 7]
    assert all(set(v) == VIMA_OBJ_INFO_KEYS for v in meta["obj_id_to_info"].values())
    json.dumps(meta)  # serialisable
    base = meta["obj_id_to_info"][5]
    assert base["obj_name"] in {"bowl", "frame", "container", "square"}
    assert (
        base["texture_name"]
        in PARTITION_TO_SPECS["train"]["visual_manipulation"]["possible_base_obj_texture"]
    )


def test_segmentation_ids_follow_vima(vm):
    obs, _ = vm.reset(seed=5)
    ids = set(vm.meta_info["obj_id_to_info"])
    for view in ("front", "top"):
        present = set(np.unique(obs["segm"][view]).tolist())
        assert {0, 1} <= present or view == "top"  # the top view is all workspace and objects
        assert 1 in present and present - {0, 1} == ids  # arm (2-4) hidden
        for obj_id in ids:  # every object is coloured where its mask is
            assert obs["segm"][view][obs["segm"][view] == obj_id].size > 30


def test_arm_is_visible_when_not_hidden():
    env = make("rotate", hide_arm_rgb=False, seed=1)
    obs, _ = env.reset(seed=1)
    assert 2 in np.unique(obs["segm"]["front"])
    env.close()


def test_same_seed_same_episode(rot):
    obs_a, info_a = rot.reset(seed=11)
    assets_a = rot.prompt_assets
    action = rot.task.oracle(rot).act(obs_a)
    step_a = rot.step(action)[0]
    obs_b, info_b = rot.reset(seed=11)
    assert info_a["prompt"] == info_b["prompt"]
    for name in assets_a:
        assert np.array_equal(assets_a[name]["rgb"]["top"], rot.prompt_assets[name]["rgb"]["top"])
    for mod in ("rgb", "segm"):
        for view in ("front", "top"):
            assert np.array_equal(obs_a[mod][view], obs_b[mod][view])
    step_b = rot.step(rot.task.oracle(rot).act(obs_b))[0]
    assert np.array_equal(step_a["rgb"]["top"], step_b["rgb"]["top"])
    rot.seed(11)  # VIMA's way: seed, then reset without one
    assert np.array_equal(rot.reset()[0]["rgb"]["front"], obs_a["rgb"]["front"]) and rot.global_seed == 11
    obs_c, _ = rot.reset(seed=12)
    assert not np.array_equal(obs_a["rgb"]["top"], obs_c["rgb"]["top"])
    fresh = make("rotate", task_kwargs=PARTITION_TO_SPECS["test"]["placement_generalization"]["rotate"])
    obs_d, _ = fresh.reset(seed=11)  # a new env: episodes do not depend on the env's history
    assert np.array_equal(obs_a["segm"]["front"], obs_d["segm"]["front"])
    assert np.array_equal(
        step_a["rgb"]["front"], fresh.step(fresh.task.oracle(fresh).act(obs_d))[0]["rgb"]["front"]
    )
    fresh.close()


def test_malformed_actions_raise_value_error_naming_the_key(rot):
    rot.reset(seed=0)
    good = {k: v.copy() for k, v in rot.action_space.sample().items()}
    for key, bad, match in [
        ("pose1_rotation", None, "pose1_rotation"),
        ("pose0_position", np.zeros(3), "pose0_position"),
        ("pose1_position", np.array([0.5, np.nan]), "pose1_position"),
        ("pose0_rotation", np.array([0, 0, np.inf, 1]), "pose0_rotation"),
        ("pose0_position", "left", "pose0_position"),
    ]:
        action = dict(good)
        if bad is None:
            del action[key]
        else:
            action[key] = bad
        with pytest.raises(ValueError, match=match):
            rot.step(action)
    with pytest.raises(ValueError, match="dict"):
        rot.step([0.5, 0.0])


def test_out_of_bounds_positions_are_clipped(rot):
    obs, _ = rot.reset(seed=2)
    action = rot.task.oracle(rot).act(obs)
    _, _, _, _, info = rot.step(action)
    assert info["action_clipped"] is False
    rot.reset(seed=2)
    far = {**action, "pose0_position": np.array([2.0, -3.0], dtype=np.float32)}
    _, _, _, _, info = rot.step(far)
    assert info["action_clipped"] is True and info["picked_obj_id"] is None


def test_step_budget_truncates(rot):
    rot.reset(seed=4)
    idle = {
        "pose0_position": np.array([0.25, 0.5], dtype=np.float32),
        "pose0_rotation": np.array([0, 0, 0, 1], dtype=np.float32),
        "pose1_position": np.array([0.25, 0.5], dtype=np.float32),
        "pose1_rotation": np.array([0, 0, 0, 1], dtype=np.float32),
    }
    flags = [rot.step(idle)[2:4] for _ in range(rot.max_episode_steps)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_passes_gymnasium_env_checker():
    env = make("visual_manipulation", seed=0, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env)
    frame = env.render()
    assert frame.shape == (256, 256, 3)
    env.close()


def test_names_and_gym_ids():
    env = make_env("tabletop/rotate@L3", seed=0)
    env.reset(seed=0)
    assert env.meta_info["obj_id_to_info"][5]["obj_name"] == "letter R"
    env.close()
    with pytest.raises(ValueError, match="whole level"):
        make_env("tabletop@L1")
    with pytest.raises(ValueError, match="unknown tabletop task"):
        make_env("tabletop/stack_pyramid@L1")
    with pytest.raises(ValueError, match="not part of level"):
        make_env("tabletop/sweep_without_touching@L1")
    env = gym.make("uio_agent/tabletop-visual_manipulation-L2-v0")
    env.reset(seed=1)
    info = env.unwrapped.meta_info["obj_id_to_info"]
    l2 = PARTITION_TO_SPECS["test"]["combinatorial_generalization"]["visual_manipulation"]
    assert info[5]["texture_name"] in l2["possible_base_obj_texture"]
    assert info[6]["texture_name"] in l2["possible_dragged_obj_texture"]
    env.close()
    with pytest.raises(ValueError, match="modalities"):
        make("rotate", modalities=("depth",))


def test_neutral_colour_and_name_expressions():
    env = make(
        "visual_manipulation",
        task_kwargs={"use_neutral_color": True, "dragged_obj_express_types": "name"},
        seed=0,
    )
    _, info = env.reset(seed=0)
    dragged = env.meta_info["obj_id_to_info"][6]
    assert info["prompt"] == f"Put the {dragged['texture_name']} {dragged['obj_name']} into the {{base_obj}}."
    asset = env.prompt_assets["base_obj"]
    assert asset["segm"]["obj_info"]["obj_color"] == "gray"
    pixels = asset["rgb"]["top"][:, asset["segm"]["top"] == 0].astype(int)
    assert np.abs(pixels[0] - pixels[2]).mean() < 20  # grey: red and blue channels close
    env.close()


def test_gl_backend_choice_respects_the_user(monkeypatch):
    from uio_agent.envs.tabletop.gl import choose_backend

    monkeypatch.setenv("MUJOCO_GL", "OSMesa")
    assert choose_backend() == "osmesa"
    monkeypatch.delenv("MUJOCO_GL")
    assert choose_backend() in {"egl", "osmesa", "glfw"}


def test_step_info_has_pick_and_place_diagnostics(rot):
    obs, _ = rot.reset(seed=40)
    _, _, _, _, info = rot.step(rot.task.oracle(rot).act(obs))
    assert info["picked_obj_id"] == 5 and info["picked_correct_object"] is True
    assert 0 <= info["place_error"] < 0.02  # rotate's target is the object's own position
    assert info["elapsed_steps"] == 1 and info["failure_reason"] is None


def test_scene_placeholder_shows_a_layout_with_local_ids(vm):
    obs, _ = vm.reset(seed=8)
    dragged = vm.task.placeholders["dragged_obj_1"].obj_id
    base_pos, _ = vm.world.pose(5)
    # the goal layout of the episode: the dragged object on the base, the base where it is
    layout = [(5, base_pos[:2], vm.world.pose(5)[1]), (dragged, base_pos[:2], 0.0)]
    asset = vm.task.scene_asset(vm, layout)
    assert asset["placeholder_type"] == "scene"
    assert [o["obj_id"] for o in asset["segm"]["obj_info"]] == [2, 3]
    assert asset["segm"]["obj_info"][1]["obj_name"] == vm.meta_info["obj_id_to_info"][dragged]["obj_name"]
    top = asset["segm"]["top"]
    assert set(np.unique(top).tolist()) - {0, 1} == {2, 3}  # the distractor is not part of the layout
    _, xs = np.nonzero(top == 3)
    assert abs(xs.mean() - (base_pos[1] + 0.51) / 1.02 * 256) < 6  # drawn on the base (y -> columns)
    # the live scene is untouched
    again = vm.world.observe()
    assert np.array_equal(again["top"][1], obs["segm"]["top"])
