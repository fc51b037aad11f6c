"""Territory geometry: fences from GeoJSON, validation, and point → territory.

Pure: shapely 2 and numpy, no database, no HTTP, nothing of ours. The
wiring (``crm``, ``api``) calls what is exported here, roughly so:

Create or edit a territory (``POST``/``PUT /territories``, ``?repair=true``)::

    fence = parse_fence(body, repair=repair)      # FenceError -> 422 error.as_dict()
    stored_geojson = fence_to_geojson(fence.geometry)
    name, colour, priority = fence.properties.get("name"), ...   # caller's schema
    # fence.repaired is not None -> tell the user what make_valid changed

Load all territories into an index (at start-up, and after each edit)::

    index = FenceIndex(
        FenceItem(territory_id=t.id, geometry=parse_fence(t.geojson).geometry,
                  priority=t.priority)
        for t in territories
    )

Look up (``GET /territories/lookup?lat=&lon=``, ``POST`` for a batch, a new site)::

    index.lookup(lat=lat, lon=lon)            # int | None
    index.assign(lat=lats, lon=lons)          # int64 array, -1 = no territory
    index.territories_at(lat=lat, lon=lon)    # every covering territory, winner first

Re-assign after a fence create / edit / delete, in one transaction::

    new_index = index.replaced(upsert=[FenceItem(...)], remove=[deleted_id])
    box = affected_bounds(old_geometry_or_None, new_geometry_or_None)
    # SELECT id, lat, lon, territory_id FROM site WHERE lat/lon within box
    new_ids = new_index.assign(lat=site_lats, lon=site_lons)
    diff = diff_assignment(as_territory_ids(stored_ids), new_ids)
    # UPDATE only rows at diff.moved_indices; respond with diff.as_dict()

Coverage gaps, export, planning, map::

    coverage_gaps(ids)                        # positions with no territory
    feature_collection(fence_to_feature(g, properties=..., feature_id=tid) ...)
    # served as GEOJSON_MEDIA_TYPE ("application/geo+json")
    index.touching_groups(tolerance_m=20)     # territories to plan together
    simplify_for_display(fences, tolerance_m=10)

Coordinates cross into and out of shapely/GeoJSON only in
:mod:`geofence.coords`. Fences crossing the antimeridian are not supported
(rejected with ``crosses_antimeridian``).
"""

from geofence.assignment import (
    AssignmentDiff,
    Move,
    affected_bounds,
    as_territory_ids,
    coverage_gaps,
    diff_assignment,
)
from geofence.coords import XY, Bounds, LatLon, LatLonArrays, bounds_of
from geofence.display import simplify_for_display
from geofence.errors import ERROR_CODES, FenceError
from geofence.fence import (
    GEOJSON_MEDIA_TYPE,
    Fence,
    FenceGeometry,
    feature_collection,
    fence_from_shapely,
    fence_to_feature,
    fence_to_geojson,
    parse_fence,
    parse_fences,
)
from geofence.index import NO_TERRITORY, FenceIndex, FenceItem
from geofence.measure import area_km2, areas_km2, metres_to_degrees

__all__ = [
    "ERROR_CODES",
    "GEOJSON_MEDIA_TYPE",
    "NO_TERRITORY",
    "XY",
    "AssignmentDiff",
    "Bounds",
    "Fence",
    "FenceError",
    "FenceGeometry",
    "FenceIndex",
    "FenceItem",
    "LatLon",
    "LatLonArrays",
    "Move",
    "affected_bounds",
    "area_km2",
    "areas_km2",
    "as_territory_ids",
    "bounds_of",
    "coverage_gaps",
    "diff_assignment",
    "feature_collection",
    "fence_from_shapely",
    "fence_to_feature",
    "fence_to_geojson",
    "metres_to_degrees",
    "parse_fence",
    "parse_fences",
    "simplify_for_display",
]
