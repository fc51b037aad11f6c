"""The one exception type of ``geofence``: a fence that cannot be accepted.

A dispatcher draws fences by hand and uploads files exported from other tools,
so most rejections are data problems a person must fix. ``FenceError`` carries
what the API needs to answer 422 without guessing: a stable machine ``code``
(clients switch on it), a sentence for people, and ``where`` the problem is
(feature, polygon, ring and position indices, or a ``lat``/``lon`` point).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

#: Every code a ``FenceError`` can carry, with what it means. Clients may rely
#: on these strings; add new ones rather than renaming.
ERROR_CODES: Final[Mapping[str, str]] = {
    "not_geojson": "the input is not a GeoJSON object (or not valid JSON)",
    "wrong_type": "a GeoJSON type other than Feature, FeatureCollection, Polygon, MultiPolygon",
    "empty_geometry": "no geometry, no polygons, or nothing left after repair",
    "bad_coordinates": "coordinates are not nested arrays of [lon, lat] numbers",
    "non_finite": "a coordinate is NaN or infinite",
    "out_of_range": "a longitude outside [-180, 180] or a latitude outside [-90, 90]",
    "unclosed_ring": "a ring whose last position differs from its first",
    "too_few_points": "a ring with fewer than 4 positions or fewer than 3 distinct points",
    "crosses_antimeridian": "an edge spans more than 180 degrees of longitude (unsupported)",
    "self_intersection": "rings cross or touch themselves or each other; see lat/lon",
    "invalid_geometry": "another OGC validity problem (e.g. a hole outside its shell)",
    "duplicate_territory": "the same territory id was given twice to an index",
    "bad_territory_id": "a territory id that is not a non-negative integer",
    "bad_priority": "a territory priority that is not an integer",
}


class FenceError(ValueError):
    """A fence that cannot be accepted, with a machine code and a location.

    It subclasses ``ValueError`` so generic callers that only know "bad input"
    still catch it; the API layer maps it to HTTP 422 with :meth:`as_dict`.

    Parameters
    ----------
    code : str
        One of :data:`ERROR_CODES`; stable, for programs.
    message : str
        One sentence for a person, naming the problem and where it is.
    **where : Any
        Location of the problem: any of ``feature``, ``polygon``, ``ring``,
        ``position`` (0-based indices into the input) and ``lat``/``lon``.
    """

    def __init__(self, code: str, message: str, **where: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown FenceError code {code!r}")
        super().__init__(message)
        self.code: str = code
        self.message: str = message
        self.where: dict[str, Any] = dict(where)

    def as_dict(self) -> dict[str, Any]:
        """Return ``{"code", "message", **where}`` ready to serialise as JSON.

        Flat rather than nested so an error list in a 422 body reads like
        ``{"code": "unclosed_ring", "ring": 0, "message": "..."}``.
        """
        return {"code": self.code, "message": self.message, **self.where}

    def located(self, **outer: Any) -> FenceError:
        """Return a copy with outer location keys (e.g. ``feature=3``) prepended.

        Parsing recurses from FeatureCollection to Feature to Polygon; each level
        adds its own index without the inner level having to know it. The
        message gains the same prefix (``"feature 3: ..."``) so it stays
        self-contained when shown alone.
        """
        prefix = ", ".join(f"{key} {value}" for key, value in outer.items())
        return FenceError(self.code, f"{prefix}: {self.message}", **outer, **self.where)

    def __repr__(self) -> str:
        return f"FenceError({self.code!r}, {self.message!r}, **{self.where!r})"
