"""Territory geometry: fences from GeoJSON, validation, and point → territory.

Pure: shapely 2 and numpy, no database, no HTTP, nothing of ours. The
wiring (``crm``, ``api``) calls what is exported here.
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
