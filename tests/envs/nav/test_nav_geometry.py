"""Free space, sliding and geodesics on hand-made layouts whose answers are computed by hand."""

import math

import numpy as np
import pytest

from uio_agent.envs.nav.geometry import COLLISION_EPS, FreeSpace
from uio_agent.envs.nav.house import house_from_rooms
from uio_agent.envs.nav.layout import WALL_THICKNESS, parse_house

CORRIDOR = [("LivingRoom", [(0, 0), (1, 0), (1, 6), (0, 6)])]
L_SHAPE = [("LivingRoom", [(0, 0), (4, 0), (4, 1), (1, 1), (1, 4), (0, 4)])]
RADIUS = 0.1


def space_of(rooms, radius=RADIUS, objects=()):
    return FreeSpace(parse_house(house_from_rooms(rooms, objects=objects)), radius, 1.5)


def test_corridor_free_width_is_wall_face_minus_radius():
    space = space_of(CORRIDOR)
    face = WALL_THICKNESS / 2
    assert space.is_navigable(np.array([0.5, 3.0]))
    assert space.is_navigable(np.array([face + RADIUS + 0.01, 3.0]))
    assert not space.is_navigable(np.array([face + RADIUS - 0.01, 3.0]))
    assert not space.is_navigable(np.array([1.0 - face - RADIUS + 0.01, 3.0]))
    assert not space.is_navigable(np.array([2.0, 3.0]))  # outside the house


def test_straight_corridor_geodesic_is_euclidean():
    space = space_of(CORRIDOR)
    start, goal = np.array([0.5, 5.5]), np.array([0.5, 1.0])
    assert space.geodesic_distance(start, goal) == pytest.approx(4.5, abs=1e-9)
    # away from the line of sight the field itself is within a cell of the truth
    field = space.distance_field(goal)
    row, col = space.to_cell(np.array([0.5, 5.0]))
    assert field.field[row, col] == pytest.approx(math.hypot(*(space.cell_center(row, col) - goal)), rel=0.02)


def l_shape_geodesic(start, goal, corner, r):
    """Tangent-arc-tangent length around a disc of radius r at ``corner`` (the inner corner)."""
    ds, dg = np.hypot(*(start - corner)), np.hypot(*(goal - corner))
    ts, tg = math.sqrt(ds**2 - r**2), math.sqrt(dg**2 - r**2)
    a_s = math.atan2(*(start - corner)[::-1])
    a_g = math.atan2(*(goal - corner)[::-1])
    sweep = (a_g - a_s) % (2 * math.pi)  # the path wraps on the side facing the origin
    theta = sweep - math.acos(r / ds) - math.acos(r / dg)
    return ts + tg + r * theta


def test_l_shaped_geodesic_matches_tangent_arc_formula():
    space = space_of(L_SHAPE)
    start, goal = np.array([0.5, 3.5]), np.array([3.5, 0.5])
    corner = np.array([1 - WALL_THICKNESS / 2, 1 - WALL_THICKNESS / 2])
    expected = l_shape_geodesic(start, goal, corner, RADIUS)
    assert expected == pytest.approx(5.305, abs=2e-3)  # the hand calculation in docs/navigation.md
    got = space.geodesic_distance(start, goal)
    assert got == pytest.approx(expected, rel=0.015)
    assert got > np.hypot(*(start - goal))


def test_sliding_along_a_wall_keeps_the_tangential_component():
    space = space_of(CORRIDOR)
    start = np.array([0.8, 3.0])
    step = 0.25 * np.array([math.sqrt(0.5), -math.sqrt(0.5)])  # 45 degrees into the wall at x = 0.95
    wall_stop = 1.0 - WALL_THICKNESS / 2 - RADIUS  # 0.85
    slid = space.step(start, start + step, sliding=True)
    assert slid.position[0] == pytest.approx(wall_stop, abs=1e-3)
    assert slid.position[1] == pytest.approx(3.0 - step[0], abs=1e-3)  # the whole z component survives
    assert slid.collided
    stuck = space.step(start, start + step, sliding=False)
    assert stuck.position[0] == pytest.approx(wall_stop, abs=1e-3)
    assert stuck.position[1] == pytest.approx(3.0 - (wall_stop - 0.8), abs=1e-3)
    assert stuck.collided


def test_free_move_is_not_a_collision_and_head_on_move_stops():
    space = space_of(CORRIDOR)
    start = np.array([0.5, 3.0])
    free = space.step(start, start + np.array([0.0, -0.25]))
    assert not free.collided
    np.testing.assert_allclose(free.position, [0.5, 2.75])
    head_on = space.step(np.array([0.5, 0.3]), np.array([0.5, 0.05]))
    assert head_on.collided
    assert head_on.position[1] == pytest.approx(WALL_THICKNESS / 2 + RADIUS, abs=1e-3)
    moved = head_on.position - np.array([0.5, 0.3])
    assert moved @ moved + COLLISION_EPS < 0.25**2


def test_unreachable_goal_has_infinite_distance():
    rooms = [
        ("Bedroom", [(0, 0), (2, 0), (2, 2), (0, 2)]),
        ("Bathroom", [(2, 0), (4, 0), (4, 2), (2, 2)]),  # shares a wall, no door
    ]
    space = space_of(rooms)
    a, b = np.array([1.0, 1.0]), np.array([3.0, 1.0])
    assert space.island_of(a) != space.island_of(b)
    assert math.isinf(space.geodesic_distance(a, b))


def test_distance_fields_are_cached_per_goal():
    space = space_of(CORRIDOR)
    goal = np.array([0.5, 1.0])
    assert space.distance_field(goal) is space.distance_field(goal.copy())
    assert space.distance_field(goal + 0.001) is not space.distance_field(goal)


def test_bad_body_sizes_raise():
    layout = parse_house(house_from_rooms(CORRIDOR))
    with pytest.raises(ValueError, match="radius"):
        FreeSpace(layout, 0.0, 1.5)


@pytest.mark.parametrize("sliding", [True, False])
def test_random_walk_never_enters_an_obstacle(sliding):
    from uio_agent.envs.nav.house import generate_house

    space = FreeSpace(parse_house(generate_house(3)), 0.18, 0.88)
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(space.labels == space.largest_island)
    position = space.cell_center(int(rows[0]), int(cols[0]))
    field = space.distance_field(space.cell_center(int(rows[-1]), int(cols[-1])))
    collisions = 0
    for _ in range(1500):
        angle = rng.uniform(0, 2 * np.pi)
        result = space.step(
            position, position + 0.25 * np.array([np.cos(angle), np.sin(angle)]), sliding=sliding
        )
        assert space.clearance(result.position) > space.radius
        assert space.island_of(result.position) == space.largest_island
        assert math.isfinite(field.distance(result.position))
        moved = float(np.hypot(*(result.position - position)))
        assert moved <= 0.25 + 1e-9
        collisions += result.collided
        position = result.position
    assert collisions > 50  # the walk does hit walls and furniture


def test_agent_cannot_slip_into_a_sliver_without_navigable_cells():
    # a sofa 0.22 m from the wall face: free for the 0.2 m disc, but no 5 cm cell centre qualifies,
    # so (like a navmesh) the sliver is not walkable and no geodesic is ever undefined
    sofa = {
        "id": "Sofa|2|0",
        "assetId": "RoboTHOR_sofa_alrid",  # 1.549 x 0.947 m, turned 90 degrees: 0.947 m along x
        # house JSON coordinates are Unity's: our z = 3.0 is written as -3.0
        "position": {"x": 0.05 + 0.22 + 0.947 / 2, "y": 0.41, "z": -3.0},
        "rotation": {"x": 0, "y": 90, "z": 0},
    }
    space = space_of(CORRIDOR, objects=[sofa])
    position = np.array([0.16, 4.5])
    assert space.clearance(np.array([0.16, 3.0])) > RADIUS  # continuous free space goes through
    field = space.distance_field(np.array([0.5, 5.5]))
    for _ in range(10):
        result = space.step(position, position + np.array([0.0, -0.25]))
        position = result.position
        assert math.isfinite(field.distance(position))
    assert result.collided
    assert position[1] > 3.0 + 1.549 / 2 - 0.1
