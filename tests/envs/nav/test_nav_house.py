"""Procedural houses: ProcTHOR schema, determinism, validation, JSON round trips."""

import json

import numpy as np
import pytest

from uio_agent.envs.nav.house import (
    ROOM_SPECS,
    ROOM_TYPES,
    HouseConfig,
    HouseValidationError,
    generate_house,
    load_house,
    sample_interior_boundary,
    save_house,
    validate_house,
)
from uio_agent.envs.nav.layout import HouseFormatError, asset_sizes, parse_house

SEEDS = (0, 1, 3)


@pytest.fixture(scope="module")
def houses():
    return {seed: generate_house(seed) for seed in SEEDS}


def test_same_seed_same_house_and_different_seeds_differ(houses):
    again = generate_house(1)
    assert json.dumps(again, sort_keys=True) == json.dumps(houses[1], sort_keys=True)
    assert json.dumps(houses[0], sort_keys=True) != json.dumps(houses[1], sort_keys=True)


def test_procthor_schema(houses):
    known_assets = asset_sizes()
    for house in houses.values():
        assert {"rooms", "walls", "doors", "windows", "objects", "proceduralParameters", "metadata"} <= set(
            house
        )
        assert house["metadata"]["schema"] == "1.0.0"
        room_ids = {r["id"] for r in house["rooms"]}
        for room in house["rooms"]:
            assert room["id"].startswith("room|") and room["roomType"] in ROOM_TYPES
            assert len(room["floorPolygon"]) >= 4 and all(p["y"] == 0.0 for p in room["floorPolygon"])
        wall_ids = {w["id"] for w in house["walls"]}
        assert any(w["roomId"] == "exterior" for w in house["walls"])
        for wall in house["walls"]:
            assert wall["id"].startswith("wall|") and len(wall["polygon"]) == 4
        for door in house["doors"]:
            assert door["room0"] in room_ids and door["room1"] in room_ids
            assert door["wall0"] in wall_ids and door["wall1"] in wall_ids
            lo, hi = door["holePolygon"]
            assert 0 < hi["x"] - lo["x"] < 1.2 and hi["y"] > 2.0
        for obj in house["objects"]:
            assert obj["assetId"] in known_assets and obj["rotation"]["y"] in (0, 90, 180, 270)
        agent = house["metadata"]["agent"]
        assert agent["position"]["y"] == 0.95 and agent["rotation"]["y"] in (0, 90, 180, 270)
        assert agent["position"]["x"] % 0.25 == pytest.approx(0.0, abs=1e-9) or agent["position"][
            "x"
        ] % 0.25 == (pytest.approx(0.25, abs=1e-9))
        assert house["metadata"]["roomSpecId"] in {s.room_spec_id for s in ROOM_SPECS}


def test_multi_room_houses_connect_every_room_through_doors(houses):
    for house in houses.values():
        n = len(house["rooms"])
        assert len(house["doors"]) >= n - 1
        space = validate_house(house, agent_radius=0.18, agent_height=1.5)
        assert space.island_radius(space.largest_island) > 1.5


def test_scale_and_ceiling_follow_procthor_ranges(houses):
    for house in houses.values():
        layout = parse_house(house)
        assert 2.5 <= layout.ceiling_height <= 7.0
        xs = sorted({round(p["x"], 4) for r in house["rooms"] for p in r["floorPolygon"]})
        steps = np.diff(xs)
        cell = steps.min()
        assert 1.6 - 1e-6 <= cell <= 2.2 + 1e-6
        assert np.allclose(steps / cell, np.round(steps / cell), atol=1e-3)


def test_room_spec_draws_follow_procthor10k_weights():
    from uio_agent.envs.nav.house import _sample_spec

    weights = {s.room_spec_id: s.sampling_weight for s in ROOM_SPECS}
    assert weights["4-room"] == 5 and weights["bedroom-bathroom"] == weights["kitchen-living-room"] == 2
    assert sum(weights.values()) == 22
    draws = [_sample_spec(np.random.default_rng(seed), HouseConfig()).room_spec_id for seed in range(4000)]
    assert draws.count("4-room") / 4000 == pytest.approx(5 / 22, abs=0.02)
    only = HouseConfig(room_spec_ids=("bedroom", "kitchen"))
    assert {_sample_spec(np.random.default_rng(seed), only).room_spec_id for seed in range(50)} == {
        "bedroom",
        "kitchen",
    }


def test_interior_boundary_size_rule():
    rng = np.random.default_rng(0)
    for _ in range(50):
        boundary = sample_interior_boundary(rng, num_rooms=4)
        assert all(5 <= side <= 7 for side in boundary.shape)  # sqrt(4)*3 -/+ 1


def test_blocked_door_is_rejected():
    house = generate_house(1, HouseConfig(room_spec_ids=("kitchen-living-room",)))
    layout = parse_house(house)
    door = layout.doors[0]
    sofa = {
        "id": "Sofa|blocker",
        "assetId": "RoboTHOR_sofa_alrid",
        "position": {
            "x": door.center[0] + 0.5 * door.normal[0],
            "y": 0.4,
            "z": -(door.center[1] + 0.5 * door.normal[1]),  # layouts are in our frame, the JSON in Unity's
        },
        "rotation": {"x": 0, "y": 0 if abs(door.normal[1]) > 0.5 else 90, "z": 0},
        "kinematic": True,
    }
    house["objects"].append(sofa)
    with pytest.raises(HouseValidationError, match=r"door|reachable"):
        validate_house(house, agent_radius=0.18, agent_height=1.5)


def test_json_round_trip(tmp_path, houses):
    for name in ("house.json", "house.json.gz"):
        path = save_house(houses[0], tmp_path / name)
        assert load_house(path) == houses[0]


def test_bad_inputs_raise_actionable_errors(tmp_path):
    with pytest.raises(ValueError, match="room_spec_ids"):
        HouseConfig(room_spec_ids=("castle",))
    with pytest.raises(ValueError, match="cell_size_range"):
        HouseConfig(cell_size_range=(0.5, 0.6))
    with pytest.raises(ValueError, match="seed"):
        generate_house(-1)
    with pytest.raises(HouseFormatError, match="rooms"):
        parse_house({"walls": []})
    house = generate_house(0)
    house["objects"].append({"id": "x", "assetId": "NotAnAsset", "position": {"x": 0, "y": 0, "z": 0}})
    with pytest.raises(HouseFormatError, match="assetId"):
        parse_house(house)
