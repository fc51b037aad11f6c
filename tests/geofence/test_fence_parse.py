"""Fences from GeoJSON: validation errors, repair, winding, round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geofence import (
    ERROR_CODES,
    FenceError,
    feature_collection,
    fence_from_shapely,
    fence_to_feature,
    fence_to_geojson,
    parse_fence,
    parse_fences,
)

SQUARE_CCW = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
SQUARE_CW = [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]
HOLE_CW = [[0.25, 0.25], [0.25, 0.75], [0.75, 0.75], [0.75, 0.25], [0.25, 0.25]]
BOWTIE = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


def reject(data: Any, code: str, **kwargs: Any) -> FenceError:
    with pytest.raises(FenceError) as info:
        parse_fence(data, **kwargs)
    assert info.value.code == code, info.value.as_dict()
    return info.value


# ------------------------------------------------------------------- accepted


def test_valid_polygon_is_accepted_unchanged() -> None:
    """A valid CCW square comes back as the same polygon, not marked repaired."""
    fence = parse_fence(polygon(SQUARE_CCW))
    assert isinstance(fence.geometry, Polygon)
    assert fence.geometry.equals(shapely.box(0, 0, 1, 1))
    assert fence.repaired is None
    assert fence.properties == {}
    assert fence.feature_id is None


def test_clockwise_exterior_is_normalised_not_rejected() -> None:
    """A clockwise exterior (and counter-clockwise hole) is re-oriented per RFC 7946."""
    hole_ccw = HOLE_CW[::-1]
    fence = parse_fence(polygon(SQUARE_CW, hole_ccw))
    assert fence.geometry.exterior.is_ccw
    assert not fence.geometry.interiors[0].is_ccw
    assert fence.geometry.equals(Polygon(SQUARE_CW, [hole_ccw]))


def test_feature_properties_and_id_pass_through() -> None:
    """A Feature's properties and id are returned as given, for the caller to read."""
    feature = {
        "type": "Feature",
        "id": 12,
        "properties": {"name": "North", "colour": "#ff0000", "priority": 3},
        "geometry": polygon(SQUARE_CCW),
    }
    fence = parse_fence(feature)
    assert fence.properties == {"name": "North", "colour": "#ff0000", "priority": 3}
    assert fence.feature_id == 12


def test_feature_with_null_properties_gives_empty_properties() -> None:
    """``"properties": null`` (allowed by RFC 7946) reads as no properties."""
    fence = parse_fence({"type": "Feature", "properties": None, "geometry": polygon(SQUARE_CCW)})
    assert fence.properties == {}


def test_multipolygon_with_holes_of_different_lengths() -> None:
    """A MultiPolygon whose parts have several holes of unequal vertex counts parses."""
    triangle_hole = [[0.1, 0.1], [0.1, 0.2], [0.2, 0.1], [0.1, 0.1]]
    far_square = [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]
    data = {
        "type": "MultiPolygon",
        "coordinates": [[SQUARE_CCW, HOLE_CW, triangle_hole], far_square],
    }
    geometry = parse_fence(data).geometry
    assert isinstance(geometry, MultiPolygon)
    assert len(geometry.geoms) == 2
    assert len(geometry.geoms[0].interiors) == 2
    assert geometry.area == pytest.approx(1 - 0.25 - 0.005 + 1)


def test_json_text_and_bytes_are_accepted() -> None:
    """A request body can be handed over as text or bytes."""
    text = json.dumps(polygon(SQUARE_CCW))
    assert parse_fence(text).geometry.equals(parse_fence(text.encode()).geometry)


def test_geo_interface_objects_are_accepted() -> None:
    """Shapely geometries (and geojson-pydantic models) are read via __geo_interface__."""
    geometry = fence_from_shapely(shapely.box(2, 48, 3, 49))
    assert geometry.equals(shapely.box(2, 48, 3, 49))


def test_altitude_is_dropped() -> None:
    """Positions with a third (altitude) value are accepted and flattened to 2-D."""
    ring = [[*p, 35.0] for p in SQUARE_CCW]
    geometry = parse_fence(polygon(ring)).geometry
    assert not geometry.has_z


def test_wgs84_crs_member_is_accepted() -> None:
    """Old-style files naming CRS84 in a ``crs`` member are accepted."""
    data = {
        **polygon(SQUARE_CCW),
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    }
    assert parse_fence(data).geometry.equals(shapely.box(0, 0, 1, 1))


def test_edge_touching_the_antimeridian_is_allowed() -> None:
    """A fence that ends exactly at 180° does not cross it and is accepted."""
    ring = [[179.0, 0.0], [180.0, 0.0], [180.0, 1.0], [179.0, 1.0], [179.0, 0.0]]
    assert parse_fence(polygon(ring)).geometry.area == pytest.approx(1.0)


# ------------------------------------------------------------------ collections


def test_one_feature_collection_is_one_fence() -> None:
    """A FeatureCollection holding exactly one Feature is accepted as a single fence."""
    data = feature_collection([fence_to_feature(shapely.box(0, 0, 1, 1), properties={"a": 1})])
    fence = parse_fence(data)
    assert fence.properties == {"a": 1}


def test_many_feature_collection_is_not_one_fence() -> None:
    """parse_fence refuses a collection of two, saying how many it got."""
    one = fence_to_feature(shapely.box(0, 0, 1, 1))
    error = reject(feature_collection([one, one]), "wrong_type")
    assert error.where["features"] == 2


def test_parse_fences_reads_every_feature_in_order() -> None:
    """parse_fences returns one fence per Feature, in the collection's order."""
    boxes = [shapely.box(i, 0, i + 1, 1) for i in range(3)]
    data = feature_collection(
        fence_to_feature(b, feature_id=i, properties={"n": i}) for i, b in enumerate(boxes)
    )
    fences = parse_fences(data)
    assert [f.feature_id for f in fences] == [0, 1, 2]
    assert all(f.geometry.equals(b) for f, b in zip(fences, boxes, strict=True))


def test_parse_fences_locates_the_bad_feature() -> None:
    """An error inside the third Feature says feature 2, in the key and the message."""
    good = fence_to_feature(shapely.box(0, 0, 1, 1))
    bad = {"type": "Feature", "properties": {}, "geometry": polygon(SQUARE_CCW[:-1])}
    with pytest.raises(FenceError) as info:
        parse_fences(feature_collection([good, good, bad]))
    assert info.value.code == "unclosed_ring"
    assert info.value.where == {"feature": 2, "ring": 0}
    assert info.value.message.startswith("feature 2: ")


def test_parse_fences_accepts_a_single_geometry() -> None:
    """A bare geometry is a collection of one for parse_fences."""
    assert len(parse_fences(polygon(SQUARE_CCW))) == 1


# ------------------------------------------------------------------- rejected


@pytest.mark.parametrize("data", ["{not json", b"\xff\xfe", [1, 2], {"coordinates": []}, 42])
def test_not_geojson(data: Any) -> None:
    """Bad JSON, non-objects and objects without a type are not_geojson."""
    reject(data, "not_geojson")


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Point", "coordinates": [2.35, 48.85]},
        {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        {"type": "GeometryCollection", "geometries": []},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
    ],
)
def test_wrong_geometry_type(data: dict[str, Any]) -> None:
    """Anything but Polygon/MultiPolygon is wrong_type, naming the type received."""
    error = reject(data, "wrong_type")
    assert "type" in error.where


def test_projected_crs_is_rejected() -> None:
    """A ``crs`` other than WGS 84 is refused rather than read as degrees."""
    data = {**polygon(SQUARE_CCW), "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}
    reject(data, "wrong_type")


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Polygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": [[]]},
        {"type": "Polygon", "coordinates": [[]]},
        {"type": "Feature", "properties": {}, "geometry": None},
    ],
)
def test_empty_geometry(data: dict[str, Any]) -> None:
    """No coordinates, an empty part, an empty ring, or a null geometry are empty_geometry."""
    reject(data, "empty_geometry")


@pytest.mark.parametrize(
    ("ring", "position"),
    [
        ([[0, 0], [1, "0"], [1, 1], [0, 0]], 1),
        ([[0, 0], [1], [1, 1], [0, 0]], 1),
        ([[0, 0], [1, 0, 0, 0], [1, 1], [0, 0]], 1),
        ([[0, 0], [1, 0], [True, 1], [0, 0]], 2),
        ([[0, 0], [1, 0], None, [0, 0]], 2),
    ],
)
def test_bad_coordinates_name_the_position(ring: list[Any], position: int) -> None:
    """A position that is not 2-3 numbers is bad_coordinates, with its index."""
    error = reject(polygon(ring), "bad_coordinates")
    assert error.where == {"ring": 0, "position": position}


def test_coordinates_not_an_array() -> None:
    """A Polygon whose coordinates member is missing or a string is bad_coordinates."""
    reject({"type": "Polygon"}, "bad_coordinates")
    reject({"type": "Polygon", "coordinates": "0 0 1 1"}, "bad_coordinates")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite(value: float) -> None:
    """NaN and infinities are non_finite, with the position."""
    ring = [[0, 0], [1, 0], [1, value], [0, 1], [0, 0]]
    error = reject(polygon(ring), "non_finite")
    assert error.where == {"ring": 0, "position": 2}


@pytest.mark.parametrize(
    ("bad", "lat", "lon"),
    [([0.5, 91.0], 91.0, 0.5), ([181.0, 0.5], 0.5, 181.0), ([0.5, -90.5], -90.5, 0.5)],
)
def test_out_of_range(bad: list[float], lat: float, lon: float) -> None:
    """Latitude beyond ±90 or longitude beyond ±180 is out_of_range, named lat/lon."""
    ring = [[0, 0], [1, 0], bad, [0, 1], [0, 0]]
    error = reject(polygon(ring), "out_of_range")
    assert error.where == {"ring": 0, "position": 2, "lat": lat, "lon": lon}
    assert "[lon, lat]" in error.message


def test_swapped_lat_lon_is_caught_when_out_of_range() -> None:
    """A [lat, lon] ring from a place with |lon| > 90 fails loudly instead of moving."""
    # Sydney-ish, written lat-first by mistake: "lat" 151 is out of range.
    ring = [[-33.9, 151.2], [-33.8, 151.2], [-33.8, 151.3], [-33.9, 151.2]]
    reject(polygon(ring), "out_of_range")


def test_unclosed_exterior() -> None:
    """An exterior ring whose last position differs from its first is unclosed_ring 0."""
    error = reject(polygon(SQUARE_CCW[:-1]), "unclosed_ring")
    assert error.as_dict()["ring"] == 0


def test_unclosed_hole_in_second_polygon() -> None:
    """An unclosed hole is located by polygon and ring index."""
    data = {"type": "MultiPolygon", "coordinates": [[SQUARE_CCW], [SQUARE_CCW, HOLE_CW[:-1]]]}
    error = reject(data, "unclosed_ring")
    assert error.where == {"polygon": 1, "ring": 1}


@pytest.mark.parametrize(
    "ring",
    [
        [[0, 0], [1, 0], [0, 0]],
        [[0, 0], [1, 0], [1, 0], [0, 0]],
        [[0, 0], [0, 0], [0, 0], [0, 0]],
    ],
)
def test_too_few_points(ring: list[list[float]]) -> None:
    """Fewer than 4 positions, or fewer than 3 distinct points, is too_few_points."""
    error = reject(polygon(ring), "too_few_points")
    assert error.where["ring"] == 0


def test_antimeridian_crossing_is_rejected_with_the_edge() -> None:
    """An edge from 179° to -179° (spanning 358°) is crosses_antimeridian, located."""
    ring = [[179.0, 10.0], [-179.0, 10.0], [-179.0, 11.0], [179.0, 11.0], [179.0, 10.0]]
    error = reject(polygon(ring), "crosses_antimeridian")
    assert error.where == {"ring": 0, "position": 0, "lat": 10.0, "lon": 179.0}
    assert "MultiPolygon" in error.message


def test_self_intersection_reports_where() -> None:
    """A bow-tie is self_intersection with the crossing point as lat/lon and its ring."""
    error = reject(polygon(BOWTIE), "self_intersection")
    assert error.where["lat"] == pytest.approx(0.5)
    assert error.where["lon"] == pytest.approx(0.5)
    assert error.where["ring"] == 0
    assert "repair" in error.message


def test_overlapping_multipolygon_parts_are_self_intersection() -> None:
    """Two overlapping parts of a MultiPolygon are reported with a location."""
    other = [[0.5, 0.5], [2, 0.5], [2, 2], [0.5, 2], [0.5, 0.5]]
    data = {"type": "MultiPolygon", "coordinates": [[SQUARE_CCW], [other]]}
    error = reject(data, "self_intersection")
    assert {"lat", "lon", "polygon", "ring"} <= error.where.keys()


def test_hole_outside_shell_is_invalid_geometry() -> None:
    """A hole outside its shell is invalid_geometry, with shapely's reason and point."""
    hole = [[5, 5], [5, 6], [6, 6], [6, 5], [5, 5]]
    error = reject(polygon(SQUARE_CCW, hole), "invalid_geometry")
    assert error.where["reason"].startswith("Hole lies outside shell")
    assert error.where["ring"] == 1
    assert (error.where["lat"], error.where["lon"]) == (5.0, 5.0)


# --------------------------------------------------------------------- repair


def test_repair_splits_a_bowtie_into_its_two_triangles() -> None:
    """With repair=True a bow-tie becomes a valid MultiPolygon of two triangles."""
    fence = parse_fence(polygon(BOWTIE), repair=True)
    assert isinstance(fence.geometry, MultiPolygon)
    assert fence.geometry.is_valid
    assert len(fence.geometry.geoms) == 2
    assert fence.geometry.area == pytest.approx(0.5)
    assert fence.repaired is not None
    assert fence.repaired.startswith("Self-intersection")
    assert all(part.exterior.is_ccw for part in fence.geometry.geoms)


def test_repair_merges_overlapping_parts() -> None:
    """Overlapping MultiPolygon parts are merged by repair into one valid area."""
    other = [[0.5, 0.5], [2, 0.5], [2, 2], [0.5, 2], [0.5, 0.5]]
    data = {"type": "MultiPolygon", "coordinates": [[SQUARE_CCW], [other]]}
    fence = parse_fence(data, repair=True)
    assert fence.geometry.is_valid
    assert fence.geometry.area == pytest.approx(1 + 2.25 - 0.25)


def test_repair_that_leaves_no_area_is_empty_geometry() -> None:
    """A collinear 'polygon' repairs to nothing polygonal: empty_geometry."""
    error = reject(polygon([[0, 0], [1, 1], [2, 2], [0, 0]]), "empty_geometry", repair=True)
    assert "reason" in error.where


def test_repair_does_not_fix_structural_errors() -> None:
    """repair=True does not guess at unclosed rings: still unclosed_ring."""
    reject(polygon(SQUARE_CCW[:-1]), "unclosed_ring", repair=True)


# ------------------------------------------------------------------ the error


def test_fence_error_is_a_value_error_with_a_flat_dict() -> None:
    """FenceError subclasses ValueError; as_dict is flat: code, message, where keys."""
    error = reject(polygon(SQUARE_CCW[:-1]), "unclosed_ring")
    assert isinstance(error, ValueError)
    assert error.as_dict() == {"code": "unclosed_ring", "message": error.message, "ring": 0}
    assert json.dumps(error.as_dict())


def test_unknown_error_code_is_a_programming_error() -> None:
    """Codes are a closed list, so a typo in the library cannot reach clients."""
    with pytest.raises(ValueError, match="unknown FenceError code"):
        FenceError("no_such_code", "x")
    assert "unclosed_ring" in ERROR_CODES


# ---------------------------------------------------------------- round trips


def test_round_trip_polygon_with_hole_is_exact() -> None:
    """GeoJSON → fence → GeoJSON gives back the same coordinates when already normalised."""
    data = polygon(SQUARE_CCW, HOLE_CW)
    out = fence_to_geojson(parse_fence(data).geometry)
    assert out == data
    assert shapely.from_geojson(json.dumps(out)).equals(shapely.from_geojson(json.dumps(data)))


def test_round_trip_multipolygon_keeps_its_type() -> None:
    """A one-part MultiPolygon stays a MultiPolygon (the user's choice of type)."""
    data = {"type": "MultiPolygon", "coordinates": [[SQUARE_CCW]]}
    assert fence_to_geojson(parse_fence(data).geometry) == data


def test_round_trip_feature_with_precision() -> None:
    """A Feature written with precision=6 rounds coordinates and reparses equal."""
    geometry = shapely.box(2.123456789, 48.1, 2.2, 48.2)
    feature = fence_to_feature(geometry, properties={"name": "A"}, feature_id=7, precision=6)
    assert feature["id"] == 7
    assert feature["geometry"]["coordinates"][0][0][0] in (2.123457, 2.2)
    back = parse_fence(json.loads(json.dumps(feature)))
    assert back.geometry.equals_exact(geometry, tolerance=1e-6)
    assert back.properties == {"name": "A"}


def test_to_geojson_rejects_non_polygons() -> None:
    """Writing anything but a fence geometry is a TypeError (a programming error)."""
    with pytest.raises(TypeError):
        fence_to_geojson(shapely.Point(0, 0))  # type: ignore[arg-type]
