"""Simplification for the map: fewer vertices, shared borders kept shared."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon

from geofence import simplify_for_display


def wiggly_pair() -> tuple[Polygon, Polygon]:
    """Two fences sharing a dense wiggly border (~1 m wiggles) with identical vertices."""
    n = 400
    lat = np.linspace(48.80, 48.90, n)
    lon = 2.35 + 0.00001 * np.sin(np.arange(n))
    border = list(zip(lon.tolist(), lat.tolist(), strict=True))
    west = Polygon([(2.30, 48.80), *border, (2.30, 48.90)])
    east = Polygon([border[0], (2.40, 48.80), (2.40, 48.90), *border[::-1]])
    return west, east


def test_coverage_is_simplified_together_keeping_borders_shared() -> None:
    """A valid coverage loses its small wiggles but stays gap- and overlap-free."""
    west, east = wiggly_pair()
    simple_west, simple_east = simplify_for_display([west, east], tolerance_m=10)
    assert shapely.get_num_coordinates(simple_west) < shapely.get_num_coordinates(west) / 10
    assert bool(shapely.coverage_is_valid(shapely.GeometryCollection([simple_west, simple_east])))
    assert simple_west.intersection(simple_east).area == 0
    assert simple_west.union(simple_east).area == west.union(east).area
    assert simple_west.exterior.is_ccw and simple_east.exterior.is_ccw


def test_overlapping_fences_are_simplified_one_by_one() -> None:
    """Overlapping fences (not a coverage) are each simplified, stay valid and non-empty."""
    west, _ = wiggly_pair()
    other = shapely.box(2.33, 48.82, 2.37, 48.88)
    result = simplify_for_display([west, other], tolerance_m=10)
    assert all(g.is_valid and not g.is_empty for g in result)
    assert shapely.get_num_coordinates(result[0]) < shapely.get_num_coordinates(west)


def test_tiny_fence_is_kept_rather_than_dropped() -> None:
    """A fence smaller than the tolerance is returned unchanged, never emptied."""
    tiny = shapely.box(2.35, 48.85, 2.35001, 48.85001)
    assert simplify_for_display([tiny], tolerance_m=1000)[0].area > 0
    assert simplify_for_display([]) == []
