"""FenceIndex: point → territory, overlaps, borders, holes, edits, neighbours."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

import geofence.index
from geofence import NO_TERRITORY, FenceError, FenceIndex, FenceItem


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> Polygon:
    return shapely.box(min_lon, min_lat, max_lon, max_lat)


WEST = FenceItem(territory_id=1, geometry=box(2.0, 48.0, 2.1, 48.1))
EAST = FenceItem(territory_id=2, geometry=box(2.1, 48.0, 2.2, 48.1))


def test_points_inside_outside_and_single_lookup() -> None:
    """Points map to the fence containing them, -1 outside; lookup returns None outside."""
    index = FenceIndex([WEST, EAST])
    ids = index.assign(lat=[48.05, 48.05, 48.5], lon=[2.05, 2.15, 2.05])
    assert ids.tolist() == [1, 2, NO_TERRITORY]
    assert ids.dtype == np.int64
    assert index.lookup(lat=48.05, lon=2.15) == 2
    assert index.lookup(lat=48.5, lon=2.05) is None


def test_lat_and_lon_are_not_swapped() -> None:
    """A fence far from the diagonal is found only with lat/lon in their named roles."""
    index = FenceIndex([FenceItem(5, box(10.0, 50.0, 11.0, 51.0))])
    assert index.lookup(lat=50.5, lon=10.5) == 5
    assert index.lookup(lat=10.5, lon=50.5) is None


def test_shared_border_point_goes_to_exactly_one_deterministically() -> None:
    """Equal priority and area: a point on the shared border goes to the lower id."""
    index = FenceIndex([EAST, WEST])
    assert index.lookup(lat=48.05, lon=2.1) == 1
    assert FenceIndex([WEST, EAST]).lookup(lat=48.05, lon=2.1) == 1
    assert index.territories_at(lat=48.05, lon=2.1) == [1, 2]


def test_outer_boundary_counts_as_inside() -> None:
    """A point on a fence's outer edge or corner is in it (covers semantics)."""
    index = FenceIndex([WEST])
    assert index.assign(lat=[48.0, 48.1], lon=[2.0, 2.05]).tolist() == [1, 1]


def test_priority_beats_area_and_area_beats_id() -> None:
    """Overlap: higher priority wins; equal priority, smaller area; then lower id."""
    big = FenceItem(1, box(0, 0, 10, 10), priority=5)
    small = FenceItem(2, box(4, 4, 6, 6), priority=0)
    assert FenceIndex([big, small]).lookup(lat=5, lon=5) == 1
    big0 = FenceItem(1, box(0, 0, 10, 10), priority=0)
    assert FenceIndex([big0, small]).lookup(lat=5, lon=5) == 2
    twin = FenceItem(3, box(4, 4, 6, 6), priority=0)
    assert FenceIndex([twin, small, big0]).lookup(lat=5, lon=5) == 2
    assert FenceIndex([twin, small, big0]).territories_at(lat=5, lon=5) == [2, 3, 1]


def test_same_shape_drawn_differently_ties_to_lower_id() -> None:
    """Two copies of one shape (other start vertex, other winding) tie on area: lower id."""
    shape = shapely.Point(2.35, 48.85).buffer(0.01)
    coords = list(shape.exterior.coords)[:-1]
    redrawn = Polygon((coords[7:] + coords[:7])[::-1])
    for first, second in ((5, 6), (6, 5)):
        index = FenceIndex([FenceItem(first, shape), FenceItem(second, redrawn)])
        assert index.lookup(lat=48.85, lon=2.35) == 5


def test_negative_priority_loses_to_default() -> None:
    """A fence with priority -1 (a fallback region) loses to any default fence."""
    fallback = FenceItem(1, box(0, 0, 10, 10), priority=-1)
    bigger = FenceItem(2, box(-1, -1, 11, 11))
    assert FenceIndex([fallback, bigger]).lookup(lat=5, lon=5) == 2


def test_hole_is_respected_and_enclave_wins_inside_it() -> None:
    """A point in a fence's hole is not in that fence; an enclave filling the hole gets it."""
    holed = FenceItem(
        1, Polygon(box(0, 0, 10, 10).exterior.coords, [box(4, 4, 6, 6).exterior.coords])
    )
    enclave = FenceItem(2, box(4, 4, 6, 6))
    assert FenceIndex([holed]).lookup(lat=5, lon=5) is None
    assert FenceIndex([holed, enclave]).lookup(lat=5, lon=5) == 2
    assert FenceIndex([holed, enclave]).lookup(lat=1, lon=1) == 1


def test_multipolygon_fence() -> None:
    """Both parts of a MultiPolygon fence belong to its territory, the gap to none."""
    multi = FenceItem(9, MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)]))
    index = FenceIndex([multi])
    assert index.assign(lat=[0.5, 0.5, 0.5], lon=[0.5, 2.5, 1.5]).tolist() == [9, 9, -1]


def test_non_finite_points_are_unassigned() -> None:
    """NaN or infinite coordinates give -1 rather than an error (a site without coordinates)."""
    index = FenceIndex([WEST])
    ids = index.assign(lat=[np.nan, 48.05, np.inf], lon=[2.05, np.nan, 2.05])
    assert ids.tolist() == [-1, -1, -1]
    assert index.lookup(lat=np.nan, lon=2.05) is None
    assert index.territories_at(lat=np.nan, lon=2.05) == []


def test_shape_is_preserved_and_empty_inputs() -> None:
    """2-D inputs give 2-D outputs; no points or no fences give all -1."""
    index = FenceIndex([WEST])
    lat = np.full((2, 3), 48.05)
    assert index.assign(lat=lat, lon=np.full((2, 3), 2.05)).shape == (2, 3)
    assert index.assign(lat=[], lon=[]).shape == (0,)
    assert FenceIndex([]).assign(lat=[48.05], lon=[2.05]).tolist() == [-1]
    assert FenceIndex([]).bounds is None
    assert len(FenceIndex([])) == 0


def test_chunk_boundaries_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups split into chunks give the same answer as one pass."""
    rng = np.random.default_rng(1)
    lat = rng.uniform(47.99, 48.11, 1000)
    lon = rng.uniform(1.99, 2.21, 1000)
    index = FenceIndex([WEST, EAST])
    whole = index.assign(lat=lat, lon=lon)
    monkeypatch.setattr(geofence.index, "_CHUNK", 7)
    assert np.array_equal(index.assign(lat=lat, lon=lon), whole)


def test_vectorised_matches_single_lookups() -> None:
    """assign over many points equals lookup one point at a time."""
    rng = np.random.default_rng(2)
    items = [
        FenceItem(
            i, shapely.Point(rng.uniform(0, 1), rng.uniform(0, 1)).buffer(0.2), priority=i % 3
        )
        for i in range(20)
    ]
    index = FenceIndex(items)
    lat, lon = rng.uniform(-0.2, 1.2, 300), rng.uniform(-0.2, 1.2, 300)
    singles = [index.lookup(lat=a, lon=o) for a, o in zip(lat, lon, strict=True)]
    assert index.assign(lat=lat, lon=lon).tolist() == [-1 if s is None else s for s in singles]


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([WEST, FenceItem(1, box(5, 5, 6, 6))], "duplicate_territory"),
        ([FenceItem(-1, box(5, 5, 6, 6))], "bad_territory_id"),
        ([FenceItem(True, box(5, 5, 6, 6))], "bad_territory_id"),
        ([FenceItem(3, shapely.Point(0, 0))], "wrong_type"),  # type: ignore[arg-type]
        ([FenceItem(3, Polygon())], "empty_geometry"),
        ([FenceItem(3, Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))], "invalid_geometry"),
        ([FenceItem(3, box(5, 5, 6, 6), priority=1.5)], "bad_priority"),  # type: ignore[arg-type]
    ],
)
def test_bad_items_are_rejected(items: list[FenceItem], code: str) -> None:
    """Duplicate or negative ids, fractional priorities, and non-polygon, empty or
    invalid fences raise FenceError."""
    with pytest.raises(FenceError) as info:
        FenceIndex(items)
    assert info.value.code == code


def test_inspection() -> None:
    """Iteration is in rank order; item, area_km2, contains and ids are exposed."""
    small = FenceItem(3, box(2.0, 48.0, 2.01, 48.01))
    index = FenceIndex([WEST, small, EAST])
    assert [item.territory_id for item in index] == [3, 1, 2]
    assert index.territory_ids.tolist() == [3, 1, 2]
    assert index.item(2) is EAST
    assert 2 in index and 7 not in index
    assert index.area_km2(3) == pytest.approx(1.11 * 0.74, rel=0.02)
    bounds = index.bounds
    assert bounds is not None
    assert (bounds.min_lat, bounds.min_lon, bounds.max_lat, bounds.max_lon) == (
        48.0,
        2.0,
        48.1,
        2.2,
    )


def test_replaced_upserts_and_removes_without_touching_the_original() -> None:
    """replaced() returns a new index; the old one still answers as before."""
    index = FenceIndex([WEST, EAST])
    wider_west = FenceItem(1, box(2.0, 48.0, 2.15, 48.1), priority=1)
    edited = index.replaced(upsert=[wider_west], remove=[2, 99])
    assert len(edited) == 1
    assert edited.lookup(lat=48.05, lon=2.12) == 1
    assert index.lookup(lat=48.05, lon=2.12) == 2


def test_pickle_round_trip_keeps_answers() -> None:
    """An index sent to a worker process answers the same (fences re-prepared)."""
    index = FenceIndex([WEST, EAST])
    clone = pickle.loads(pickle.dumps(index))
    lat, lon = [48.05, 48.05, 48.05], [2.05, 2.1, 2.15]
    assert clone.assign(lat=lat, lon=lon).tolist() == index.assign(lat=lat, lon=lon).tolist()


def test_touching_pairs_and_groups() -> None:
    """Touching or overlapping fences pair up; groups are their connected components."""
    north = FenceItem(3, box(2.0, 48.1, 2.1, 48.2))  # touches WEST along lat 48.1
    island = FenceItem(4, box(3.0, 48.0, 3.1, 48.1))
    near_island = FenceItem(5, box(3.1001, 48.0, 3.2, 48.1))  # ~7 m east of island
    index = FenceIndex([WEST, EAST, north, island, near_island])
    assert index.touching_pairs() == [(1, 2), (1, 3), (2, 3)]
    assert index.touching_groups() == [[1, 2, 3], [4], [5]]
    assert (4, 5) in index.touching_pairs(tolerance_m=20)
    assert index.touching_groups(tolerance_m=20) == [[1, 2, 3], [4, 5]]
    assert FenceIndex([WEST]).touching_pairs() == []
