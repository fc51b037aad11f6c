"""Re-assignment helpers: who moved where, coverage gaps, the affected region."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geofence import (
    NO_TERRITORY,
    FenceIndex,
    FenceItem,
    Move,
    affected_bounds,
    as_territory_ids,
    coverage_gaps,
    diff_assignment,
)


def test_diff_counts_moves_per_pair_largest_first() -> None:
    """Moves are counted per (from, to); None stands for no territory; unmoved are not listed."""
    old = [1, 1, 1, 2, None, -1, 3]
    new = [2, 2, 1, 3, 3, 3, None]
    diff = diff_assignment(old, new)
    assert diff.total == 7
    assert diff.moved == 6
    assert diff.moves == (
        Move(from_territory=None, to_territory=3, count=2),
        Move(from_territory=1, to_territory=2, count=2),
        Move(from_territory=2, to_territory=3, count=1),
        Move(from_territory=3, to_territory=None, count=1),
    )
    assert diff.moved_indices.tolist() == [0, 1, 3, 4, 5, 6]
    assert diff.as_dict()["moves"][0] == {"from": None, "to": 3, "count": 2}


def test_diff_of_identical_assignments_is_empty() -> None:
    """Nothing moved: zero moves, no indices."""
    diff = diff_assignment(np.array([1, 2, -1]), np.array([1, 2, -1]))
    assert (diff.moved, diff.moves, diff.moved_indices.size) == (0, (), 0)
    assert diff_assignment([], []).total == 0


def test_diff_rejects_different_lengths() -> None:
    """Comparing assignments of different point sets is a ValueError."""
    with pytest.raises(ValueError, match="entries"):
        diff_assignment([1, 2], [1])


def test_as_territory_ids_maps_none_to_minus_one() -> None:
    """Nullable database ids become int64 with -1; floats are refused."""
    assert as_territory_ids([3, None, 5]).tolist() == [3, -1, 5]
    assert as_territory_ids(np.array([1, 2], dtype=np.int32)).dtype == np.int64
    with pytest.raises(TypeError):
        as_territory_ids([1.5, 2.0])


def test_coverage_gaps_lists_unassigned_positions() -> None:
    """coverage_gaps returns the indices of points outside every fence."""
    assert coverage_gaps([1, -1, 2, None, -1]).tolist() == [1, 3, 4]


def test_affected_bounds_spans_old_and_new_fence() -> None:
    """The affected box covers both versions of an edited fence; None if neither exists."""
    before = shapely.box(2.0, 48.0, 2.1, 48.1)
    after = shapely.box(2.05, 48.05, 2.2, 48.15)
    bounds = affected_bounds(before, after)
    assert bounds is not None
    assert (bounds.min_lat, bounds.min_lon, bounds.max_lat, bounds.max_lon) == (
        48.0,
        2.0,
        48.15,
        2.2,
    )
    assert affected_bounds(None, after) == affected_bounds(after, None)
    assert affected_bounds(None, None) is None


def test_edit_reassigns_only_the_affected_sites_with_the_same_result() -> None:
    """Re-assigning only sites in the affected box gives the same diff as all sites."""
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(48.0, 48.3, 5000), rng.uniform(2.0, 2.3, 5000)
    items = [
        FenceItem(i * 3 + j, shapely.box(2 + 0.1 * i, 48 + 0.1 * j, 2.1 + 0.1 * i, 48.1 + 0.1 * j))
        for i in range(3)
        for j in range(3)
    ]
    old_index = FenceIndex(items)
    old_ids = old_index.assign(lat=lat, lon=lon)
    before = old_index.item(4).geometry
    edited = FenceItem(4, shapely.box(2.08, 48.08, 2.25, 48.22), priority=1)
    new_index = old_index.replaced(upsert=[edited])

    full = diff_assignment(old_ids, new_index.assign(lat=lat, lon=lon))
    bounds = affected_bounds(before, edited.geometry)
    assert bounds is not None
    mask = bounds.contains(lat=lat, lon=lon)
    partial_new = old_ids.copy()
    partial_new[mask] = new_index.assign(lat=lat[mask], lon=lon[mask])
    partial = diff_assignment(old_ids, partial_new)
    assert partial.moves == full.moves
    assert full.moved > 0
    assert all(m.to_territory == 4 for m in full.moves)
    assert NO_TERRITORY not in new_index.territory_ids
