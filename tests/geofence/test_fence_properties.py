"""Property tests (hypothesis) for the guarantees the dispatcher relies on."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from geofence import (
    FenceError,
    FenceIndex,
    FenceItem,
    area_km2,
    fence_to_geojson,
    parse_fence,
)

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# A small city-sized frame so areas and coordinates look like real districts.
LON0, LAT0, SPAN = 2.3, 48.8, 0.1

unit = st.floats(0.0, 1.0, allow_nan=False)
inner = st.floats(0.02, 0.98, allow_nan=False)


def lon_of(u: float) -> float:
    return LON0 + u * SPAN


def lat_of(v: float) -> float:
    return LAT0 + v * SPAN


def winner(items: list[FenceItem], covering: list[FenceItem]) -> int:
    """The documented rule: priority desc, area asc (to the m²), id asc."""
    best = min(
        covering, key=lambda i: (-i.priority, round(area_km2(i.geometry), 6), i.territory_id)
    )
    return best.territory_id


@st.composite
def star_polygon(draw: st.DrawFn, n_min: int = 3, n_max: int = 24) -> Polygon:
    """A random simple star-shaped polygon inside the frame."""
    n = draw(st.integers(n_min, n_max))
    cx, cy = draw(st.floats(0.3, 0.7)), draw(st.floats(0.3, 0.7))
    angles = sorted(
        draw(st.lists(st.floats(0, 2 * math.pi - 1e-3), min_size=n, max_size=n, unique=True))
    )
    radii = draw(st.lists(st.floats(0.02, 0.25), min_size=n, max_size=n))
    ring = [
        (lon_of(cx + r * math.cos(a)), lat_of(cy + r * math.sin(a)))
        for a, r in zip(angles, radii, strict=True)
    ]
    polygon = Polygon(ring)
    if not polygon.is_valid or polygon.area == 0:
        polygon = shapely.box(
            lon_of(cx - 0.1), lat_of(cy - 0.1), lon_of(cx + 0.1), lat_of(cy + 0.1)
        )
    return polygon


@st.composite
def random_box(draw: st.DrawFn) -> Polygon:
    u0, u1 = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    v0, v1 = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    return shapely.box(lon_of(u0), lat_of(v0), lon_of(u1), lat_of(v1))


# ------------------------------------------------------- exactly-one, oracle


@st.composite
def cut_grid(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Random cut positions splitting the frame into a grid of cells."""
    xs = sorted(draw(st.lists(st.floats(0.05, 0.95), min_size=1, max_size=5, unique=True)))
    ys = sorted(draw(st.lists(st.floats(0.05, 0.95), min_size=1, max_size=5, unique=True)))
    # Cells need an interior to draw from: adjacent floats (0.05 and the next one up)
    # leave none.
    for cuts in (xs, ys):
        assume(all(b - a > 1e-6 for a, b in itertools.pairwise(cuts)))
    return [0.0, *xs, 1.0], [0.0, *ys, 1.0]


@PROPERTY_SETTINGS
@given(grid=cut_grid(), data=st.data())
def test_point_strictly_inside_exactly_one_fence_maps_to_it(
    grid: tuple[list[float], list[float]], data: st.DataObject
) -> None:
    """In a tessellation, a point strictly inside one cell (on no border) maps to that cell."""
    xs, ys = grid
    items, expected, lats, lons = [], [], [], []
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            tid = len(items)
            items.append(
                FenceItem(
                    tid,
                    shapely.box(lon_of(xs[i]), lat_of(ys[j]), lon_of(xs[i + 1]), lat_of(ys[j + 1])),
                )
            )
            u = data.draw(st.floats(xs[i], xs[i + 1], exclude_min=True, exclude_max=True))
            v = data.draw(st.floats(ys[j], ys[j + 1], exclude_min=True, exclude_max=True))
            lon, lat = lon_of(u), lat_of(v)
            if not shapely.contains_properly(items[-1].geometry, shapely.Point(lon, lat)):
                continue  # rounding put it on the border; that is the other test
            expected.append(tid)
            lats.append(lat)
            lons.append(lon)
    random.Random(len(items)).shuffle(items)
    assert FenceIndex(items).assign(lat=lats, lon=lons).tolist() == expected


@PROPERTY_SETTINGS
@given(
    shapes=st.lists(st.one_of(star_polygon(), random_box()), min_size=1, max_size=6),
    priorities=st.lists(st.integers(-2, 2), min_size=6, max_size=6),
    points=st.lists(st.tuples(unit, unit), min_size=1, max_size=40),
)
def test_assignment_matches_the_documented_rule(
    shapes: list[Polygon], priorities: list[int], points: list[tuple[float, float]]
) -> None:
    """Any fences, any points: the id is the covering fence of highest priority, then
    smallest area, then lowest id; -1 when none covers the point."""
    items = [FenceItem(10 + i, s, priorities[i]) for i, s in enumerate(shapes) if s.area > 0]
    lats = [lat_of(v) for _, v in points]
    lons = [lon_of(u) for u, _ in points]
    got = FenceIndex(items).assign(lat=lats, lon=lons).tolist()
    for lat, lon, tid in zip(lats, lons, got, strict=True):
        covering = [i for i in items if shapely.intersects(i.geometry, shapely.Point(lon, lat))]
        assert tid == (winner(items, covering) if covering else -1)


@PROPERTY_SETTINGS
@given(
    a=random_box(),
    b=random_box(),
    pa=st.integers(0, 3),
    pb=st.integers(0, 3),
)
def test_overlap_goes_to_higher_priority(a: Polygon, b: Polygon, pa: int, pb: int) -> None:
    """A point in the overlap of two fences goes to the higher priority one (then smaller)."""
    overlap = a.intersection(b)
    assume(overlap.area > 0)
    point = overlap.representative_point()
    items = [FenceItem(1, a, pa), FenceItem(2, b, pb)]
    got = FenceIndex(items).lookup(lat=point.y, lon=point.x)
    if pa != pb:
        assert got == (1 if pa > pb else 2)
    else:
        assert got == winner(items, items)


# ------------------------------------------------------------ shared borders


@st.composite
def split_frame(draw: st.DrawFn) -> tuple[Polygon, Polygon, list[tuple[float, float]]]:
    """The frame split in two along a random zig-zag from bottom to top.

    Returns the left and right fences and the border's vertices (lon, lat),
    which both fences share exactly.
    """
    k = draw(st.integers(1, 8))
    ys = sorted(draw(st.lists(st.floats(0.01, 0.99), min_size=k, max_size=k, unique=True)))
    vs = [0.0, *ys, 1.0]
    us = draw(st.lists(st.floats(0.1, 0.9), min_size=len(vs), max_size=len(vs)))
    border = [(lon_of(u), lat_of(v)) for u, v in zip(us, vs, strict=True)]
    left = Polygon([(lon_of(0), lat_of(0)), *border, (lon_of(0), lat_of(1))])
    right = Polygon([border[0], (lon_of(1), lat_of(0)), (lon_of(1), lat_of(1)), *border[::-1]])
    return left, right, border


@PROPERTY_SETTINGS
@given(
    split=split_frame(),
    t=st.lists(unit, min_size=1, max_size=10),
    priorities=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    ids=st.tuples(st.integers(0, 1000), st.integers(1001, 2000)),
    seed=st.integers(0, 1000),
)
def test_border_point_maps_to_exactly_one_deterministically(
    split: tuple[Polygon, Polygon, list[tuple[float, float]]],
    t: list[float],
    priorities: tuple[int, int],
    ids: tuple[int, int],
    seed: int,
) -> None:
    """A point on the border two fences share maps to one of the two, the same one
    whatever the item order; on a shared vertex, to the tie-break winner."""
    left, right, border = split
    items = [FenceItem(ids[0], left, priorities[0]), FenceItem(ids[1], right, priorities[1])]
    lons, lats = [], []
    for i, frac in enumerate(t):
        (x0, y0), (x1, y1) = border[i % (len(border) - 1)], border[i % (len(border) - 1) + 1]
        lons.append(x0 + frac * (x1 - x0))
        lats.append(y0 + frac * (y1 - y0))
    first = FenceIndex(items).assign(lat=lats, lon=lons)
    random.Random(seed).shuffle(items)
    again = FenceIndex(items).assign(lat=lats, lon=lons)
    assert set(first.tolist()) <= set(ids)
    assert np.array_equal(first, again)

    # Interior vertices of the border are exactly on both fences.
    vertex_lons = [x for x, _ in border[1:-1]]
    vertex_lats = [y for _, y in border[1:-1]]
    expected = winner(items, items)
    got = FenceIndex(items).assign(lat=vertex_lats, lon=vertex_lons).tolist()
    assert got == [expected] * len(vertex_lats)


# -------------------------------------------------------------------- holes


@PROPERTY_SETTINGS
@given(
    hole=st.tuples(
        st.floats(0.2, 0.45), st.floats(0.55, 0.8), st.floats(0.2, 0.45), st.floats(0.55, 0.8)
    ),
    at=st.tuples(st.floats(0.01, 0.99), st.floats(0.01, 0.99)),
    with_enclave=st.booleans(),
)
def test_holes_are_respected(
    hole: tuple[float, float, float, float], at: tuple[float, float], with_enclave: bool
) -> None:
    """A point strictly in a fence's hole never maps to that fence: it goes to the
    enclave filling the hole, or to none."""
    u0, u1, v0, v1 = hole
    hole_box = shapely.box(lon_of(u0), lat_of(v0), lon_of(u1), lat_of(v1))
    holed = Polygon(
        shapely.box(lon_of(0), lat_of(0), lon_of(1), lat_of(1)).exterior.coords,
        [hole_box.exterior.coords],
    )
    items = [FenceItem(1, holed)] + ([FenceItem(2, hole_box)] if with_enclave else [])
    index = FenceIndex(items)
    # A point inside the hole (mapped from `at` into the hole's interior).
    lon = lon_of(u0 + (u1 - u0) * at[0])
    lat = lat_of(v0 + (v1 - v0) * at[1])
    if shapely.contains_properly(hole_box, shapely.Point(lon, lat)):
        assert index.lookup(lat=lat, lon=lon) == (2 if with_enclave else None)
    # A point in the ring between the frame and the hole stays with the holed fence.
    assert index.lookup(lat=lat_of(0.1), lon=lon_of(0.1)) == 1


# ------------------------------------------------- winding, round trip, antimeridian


@PROPERTY_SETTINGS
@given(polygon=star_polygon(), clockwise=st.booleans())
def test_winding_is_normalised(polygon: Polygon, clockwise: bool) -> None:
    """Whatever the input winding, the fence's exterior comes out counter-clockwise
    and covers the same region."""
    oriented = shapely.orient_polygons(polygon, exterior_cw=clockwise)
    fence = parse_fence(shapely.geometry.mapping(oriented)).geometry
    assert fence.exterior.is_ccw
    assert fence.equals(polygon)


@PROPERTY_SETTINGS
@given(polygon=star_polygon(n_min=3, n_max=60))
def test_geojson_round_trip(polygon: Polygon) -> None:
    """GeoJSON → fence → GeoJSON → fence is stable: equal geometry, identical JSON."""
    first = fence_to_geojson(parse_fence(shapely.geometry.mapping(polygon)).geometry)
    second = fence_to_geojson(parse_fence(first).geometry)
    assert first == second
    assert shapely.geometry.shape(first).equals(polygon)


@PROPERTY_SETTINGS
@given(
    east=st.floats(150.0, 179.99),
    west=st.floats(-179.99, -150.0),
    lat=st.floats(-80.0, 79.0),
    reverse=st.booleans(),
)
def test_antimeridian_crossing_is_rejected(
    east: float, west: float, lat: float, reverse: bool
) -> None:
    """A fence spanning the ±180° line is rejected with crosses_antimeridian, whatever
    its winding."""
    ring = [[east, lat], [west, lat], [west, lat + 1], [east, lat + 1], [east, lat]]
    if reverse:
        ring = ring[::-1]
    with pytest.raises(FenceError) as info:
        parse_fence({"type": "Polygon", "coordinates": [ring]})
    assert info.value.code == "crosses_antimeridian"
