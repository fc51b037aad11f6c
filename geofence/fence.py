"""Fences from GeoJSON and back, with validation that names the problem.

A *fence* is a territory's geometry: a shapely ``Polygon`` or ``MultiPolygon``
in WGS 84 lon/lat, valid in the OGC sense, exterior rings counter-clockwise
and holes clockwise (RFC 7946 §3.1.6), two-dimensional.

Why the checks run in this order: cheap structural checks on the raw JSON
come first, because they can say *which* ring and *which* position is wrong
(shapely would silently close a ring, or fail with a message that names no
index). Only once every ring is a well-formed closed sequence of in-range
numbers is a shapely geometry built and asked for OGC validity, which is where
self-intersections are found (with the point where they happen).

Limitation: fences must not cross the antimeridian (±180° longitude). A ring
with an edge spanning more than 180° of longitude is rejected with
``crosses_antimeridian``; split such a territory into one polygon either side
of the line (a ``MultiPolygon``), which is what RFC 7946 §3.1.9 asks anyway.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geofence.coords import LatLon, latlon_columns, positions_from_xy, xy_from_positions
from geofence.errors import FenceError

__all__ = [
    "GEOJSON_MEDIA_TYPE",
    "Fence",
    "FenceGeometry",
    "feature_collection",
    "fence_from_shapely",
    "fence_to_feature",
    "fence_to_geojson",
    "parse_fence",
    "parse_fences",
]

#: The media type of GeoJSON responses (RFC 7946 §12).
GEOJSON_MEDIA_TYPE: Final = "application/geo+json"

#: What a fence geometry is.
FenceGeometry: TypeAlias = Polygon | MultiPolygon

_ACCEPTED_CRS: Final = frozenset(
    {
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:OGC::CRS84",
        "urn:ogc:def:crs:EPSG::4326",
        "EPSG:4326",
    }
)
_REASON_POINT: Final = re.compile(r"\[\s*(\S+)\s+(\S+)(?:\s+\S+)?\s*\]")
_SELF_INTERSECTION_REASONS: Final = ("Self-intersection", "Ring Self-intersection")


@dataclass(frozen=True)
class Fence:
    """A validated fence and what came with it in the GeoJSON.

    Attributes
    ----------
    geometry : Polygon or MultiPolygon
        Valid, 2-D, exterior rings counter-clockwise and holes clockwise.
    properties : dict
        The Feature's ``properties`` (empty for a bare geometry), passed
        through untouched: name, colour and priority are the caller's business.
    feature_id : str, int or None
        The Feature's ``id`` member, if any.
    repaired : str or None
        ``None`` when the input was valid as given; otherwise the validity
        problem (shapely's reason, e.g. ``"Self-intersection[2 3]"``) that
        ``make_valid`` repaired, so the API can tell the user what changed.
    """

    geometry: FenceGeometry
    properties: dict[str, Any] = field(default_factory=dict)
    feature_id: str | int | None = None
    repaired: str | None = None


# --------------------------------------------------------------------- parsing


def parse_fence(data: Any, *, repair: bool = False) -> Fence:
    """Parse one fence from a GeoJSON Feature, geometry or one-feature collection.

    This is what a ``POST``/``PUT /territories`` body goes through: it either
    returns a valid, normalised fence or raises a :class:`FenceError` that can
    be shown to the user as is.

    Parameters
    ----------
    data : mapping, str, bytes or object with ``__geo_interface__``
        A ``Feature``, a bare ``Polygon``/``MultiPolygon`` geometry, or a
        ``FeatureCollection`` holding exactly one Feature. Strings and bytes are
        decoded as JSON; shapely geometries and geojson-pydantic models are read
        through ``__geo_interface__``.
    repair : bool, default False
        If False, an invalid geometry (self-intersection, hole outside its
        shell, ...) raises with the location of the problem. If True, it is
        repaired with ``shapely.make_valid(method="structure")``, keeping only
        the polygonal parts, and :attr:`Fence.repaired` says what was wrong.
        Structural problems (unclosed rings, bad numbers) are never repaired:
        guessing what a broken file meant is not safe.

    Returns
    -------
    Fence
        Valid, oriented (exterior counter-clockwise), 2-D.

    Raises
    ------
    FenceError
        With ``code`` one of ``not_geojson``, ``wrong_type``,
        ``empty_geometry``, ``bad_coordinates``, ``non_finite``,
        ``out_of_range``, ``unclosed_ring``, ``too_few_points``,
        ``crosses_antimeridian``, ``self_intersection``, ``invalid_geometry``.
    """
    obj = _as_mapping(data)
    if obj.get("type") == "FeatureCollection":
        features = _features_of(obj)
        if len(features) != 1:
            raise FenceError(
                "wrong_type",
                f"expected one fence but the FeatureCollection holds {len(features)} features",
                features=len(features),
            )
        try:
            return _parse_feature_or_geometry(features[0], repair=repair)
        except FenceError as error:
            raise error.located(feature=0) from None
    return _parse_feature_or_geometry(obj, repair=repair)


def parse_fences(data: Any, *, repair: bool = False) -> list[Fence]:
    """Parse every fence of a GeoJSON FeatureCollection (or a single one).

    For importing many territories at once. Stops at the first bad feature,
    whose index is in the error's ``feature`` key, so one file is accepted or
    rejected as a whole.

    Parameters
    ----------
    data : mapping, str, bytes or object with ``__geo_interface__``
        A ``FeatureCollection``, or anything :func:`parse_fence` accepts.
    repair : bool, default False
        As in :func:`parse_fence`.

    Returns
    -------
    list of Fence
        In the order of the features.

    Raises
    ------
    FenceError
        As :func:`parse_fence`, located with ``feature=<index>``.
    """
    obj = _as_mapping(data)
    if obj.get("type") != "FeatureCollection":
        return [_parse_feature_or_geometry(obj, repair=repair)]
    fences = []
    for index, feature in enumerate(_features_of(obj)):
        try:
            fences.append(_parse_feature_or_geometry(feature, repair=repair))
        except FenceError as error:
            raise error.located(feature=index) from None
    return fences


def fence_from_shapely(geometry: BaseGeometry, *, repair: bool = False) -> FenceGeometry:
    """Validate and normalise a shapely geometry built elsewhere.

    Goes through the same checks as GeoJSON input (via its
    ``__geo_interface__``), so a fence is valid whichever door it came in by.

    Parameters
    ----------
    geometry : shapely geometry
        A ``Polygon`` or ``MultiPolygon`` in lon/lat.
    repair : bool, default False
        As in :func:`parse_fence`.

    Returns
    -------
    Polygon or MultiPolygon

    Raises
    ------
    FenceError
        As :func:`parse_fence`.
    """
    return parse_fence(geometry, repair=repair).geometry


def _as_mapping(data: Any) -> Mapping[str, Any]:
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FenceError("not_geojson", f"the body is not valid JSON: {exc}") from None
    elif not isinstance(data, Mapping) and hasattr(data, "__geo_interface__"):
        data = data.__geo_interface__
    if not isinstance(data, Mapping):
        raise FenceError("not_geojson", f"expected a GeoJSON object, got {type(data).__name__}")
    if "type" not in data:
        raise FenceError("not_geojson", "the GeoJSON object has no 'type' member")
    _check_crs(data)
    return data


def _check_crs(obj: Mapping[str, Any]) -> None:
    # RFC 7946 removed "crs"; old files (GeoJSON 2008, QGIS exports) still carry
    # it. Accept the WGS 84 names, reject anything else rather than reading
    # projected metres as degrees.
    crs = obj.get("crs")
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, Mapping) else None
    if name not in _ACCEPTED_CRS:
        raise FenceError(
            "wrong_type",
            f"coordinates must be WGS 84 longitude/latitude (RFC 7946); got crs {name!r}",
            crs=name,
        )


def _features_of(obj: Mapping[str, Any]) -> list[Any]:
    features = obj.get("features")
    if not isinstance(features, list):
        raise FenceError("not_geojson", "a FeatureCollection needs a 'features' array")
    return features


def _parse_feature_or_geometry(obj: Any, *, repair: bool) -> Fence:
    if not isinstance(obj, Mapping):
        raise FenceError("not_geojson", f"expected a GeoJSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    if kind == "Feature":
        _check_crs(obj)
        properties = obj.get("properties")
        if properties is None:
            properties = {}
        elif not isinstance(properties, Mapping):
            raise FenceError("not_geojson", "a Feature's 'properties' must be an object or null")
        feature_id = obj.get("id")
        if feature_id is not None and not isinstance(feature_id, str | int):
            raise FenceError("not_geojson", "a Feature's 'id' must be a string or a number")
        geometry_obj = obj.get("geometry")
        if geometry_obj is None:
            raise FenceError("empty_geometry", "the Feature has no geometry")
        geometry, repaired = _parse_geometry(geometry_obj, repair=repair)
        return Fence(geometry, dict(properties), feature_id, repaired)
    geometry, repaired = _parse_geometry(obj, repair=repair)
    return Fence(geometry, {}, None, repaired)


def _parse_geometry(obj: Any, *, repair: bool) -> tuple[FenceGeometry, str | None]:
    if not isinstance(obj, Mapping):
        raise FenceError("not_geojson", "a geometry must be a GeoJSON object")
    _check_crs(obj)
    kind = obj.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise FenceError(
            "wrong_type",
            f"a fence must be a Polygon or MultiPolygon, not {kind!r}",
            type=kind,
        )
    coordinates = obj.get("coordinates")
    if not isinstance(coordinates, Sequence) or isinstance(coordinates, str):
        raise FenceError("bad_coordinates", f"the {kind} has no 'coordinates' array")
    if len(coordinates) == 0:
        raise FenceError("empty_geometry", f"the {kind} has no coordinates")

    geometry: FenceGeometry
    if kind == "Polygon":
        rings = _parse_polygon_rings(coordinates, where={})
        geometry = _polygon(rings)
    else:
        parts = []
        for p_index, polygon_coords in enumerate(coordinates):
            if not isinstance(polygon_coords, Sequence) or isinstance(polygon_coords, str):
                raise FenceError(
                    "bad_coordinates",
                    f"polygon {p_index} is not an array of rings",
                    polygon=p_index,
                )
            if len(polygon_coords) == 0:
                raise FenceError(
                    "empty_geometry", f"polygon {p_index} has no rings", polygon=p_index
                )
            rings = _parse_polygon_rings(polygon_coords, where={"polygon": p_index})
            parts.append(_polygon(rings))
        geometry = MultiPolygon(parts)
    return _validate(geometry, multi=kind == "MultiPolygon", repair=repair)


def _parse_polygon_rings(
    rings: Sequence[Any], *, where: dict[str, int]
) -> list[NDArray[np.float64]]:
    return [
        _parse_ring(ring, where={**where, "ring": r_index}) for r_index, ring in enumerate(rings)
    ]


def _polygon(rings: list[NDArray[np.float64]]) -> Polygon:
    # Rings differ in length, so build them one by one (shapely.polygons would
    # try to stack the holes into one rectangular array).
    shell, *holes = (shapely.linearrings(ring) for ring in rings)
    polygon: Polygon = shapely.polygons(shell, holes=holes or None)
    return polygon


def _describe(where: Mapping[str, int]) -> str:
    return " ".join(f"{key} {value}" for key, value in where.items())


def _parse_ring(ring: Any, *, where: dict[str, int]) -> NDArray[np.float64]:
    """Check one ring's structure and numbers; return its ``(n, 2)`` coordinates."""
    name = _describe(where)
    if not isinstance(ring, Sequence) or isinstance(ring, str):
        raise FenceError("bad_coordinates", f"{name} is not an array of positions", **where)
    if len(ring) == 0:
        raise FenceError("empty_geometry", f"{name} has no positions", **where)
    array = _ring_array(ring, where=where)

    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise FenceError(
            "non_finite",
            f"{name} position {bad} has a NaN or infinite coordinate",
            **where,
            position=bad,
        )
    xy = xy_from_positions(array)
    columns = latlon_columns(xy)
    out_of_range = (np.abs(columns.lon) > 180.0) | (np.abs(columns.lat) > 90.0)
    if out_of_range.any():
        bad = int(np.flatnonzero(out_of_range)[0])
        lat, lon = float(columns.lat[bad]), float(columns.lon[bad])
        raise FenceError(
            "out_of_range",
            f"{name} position {bad} is out of range (lat={lat}, lon={lon}); latitude must be "
            "within [-90, 90] and longitude within [-180, 180], in that [lon, lat] order",
            **where,
            position=bad,
            lat=lat,
            lon=lon,
        )
    if not np.array_equal(xy[0], xy[-1]):
        raise FenceError(
            "unclosed_ring",
            f"{name} is not closed: its last position must repeat its first",
            **where,
        )
    distinct = _distinct_points_up_to_3(xy[:-1])
    if len(xy) < 4 or distinct < 3:
        raise FenceError(
            "too_few_points",
            f"{name} has {distinct} distinct points; a ring needs at least 3 (and 4 positions "
            "counting the closing one)",
            **where,
            points=distinct,
        )
    spans = np.abs(np.diff(columns.lon))
    if (spans > 180.0).any():
        bad = int(np.flatnonzero(spans > 180.0)[0])
        start = LatLon(lat=float(columns.lat[bad]), lon=float(columns.lon[bad]))
        raise FenceError(
            "crosses_antimeridian",
            f"{name}: the edge from position {bad} (lat={start.lat}, lon={start.lon}) spans "
            "more than 180° of longitude, so the fence crosses the antimeridian, which is not "
            "supported; split it into one polygon on each side of ±180° (a MultiPolygon)",
            **where,
            position=bad,
            lat=start.lat,
            lon=start.lon,
        )
    return xy


def _distinct_points_up_to_3(xy: NDArray[np.float64]) -> int:
    """Count distinct rows of ``xy``, stopping at 3 (O(n), unlike ``np.unique``)."""
    if len(xy) == 0:
        return 0
    differs = (xy != xy[0]).any(axis=1)
    if not differs.any():
        return 1
    second = xy[int(np.argmax(differs))]
    third = differs & (xy != second).any(axis=1)
    return 3 if third.any() else 2


def _ring_array(ring: Sequence[Any], *, where: dict[str, int]) -> NDArray[np.float64]:
    # Fast path: a homogeneous numeric array. Strings and other objects would
    # convert with dtype=float ("1.5" -> 1.5), so convert without a dtype first
    # and insist on a numeric kind.
    try:
        array = np.asarray(ring)
    except ValueError:  # ragged
        array = np.empty(0)
    numeric = array.ndim == 2 and array.shape[1] in (2, 3) and array.dtype.kind in "iuf"
    # numpy silently turns JSON true/false into 1/0 next to numbers.
    if numeric and bool not in set(map(type, itertools.chain.from_iterable(ring))):
        return array.astype(np.float64, copy=False)
    # Slow path: find the first bad position to say where it is.
    name = _describe(where)
    for p_index, pos in enumerate(ring):
        ok = (
            isinstance(pos, Sequence)
            and not isinstance(pos, str)
            and len(pos) in (2, 3)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        )
        if not ok:
            raise FenceError(
                "bad_coordinates",
                f"{name} position {p_index} is {pos!r}; expected [lon, lat] numbers",
                **where,
                position=p_index,
            )
    raise FenceError("bad_coordinates", f"{name} is not an array of [lon, lat] positions", **where)


def _validate(
    geometry: FenceGeometry, *, multi: bool, repair: bool
) -> tuple[FenceGeometry, str | None]:
    reason = shapely.is_valid_reason(geometry)
    repaired: str | None = None
    if reason != "Valid Geometry":
        if not repair:
            raise _invalid(geometry, reason)
        geometry = _polygonal_part(shapely.make_valid(geometry, method="structure"))
        if geometry.is_empty:
            raise FenceError(
                "empty_geometry",
                f"nothing polygonal is left after repairing {reason}; the fence has no area",
                reason=reason,
            )
        repaired = reason
    elif geometry.area == 0.0:  # pragma: no cover - GEOS reports these as invalid
        raise FenceError("empty_geometry", "the fence has no area")
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    if not multi and isinstance(oriented, MultiPolygon) and len(oriented.geoms) == 1:
        oriented = oriented.geoms[0]
    return oriented, repaired


def _polygonal_part(geometry: BaseGeometry) -> FenceGeometry:
    """Keep only polygons from ``make_valid``'s output (it can add lines, points)."""
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    parts = [
        part
        for part in shapely.get_parts(geometry)
        if isinstance(part, Polygon | MultiPolygon) and not part.is_empty
    ]
    polygons = [p for part in parts for p in shapely.get_parts(part)]
    if len(polygons) == 1:
        only: Polygon = polygons[0]
        return only
    return MultiPolygon(polygons)


def _invalid(geometry: FenceGeometry, reason: str) -> FenceError:
    match = _REASON_POINT.search(reason)
    text = reason.split("[", 1)[0]
    code = "self_intersection" if text in _SELF_INTERSECTION_REASONS else "invalid_geometry"
    where: dict[str, Any] = {"reason": reason}
    near = ""
    if match is not None:
        try:
            lon, lat = float(match.group(1)), float(match.group(2))
        except ValueError:
            lon = lat = math.nan
        if math.isfinite(lat) and math.isfinite(lon):
            where.update(_ring_near(geometry, LatLon(lat=lat, lon=lon)))
            where.update(lat=lat, lon=lon)
            near = f" near lat={lat}, lon={lon}"
            ring_name = _describe({k: v for k, v in where.items() if k in ("polygon", "ring")})
            if ring_name:
                near = f" ({ring_name}){near}"
    if code == "self_intersection":
        message = (
            f"the fence crosses or touches itself{near}; fix the drawing, or ask for "
            "repair=true to split it into valid parts"
        )
    else:
        message = f"the fence is not a valid polygon: {text}{near}"
    return FenceError(code, message, **where)


def _ring_near(geometry: FenceGeometry, location: LatLon) -> dict[str, int]:
    """Return the indices of the first ring passing through the problem point."""
    probe = shapely.Point(location.lon, location.lat)
    polygons = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    for p_index, polygon in enumerate(polygons):
        rings = [polygon.exterior, *polygon.interiors]
        for r_index, ring in enumerate(rings):
            if ring.distance(probe) <= 1e-9:
                where = {"ring": r_index}
                if isinstance(geometry, MultiPolygon):
                    where = {"polygon": p_index, **where}
                return where
    return {}


# --------------------------------------------------------------------- writing


def fence_to_geojson(geometry: FenceGeometry, *, precision: int | None = None) -> dict[str, Any]:
    """Return the GeoJSON geometry object of a fence.

    Parameters
    ----------
    geometry : Polygon or MultiPolygon
        A fence (as returned by :func:`parse_fence`).
    precision : int, optional
        Round coordinates to this many decimals (6 ≈ 0.1 m, RFC 7946 §11.2
        suggests it for smaller payloads). ``None`` keeps full precision so that
        GeoJSON → fence → GeoJSON round trips exactly.

    Returns
    -------
    dict
        ``{"type": "Polygon" | "MultiPolygon", "coordinates": [...]}`` with lists
        of ``[lon, lat]`` positions, ready for ``json.dumps``.
    """

    def rings(polygon: Polygon) -> list[list[list[float]]]:
        result = []
        for ring in (polygon.exterior, *polygon.interiors):
            xy = shapely.get_coordinates(ring)
            if precision is not None:
                xy = np.round(xy, precision)
            result.append(positions_from_xy(xy))
        return result

    if isinstance(geometry, Polygon):
        return {"type": "Polygon", "coordinates": rings(geometry)}
    if isinstance(geometry, MultiPolygon):
        return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geometry.geoms]}
    raise TypeError(f"a fence is a Polygon or MultiPolygon, not {geometry.geom_type}")


def fence_to_feature(
    geometry: FenceGeometry,
    *,
    properties: Mapping[str, Any] | None = None,
    feature_id: str | int | None = None,
    precision: int | None = None,
) -> dict[str, Any]:
    """Return a GeoJSON Feature for a fence, e.g. a territory with its name.

    Parameters
    ----------
    geometry : Polygon or MultiPolygon
    properties : mapping, optional
        Copied into ``properties`` (name, colour, priority, ...).
    feature_id : str or int, optional
        Written as the Feature's ``id`` (the territory id).
    precision : int, optional
        As in :func:`fence_to_geojson`.

    Returns
    -------
    dict
    """
    feature: dict[str, Any] = {"type": "Feature"}
    if feature_id is not None:
        feature["id"] = feature_id
    feature["properties"] = dict(properties or {})
    feature["geometry"] = fence_to_geojson(geometry, precision=precision)
    return feature


def feature_collection(features: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Wrap Features into a FeatureCollection (the export of all fences).

    Parameters
    ----------
    features : iterable of mapping
        Typically from :func:`fence_to_feature`.

    Returns
    -------
    dict
    """
    return {"type": "FeatureCollection", "features": [dict(f) for f in features]}
