"""Areas in km² against geographiclib's geodesic areas, and metre tolerances."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geographiclib.geodesic import Geodesic  # installed with geopy
from shapely.geometry import Polygon

from geofence import area_km2, areas_km2, metres_to_degrees


def geodesic_area_km2(polygon: Polygon) -> float:
    """Reference: geographiclib's exact area of the polygon with geodesic edges."""
    total = 0.0
    for index, ring in enumerate((polygon.exterior, *polygon.interiors)):
        area = Geodesic.WGS84.Polygon()
        for lon, lat in list(ring.coords)[:-1]:
            area.AddPoint(lat, lon)
        _, _, signed = area.Compute(False, True)
        total += abs(signed) * (1 if index == 0 else -1)
    return total / 1e6


@pytest.mark.parametrize(
    "polygon",
    [
        shapely.box(2.30, 48.80, 2.31, 48.81),  # ~0.8 km² Paris block
        shapely.Point(2.35, 48.85).buffer(0.01),  # a round district
        shapely.box(10.0, 60.0, 10.02, 60.01),  # further north
        shapely.box(-58.4, -34.6, -58.38, -34.58),  # southern hemisphere
        Polygon(
            shapely.box(2.3, 48.8, 2.34, 48.84).exterior.coords,
            [shapely.box(2.31, 48.81, 2.32, 48.82).exterior.coords],
        ),
    ],
)
def test_district_areas_match_geodesic_within_1e7(polygon: Polygon) -> None:
    """For district-sized fences the area agrees with geographiclib to 1e-7 relative."""
    assert area_km2(polygon) == pytest.approx(geodesic_area_km2(polygon), rel=1e-7)


def test_one_degree_box_within_1e4() -> None:
    """A 1°×1° box (100 km edges) still agrees to 1e-4: the documented accuracy bound."""
    polygon = shapely.box(2.0, 48.0, 3.0, 49.0)
    assert area_km2(polygon) == pytest.approx(geodesic_area_km2(polygon), rel=1e-4)


def test_areas_vectorised_and_degenerate() -> None:
    """areas_km2 handles many geometries at once; empty geometries have zero area."""
    boxes = [shapely.box(0, 0, 0.01, 0.01), shapely.box(0, 60, 0.01, 60.01), Polygon()]
    areas = areas_km2(np.array(boxes, dtype=object))
    assert areas[0] == pytest.approx(1.2308, rel=1e-3)
    assert areas[1] == pytest.approx(areas[0] * np.cos(np.radians(60)), rel=1e-2)
    assert areas[2] == 0.0


def test_metres_to_degrees_covers_the_distance_in_every_direction() -> None:
    """The tolerance in degrees is at least the metres asked for, along lat and lon."""
    degrees = metres_to_degrees(100.0, lat=60.0)
    geod = Geodesic.WGS84
    east = geod.Inverse(60.0, 0.0, 60.0, degrees)["s12"]
    north = geod.Inverse(60.0, 0.0, 60.0 + degrees, 0.0)["s12"]
    assert east >= 99.0
    assert north >= 100.0
    with pytest.raises(ValueError):
        metres_to_degrees(-1.0, lat=0.0)
