"""The coordinate-order helper: named lat/lon in, shapely x=lon out, and back."""

from __future__ import annotations

import numpy as np
import shapely

from geofence import Bounds, LatLon, bounds_of
from geofence.coords import (
    lat_lon_pair,
    latlon_columns,
    latlon_from_position,
    latlon_of_point,
    point,
    points,
    position,
    positions_from_xy,
    xy_arrays,
)

PARIS = LatLon(lat=48.8566, lon=2.3522)


def test_point_and_position_put_longitude_first() -> None:
    """Shapely points have x=lon; GeoJSON positions are [lon, lat]; both invert."""
    geometry = point(lat=PARIS.lat, lon=PARIS.lon)
    assert (geometry.x, geometry.y) == (PARIS.lon, PARIS.lat)
    assert latlon_of_point(geometry) == PARIS
    assert position(lat=PARIS.lat, lon=PARIS.lon) == [PARIS.lon, PARIS.lat]
    assert latlon_from_position([PARIS.lon, PARIS.lat, 35.0]) == PARIS


def test_folium_geopy_pair_is_latitude_first() -> None:
    """The (lat, lon) pair for folium/geopy is latitude first."""
    assert lat_lon_pair(PARIS) == (48.8566, 2.3522)


def test_vectorised_helpers() -> None:
    """xy_arrays/points/latlon_columns/positions_from_xy agree on which column is which."""
    lat, lon = np.array([48.0, 49.0]), np.array([2.0, 3.0])
    xy = xy_arrays(lat=lat, lon=lon)
    assert xy.x.tolist() == [2.0, 3.0] and xy.y.tolist() == [48.0, 49.0]
    geoms = points(lat=lat, lon=lon)
    assert shapely.get_x(geoms).tolist() == [2.0, 3.0]
    coords = shapely.get_coordinates(geoms)
    assert latlon_columns(coords).lat.tolist() == [48.0, 49.0]
    assert positions_from_xy(coords) == [[2.0, 48.0], [3.0, 49.0]]
    assert xy_arrays(lat=48.0, lon=lon).y.tolist() == [48.0, 48.0]  # broadcasting


def test_bounds_are_named_and_contain() -> None:
    """bounds_of names shapely's (minx, miny, ...) as lat/lon; contains tests points."""
    bounds = bounds_of(shapely.box(2.0, 48.0, 3.0, 49.0))
    assert bounds == Bounds(min_lat=48.0, min_lon=2.0, max_lat=49.0, max_lon=3.0)
    mask = bounds.contains(lat=[48.5, 48.5, 2.5, np.nan], lon=[2.5, 3.5, 48.5, 2.5])
    assert mask.tolist() == [True, False, False, False]
