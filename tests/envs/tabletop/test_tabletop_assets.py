"""Catalogues, procedural textures and shapes against VIMA-Bench's values (reference §9, §12)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uio_agent.envs.tabletop.catalog import (
    ASYMMETRIC_OBJECTS,
    DEFAULT_BASE_TEXTURES,
    DEFAULT_DRAGGED_TEXTURES,
    OBJECTS,
    TEXTURES,
    darker,
)
from uio_agent.envs.tabletop.shapes import FLAT_SHAPES, build_geometry
from uio_agent.envs.tabletop.textures import IMAGE_MEANS, texture_image


def test_texture_catalogue_has_vimas_82_names_and_colours():
    assert len(TEXTURES) == 82
    plain = [t for t in TEXTURES.values() if t.color_value is not None]
    assert len(plain) == 17
    assert np.allclose(np.asarray(TEXTURES["red"].color_value) * 255, (255, 87, 89))
    assert np.allclose(np.asarray(TEXTURES["olive"].color_value) * 255, (128, 128, 0))
    assert "dark olive" not in TEXTURES
    # dark = HSV value lowered by 0.3: red (v = 1) keeps its hue and saturation at v = 0.7
    assert np.allclose(TEXTURES["dark red"].color_value, darker(TEXTURES["red"].color_value))
    assert math.isclose(max(TEXTURES["dark red"].color_value), 0.7)
    for name in ("dark green and purple polka dot", "blue paisley", "dark purple swirl", "rainbow"):
        assert name in TEXTURES
    assert "dark blue paisley" not in TEXTURES  # paisleys have no dark variant


def test_default_texture_pools_split_the_light_entries_in_enum_order():
    assert len(DEFAULT_DRAGGED_TEXTURES) == 24 and len(DEFAULT_BASE_TEXTURES) == 25
    assert DEFAULT_DRAGGED_TEXTURES[0] == "brick" and DEFAULT_BASE_TEXTURES[-1] == "olive"
    assert not any("dark" in n for n in DEFAULT_DRAGGED_TEXTURES + DEFAULT_BASE_TEXTURES)


@pytest.mark.parametrize("name", sorted(IMAGE_MEANS))
def test_image_textures_match_vimas_mean_colour(name):
    img = texture_image(name)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert np.allclose(img.reshape(-1, 3).mean(axis=0), IMAGE_MEANS[name], atol=4)
    assert img.reshape(-1, 3).std(axis=0).mean() > 5  # a pattern, not a flat colour


def test_two_colour_textures_use_both_colours():
    stripe = texture_image("red and yellow stripe").reshape(-1, 3).astype(float)
    assert np.allclose(stripe.mean(axis=0), (246, 144, 80), atol=6)  # VIMA's image mean (245, 144, 80)
    dark = texture_image("dark red and yellow stripe").reshape(-1, 3).mean(axis=0)
    assert (dark < stripe.mean(axis=0)).all()


def test_object_symmetries_and_asymmetric_set():
    assert math.isclose(OBJECTS["triangle"].symmetry, 2 * math.pi / 3)
    assert math.isclose(OBJECTS["hexagon"].symmetry, math.pi / 3)
    assert OBJECTS["round"].symmetry is None and OBJECTS["ring"].symmetry == 0
    assert ASYMMETRIC_OBJECTS == [
        "letter A",
        "letter E",
        "letter G",
        "letter M",
        "letter R",
        "letter T",
        "letter V",
        "heart",
        "L-shaped block",
    ]
    assert {n for n, s in OBJECTS.items() if s.fixed} == {
        "bowl",
        "pallet",
        "frame",
        "container",
        "square",
        "pan",
        "three-sided rectangle",  # the sweep zone and line (VIMA adds them as fixed, visual only)
        "line",
    }


def _convex(poly):
    pts = np.asarray(poly)
    edges = np.roll(pts, -1, axis=0) - pts
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return (cross >= -1e-9).all() or (cross <= 1e-9).all()


@pytest.mark.parametrize("name", sorted(FLAT_SHAPES))
def test_flat_shapes_are_convex_partitions_of_vima_size(name):
    pieces, _ = FLAT_SHAPES[name]
    assert all(_convex(p) for p in pieces)
    spec = OBJECTS[name]
    geo = build_geometry(name, spec.size_range.low)
    hx, hy, hz = geo.half_extents
    assert 0.085 <= 2 * max(hx, hy) <= 0.13  # reference §9.1: flat shapes about 0.09-0.126 m across
    assert math.isclose(2 * hz, spec.size_range.low[2])
    assert len(geo.hull_pieces) == len(pieces) and geo.visual is not None
    assert len(geo.visual.texcoords) == len(geo.visual.vertices)


def test_measured_sizes_of_bases_and_diamond():
    diamond = build_geometry("diamond", OBJECTS["diamond"].size_range.low).half_extents
    assert np.allclose(sorted([2 * diamond[0], 2 * diamond[1]]), [0.102, 0.126], atol=0.003)
    assert np.isclose(2 * build_geometry("frame", (0.225, 0.225, 0)).half_extents[0], 0.18)
    assert np.isclose(2 * build_geometry("square", (0.2, 0.04, 0.001)).half_extents[0], 0.24)
    pallet = build_geometry("pallet", OBJECTS["pallet"].size_range.low).half_extents
    assert np.allclose(2 * np.asarray(pallet), (0.22, 0.18, 0.03))
    pan = build_geometry("pan", OBJECTS["pan"].size_range.low).half_extents
    assert np.isclose(2 * pan[0], 0.30) and np.isclose(2 * pan[1], 0.175)
