"""Lighter fences for drawing on the dispatcher's map.

A district fence of 500 vertices drawn 2,000 times makes a slow page; a few
metres of detail are invisible at city zoom. Simplified fences are for
display only: lookups always use the full fences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from geofence.coords import bounds_of
from geofence.fence import FenceGeometry
from geofence.measure import metres_to_degrees

__all__ = ["simplify_for_display"]


def simplify_for_display(
    fences: Sequence[FenceGeometry], *, tolerance_m: float = 10.0
) -> list[FenceGeometry]:
    """Return simplified copies of fences for a map, keeping shared borders shared.

    Simplifying each fence on its own moves a shared border differently on
    each side, drawing slivers of gap and overlap between neighbours that do
    not exist. When the fences form a valid coverage (no overlaps, borders
    with identical vertices) they are simplified together with GEOS coverage
    simplification, which keeps every shared border shared; otherwise each
    fence is simplified on its own (Douglas–Peucker, topology preserving).

    Parameters
    ----------
    fences : sequence of Polygon or MultiPolygon
        Lon/lat fences.
    tolerance_m : float, default 10
        Roughly the largest detail removed, in metres (converted to degrees at
        the fences' mid latitude).

    Returns
    -------
    list of Polygon or MultiPolygon
        Same order and length. A fence whose simplification would be empty or
        invalid is returned unchanged, so every territory stays on the map.
    """
    if not fences:
        return []
    geometries = np.array(fences, dtype=object)
    box = bounds_of(shapely.geometrycollections(list(fences)))
    tolerance = metres_to_degrees(tolerance_m, lat=(box.min_lat + box.max_lat) / 2)
    if len(fences) > 1 and bool(shapely.coverage_is_valid(shapely.GeometryCollection(fences))):
        simplified = shapely.coverage_simplify(geometries, tolerance)
    else:
        simplified = shapely.simplify(geometries, tolerance, preserve_topology=True)
    result: list[FenceGeometry] = []
    for original, candidate in zip(fences, simplified.tolist(), strict=True):
        usable = (
            isinstance(candidate, shapely.Polygon | shapely.MultiPolygon)
            and not candidate.is_empty
            and candidate.is_valid
        )
        result.append(shapely.orient_polygons(candidate, exterior_cw=False) if usable else original)
    return result
