"""MuJoCo camera: depth in metres, habitat's handedness, semantic ids, a single compiled house."""

import math

import numpy as np
import pytest

from uio_agent.envs.nav.house import house_from_rooms
from uio_agent.envs.nav.layout import WALL_THICKNESS, parse_house

render = pytest.importorskip("uio_agent.envs.nav.render")

CORRIDOR = [("LivingRoom", [(0, 0), (1, 0), (1, 6), (0, 6)])]
SOFA = {
    "id": "Sofa|2|0",
    "assetId": "RoboTHOR_sofa_alrid",
    "position": {"x": 0.55, "y": 0.41, "z": -3.0},  # Unity frame: our z = 3.0
    "rotation": {"x": 0, "y": 90, "z": 0},
}


@pytest.fixture(scope="module")
def renderer():
    r = render.HouseRenderer(64, 64, 90.0)
    r.load(parse_house(house_from_rooms(CORRIDOR, objects=[SOFA])))
    yield r
    r.close()


def test_depth_is_metric_distance_along_the_optical_axis(renderer):
    views = renderer.render(np.array([0.5, 5.5]), 0.0, 1.25, semantic=True)
    face = WALL_THICKNESS / 2
    # facing -z: the end wall's face is at z = 0.05, 5.45 m ahead, behind the sofa at z ~ 3
    centre = views["depth"][32, 32]
    sofa_far_face = 3.0 + 0.947 / 2  # the sofa is rotated: its 0.947 m depth lies along z
    assert centre == pytest.approx(5.5 - face, abs=0.02) or centre == pytest.approx(
        5.5 - sofa_far_face, abs=0.02
    )
    top = views["depth"][8, 32]  # looking over the sofa toward the end wall / ceiling
    assert 0 < top < 6
    assert views["rgb"].shape == (64, 64, 3) and views["rgb"].std() > 5


def test_view_is_right_handed_like_habitat(renderer):
    # the sofa stands against the x = 0 wall; facing -z it must appear on the left half of the image
    views = renderer.render(np.array([0.5, 5.5]), 0.0, 0.5, semantic=True)
    ids = views["semantic"]
    sofa = [i + 1 for i, name in enumerate(renderer.names) if name == "Sofa|2|0"]
    cols = np.nonzero(np.isin(ids, sofa))[1]
    assert cols.size > 0 and cols.mean() < 32
    # turning left by 90 degrees faces -x: the x = 0 wall is 0.5 - 0.05 m ahead
    left = renderer.render(np.array([0.5, 5.5]), math.pi / 2, 1.25)
    assert left["depth"][32, 32] == pytest.approx(0.5 - WALL_THICKNESS / 2, abs=0.01)


def test_same_pose_same_pixels(renderer):
    a = renderer.render(np.array([0.5, 4.0]), 0.3, 1.25)
    b = renderer.render(np.array([0.5, 4.0]), 0.3, 1.25)
    np.testing.assert_array_equal(a["rgb"], b["rgb"])
    np.testing.assert_array_equal(a["depth"], b["depth"])


def test_generated_house_compiles_with_every_element():
    from uio_agent.envs.nav.house import generate_house

    layout = parse_house(generate_house(3))
    xml, names = render.house_to_mjcf(layout, 64, 64, 90.0)
    assert xml.count("<geom ") == len(names) >= len(layout.boxes) + len(layout.rooms) + 1


def test_env_semantic_sensor_names_house_elements():
    from uio_agent.envs.nav.pointnav import PointNavEnv

    env = PointNavEnv(sensors=("semantic",), width=32, height=32)
    obs, _ = env.reset(seed=5)
    labels = env.semantic_labels()
    ids = np.unique(obs["semantic"])
    assert obs["semantic"].shape == (32, 32, 1) and obs["semantic"].dtype == np.int32
    assert ids.min() >= 1 and ids.max() <= len(labels)  # a closed house: every pixel hits something
    seen = {labels[i - 1] for i in ids}
    assert any(name.startswith(("wall|", "floor|", "ceiling")) for name in seen)
    env.close()
