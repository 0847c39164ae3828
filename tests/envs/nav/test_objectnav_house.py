"""Furnished ProcTHOR-schema houses: Unity <-> our frame, the schema check, furnishing by room type."""

import copy

import numpy as np
import pytest

from uio_agent.envs.nav import thor
from uio_agent.envs.nav._procthor_assets import ASSETS, KINEMATIC
from uio_agent.envs.nav.geometry import point_in_polygon
from uio_agent.envs.nav.house import generate_house, house_from_rooms, load_house, save_house, validate_house
from uio_agent.envs.nav.layout import HouseFormatError, parse_house
from uio_agent.envs.nav.schema import check_house_schema

render = pytest.importorskip("uio_agent.envs.nav.render")

SEEDS = (0, 2, 6)


@pytest.fixture(scope="module")
def houses():
    return {seed: generate_house(seed) for seed in SEEDS}


def _json_objects(objects):
    for obj in objects:
        yield obj
        yield from _json_objects(obj.get("children", []))


def _inside(x, z, polygon):
    return bool(point_in_polygon(np.array([x]), np.array([z]), tuple(polygon))[0])


def test_saved_house_reads_back_with_objects_in_their_rooms_in_both_frames(tmp_path, houses):
    for seed, house in houses.items():
        back = load_house(save_house(house, tmp_path / f"house_{seed}.json.gz"))
        assert back == house
        json_rooms = {
            r["id"].split("|")[1]: [(p["x"], p["z"]) for p in r["floorPolygon"]] for r in back["rooms"]
        }
        layout = parse_house(back)
        our_rooms = {r.id.split("|")[1]: r.polygon for r in layout.rooms}
        placed = {o.id: o for o in layout.objects}
        objects = list(_json_objects(back["objects"]))
        assert len(objects) == len(placed) > 0
        for obj in objects:
            room = obj["id"].split("|")[1]  # "Type|room|n"
            x, y, z = (obj["position"][k] for k in "xyz")
            assert _inside(x, z, json_rooms[room]), f"{obj['id']} outside its room in Unity's frame"
            ours = placed[obj["id"]]
            assert ours.center == pytest.approx(thor.unity_to_ours(x, y, z))
            assert _inside(ours.center[0], ours.center[2], our_rooms[room]), f"{obj['id']} outside in ours"
            x0, z0, x1, z1 = ours.footprint
            assert all(_inside(px, pz, our_rooms[room]) for px in (x0, x1) for pz in (z0, z1))
        # the agent start converts into a navigable point of our frame
        agent = back["metadata"]["agent"]
        start = np.array(thor.unity_to_ours(agent["position"]["x"], 0.0, agent["position"]["z"]))[[0, 2]]
        space = validate_house(back, agent_radius=0.18, agent_height=1.5)
        assert space.is_navigable(start)


def test_conversion_keeps_handedness_thor_right_is_image_right():
    # Unity: facing +z (rotation.y = 0), +x is on the right. A basketball at Unity (+0.5, 3) must appear
    # in the right half of the image of an agent at Unity (0, 2) with THOR rotation 0.
    ball = {
        "id": "BasketBall|2|0",
        "assetId": "Basketball_1",
        "position": {"x": 0.5, "y": 1.2, "z": 3.0},
        "rotation": {"x": 0, "y": 0, "z": 0},
        "kinematic": False,
    }
    room = [("LivingRoom", [(-2.0, -4.0), (2.0, -4.0), (2.0, 0.0), (-2.0, 0.0)])]  # ours: z in [-4, 0]
    layout = parse_house(house_from_rooms(room, objects=[ball]))
    x, _, z = thor.unity_to_ours(0.0, 0.0, 2.0)
    renderer = render.HouseRenderer(64, 48, 80.0)
    try:
        renderer.load(layout)
        views = renderer.render(np.array([x, z]), thor.yaw_from_thor(0.0), 1.2, instance=True)
    finally:
        renderer.close()
    ball_instance = renderer.instances.index("BasketBall|2|0") + 1
    cols = np.nonzero(views["instance"] == ball_instance)[1]
    assert cols.size > 0 and cols.mean() > 32


def test_generated_houses_pass_the_procthor_schema_check(houses):
    for house in houses.values():
        check_house_schema(house)
    types = set()
    for house in houses.values():
        for obj in _json_objects(house["objects"]):
            object_type = obj["id"].split("|")[0]
            assert obj["assetId"] in {a[0] for a in ASSETS[object_type]}
            assert obj["kinematic"] is (object_type in KINEMATIC)
            assert set(obj) >= {"id", "assetId", "position", "rotation", "kinematic"}
            types.add(object_type)
    # furnished by room type, small objects on receptacles
    assert {"Bed", "Toilet", "Sofa", "Television", "GarbageCan"} <= types
    assert any(obj.get("children") for house in houses.values() for obj in house["objects"])


def test_children_rest_on_their_receptacles(houses):
    layout = parse_house(houses[2])
    by_id = {o.id: o for o in layout.objects}
    children = [o for o in layout.objects if o.parent is not None]
    assert children
    for child in children:
        parent = by_id[child.parent]
        assert child.y_range[0] == pytest.approx(parent.y_range[1], abs=0.01)
        px0, pz0, px1, pz1 = parent.footprint
        cx0, cz0, cx1, cz1 = child.footprint
        assert px0 - 1e-6 <= cx0 and cx1 <= px1 + 1e-6 and pz0 - 1e-6 <= cz0 and cz1 <= pz1 + 1e-6


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda h: h["objects"][0].update(assetId="Sofa_9999"), "asset database"),
        (lambda h: h["walls"].pop(0), "walled|one wall per side"),
        (lambda h: h["doors"][0].update(wall0="wall|nowhere"), "wall0"),
        (lambda h: h["objects"][0].update(kinematic=not h["objects"][0]["kinematic"]), "kinematic"),
        (lambda h: h["rooms"][0].update(roomType="Garage"), "roomType"),
        (lambda h: h["objects"][0]["position"].update(x=-50.0), "outside every room"),
    ],
)
def test_schema_check_names_what_is_wrong(houses, corrupt, message):
    house = copy.deepcopy(houses[0])
    corrupt(house)
    with pytest.raises(HouseFormatError, match=message):
        check_house_schema(house)
