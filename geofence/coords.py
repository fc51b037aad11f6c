"""The one place where coordinate order is decided.

The product passes WGS 84 coordinates as named fields (``lat=…, lon=…``).
GeoJSON positions and shapely points are ``[lon, lat]`` / ``x=lon, y=lat``
by their standards; folium and geopy take ``(lat, lon)``. Every conversion
between those worlds goes through a function here, so a swapped pair can only
be introduced (and fixed) in one file. Nothing else in ``geofence`` indexes a
position with ``[0]``/``[1]`` or builds a point from positional coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "XY",
    "Bounds",
    "LatLon",
    "LatLonArrays",
    "bounds_of",
    "lat_lon_pair",
    "latlon_columns",
    "latlon_from_position",
    "latlon_of_point",
    "point",
    "points",
    "position",
    "positions_from_xy",
    "xy_arrays",
    "xy_from_positions",
]


class XY(NamedTuple):
    """Coordinate arrays in shapely's convention: ``x`` is lon, ``y`` is lat."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]


class LatLonArrays(NamedTuple):
    """Coordinate arrays in the product's convention, by name."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS 84 location with named fields, the product's way to pass a point."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Bounds:
    """A latitude/longitude box, e.g. the region a fence edit can affect.

    Named fields because shapely's ``(minx, miny, maxx, maxy)`` reads as
    ``(min_lon, min_lat, ...)``, which is exactly the order people get wrong
    when writing ``WHERE lat BETWEEN ...`` against the sites table.
    """

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def contains(self, *, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """Return a boolean mask of the points inside the box (edges included).

        Parameters
        ----------
        lat, lon : array_like
            Point coordinates in degrees, broadcastable against each other.

        Returns
        -------
        numpy.ndarray of bool
            ``True`` where ``min_lat <= lat <= max_lat`` and likewise for lon;
            ``False`` for NaN.
        """
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        inside: NDArray[np.bool_] = (
            (lat_a >= self.min_lat)
            & (lat_a <= self.max_lat)
            & (lon_a >= self.min_lon)
            & (lon_a <= self.max_lon)
        )
        return inside


def bounds_of(geometry: BaseGeometry) -> Bounds:
    """Return the lat/lon box of a shapely geometry (``x`` is longitude).

    Parameters
    ----------
    geometry : shapely geometry
        A non-empty geometry in lon/lat coordinates.

    Returns
    -------
    Bounds
        Its envelope with named fields.
    """
    min_x, min_y, max_x, max_y = shapely.bounds(geometry).tolist()
    return Bounds(min_lat=min_y, min_lon=min_x, max_lat=max_y, max_lon=max_x)


def point(*, lat: float, lon: float) -> shapely.Point:
    """Return the shapely point for a location (``x=lon, y=lat``).

    Parameters
    ----------
    lat, lon : float
        Degrees, WGS 84.

    Returns
    -------
    shapely.Point
    """
    return shapely.Point(lon, lat)


def points(*, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.object_]:
    """Return an array of shapely points for many locations at once.

    Parameters
    ----------
    lat, lon : array_like
        Degrees, WGS 84, broadcastable against each other.

    Returns
    -------
    numpy.ndarray of shapely.Point
    """
    xy = xy_arrays(lat=lat, lon=lon)
    result: NDArray[np.object_] = shapely.points(xy.x, xy.y)
    return result


def xy_arrays(*, lat: ArrayLike, lon: ArrayLike) -> XY:
    """Return float64 arrays in shapely's convention, ``x=lon``, ``y=lat``.

    This is the single crossing from named coordinates to shapely's x/y for
    vectorised predicates such as ``shapely.intersects_xy``.

    Parameters
    ----------
    lat, lon : array_like
        Degrees, WGS 84, broadcastable against each other.

    Returns
    -------
    XY
        Contiguous float64 arrays ``x`` (longitudes) and ``y`` (latitudes).
    """
    lat_a, lon_a = np.broadcast_arrays(
        np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    )
    return XY(x=np.ascontiguousarray(lon_a), y=np.ascontiguousarray(lat_a))


def latlon_columns(xy: NDArray[np.float64]) -> LatLonArrays:
    """Name the columns of an ``(n, 2)`` shapely/GeoJSON coordinate array.

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2) or (n, 3)
        Rows ``[lon, lat(, alt)]`` as shapely's ``get_coordinates`` and GeoJSON
        positions have them.

    Returns
    -------
    LatLonArrays
        Views of the latitude and longitude columns.
    """
    return LatLonArrays(lat=xy[:, 1], lon=xy[:, 0])


def xy_from_positions(positions: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the ``(n, 2)`` shapely coordinates of an array of GeoJSON positions.

    GeoJSON ``[lon, lat]`` already is shapely's ``(x, y)``; this drops any
    altitude column and documents that the identity is deliberate.

    Parameters
    ----------
    positions : numpy.ndarray, shape (n, 2) or (n, 3)

    Returns
    -------
    numpy.ndarray, shape (n, 2), contiguous float64
    """
    return np.ascontiguousarray(positions[:, :2], dtype=np.float64)


def positions_from_xy(xy: NDArray[np.float64]) -> list[list[float]]:
    """Return GeoJSON positions ``[[lon, lat], ...]`` from shapely coordinates.

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2)
        Shapely coordinates (``x=lon``).

    Returns
    -------
    list of list of float
        JSON-ready positions (lists, not tuples).
    """
    result: list[list[float]] = np.asarray(xy, dtype=np.float64)[:, :2].tolist()
    return result


def latlon_of_point(geometry: shapely.Point) -> LatLon:
    """Return the named location of a shapely point (``y`` is the latitude).

    Parameters
    ----------
    geometry : shapely.Point

    Returns
    -------
    LatLon
    """
    return LatLon(lat=float(geometry.y), lon=float(geometry.x))


def latlon_from_position(pos: Sequence[float]) -> LatLon:
    """Return the named location of a GeoJSON position ``[lon, lat(, alt)]``.

    Parameters
    ----------
    pos : sequence of float
        A GeoJSON position (RFC 7946 §3.1.1); altitude, if any, is ignored.

    Returns
    -------
    LatLon
    """
    return LatLon(lat=float(pos[1]), lon=float(pos[0]))


def position(*, lat: float, lon: float) -> list[float]:
    """Return the GeoJSON position ``[lon, lat]`` for a location.

    Parameters
    ----------
    lat, lon : float
        Degrees, WGS 84.

    Returns
    -------
    list of float
        ``[lon, lat]`` per RFC 7946.
    """
    return [float(lon), float(lat)]


def lat_lon_pair(location: LatLon) -> tuple[float, float]:
    """Return ``(lat, lon)``, the order folium and geopy take.

    Use only at the call into those libraries (``folium.Marker(location=...)``,
    ``geopy.distance.distance(...)``); keep :class:`LatLon` everywhere else.

    Parameters
    ----------
    location : LatLon

    Returns
    -------
    tuple of float
        ``(lat, lon)``.
    """
    return (location.lat, location.lon)
