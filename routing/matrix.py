"""Travel matrices: the only thing the solver knows about roads.

A provider turns a sequence of :class:`~routing.domain.Location` into two integer matrices,
metres and seconds. The solver asks once per solve and never calls back per arc, which is
what keeps OR-Tools' search fast (registered matrices, no Python callbacks in the hot loop).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np
from geopy.distance import geodesic

from routing.domain import Location

__all__ = [
    "EARTH_RADIUS_M",
    "ExplicitMatrix",
    "HaversineMatrix",
    "Matrices",
    "OsrmMatrix",
    "TravelMatrix",
    "TravelMatrixError",
    "geodesic_metres",
]

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), metres


class TravelMatrixError(RuntimeError):
    """A provider could not produce a matrix (server unreachable, bad answer, missing index)."""


@dataclass(frozen=True, slots=True, eq=False)
class Matrices:
    """Square integer matrices over one sequence of locations: metres and seconds.

    ``metres[i, j]`` and ``seconds[i, j]`` are from location ``i`` to location ``j``; they need
    not be symmetric. Validation makes sure the solver only ever sees non-negative integers.
    """

    metres: np.ndarray
    seconds: np.ndarray

    def __post_init__(self) -> None:
        metres = np.asarray(self.metres)
        seconds = np.asarray(self.seconds)
        for name, m in (("metres", metres), ("seconds", seconds)):
            if m.ndim != 2 or m.shape[0] != m.shape[1]:
                raise ValueError(f"Matrices.{name} must be square, got shape {m.shape}")
            if not np.issubdtype(m.dtype, np.integer):
                raise ValueError(
                    f"Matrices.{name} must hold integers (got {m.dtype}); round or scale first"
                )
            if m.size and m.min() < 0:
                raise ValueError(f"Matrices.{name} must be non-negative")
        if metres.shape != seconds.shape:
            raise ValueError(
                f"Matrices: metres {metres.shape} and seconds {seconds.shape} differ in shape"
            )
        object.__setattr__(self, "metres", metres.astype(np.int64, copy=False))
        object.__setattr__(self, "seconds", seconds.astype(np.int64, copy=False))

    @property
    def size(self) -> int:
        """Number of locations."""
        return int(self.metres.shape[0])

    def take(self, rows: Sequence[int] | np.ndarray) -> Matrices:
        """The sub-matrices over ``rows`` (in that order, repeats allowed)."""
        idx = np.asarray(rows, dtype=np.intp)
        return Matrices(self.metres[np.ix_(idx, idx)], self.seconds[np.ix_(idx, idx)])


@runtime_checkable
class TravelMatrix(Protocol):
    """Anything that turns locations into :class:`Matrices` (haversine, OSRM, explicit)."""

    def matrices(self, locations: Sequence[Location]) -> Matrices:
        """Metres and seconds between every ordered pair of ``locations``."""
        ...


def geodesic_metres(a: Location, b: Location) -> float:
    """Exact ellipsoidal (WGS 84) distance in metres between two places, via geopy.

    Use it where one precise distance matters (a GPS check-in radius, a sanity test); the
    matrix providers use the faster spherical formula for whole tables.
    """
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).meters)


@dataclass(frozen=True, slots=True)
class HaversineMatrix:
    """Great-circle distances times a circuity factor, at a constant speed: the default.

    Parameters
    ----------
    circuity
        Road distance over straight-line distance; 1.3 is a common urban/suburban figure.
    speed_kmh
        Average door-to-door speed used to turn metres into seconds.
    """

    circuity: float = 1.3
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.circuity) and self.circuity >= 1.0):
            raise ValueError(f"HaversineMatrix.circuity must be >= 1, got {self.circuity}")
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            raise ValueError(f"HaversineMatrix.speed_kmh must be > 0, got {self.speed_kmh}")

    def matrices(self, locations: Sequence[Location]) -> Matrices:
        """Vectorised haversine over every pair (numpy broadcasting, no Python loop).

        Parameters
        ----------
        locations
            Places, in the order the matrix rows should follow.

        Returns
        -------
        Matrices
            Rounded metres; seconds rounded up so that a plan is never optimistic.
        """
        lat = np.radians(np.array([loc.lat for loc in locations], dtype=np.float64))
        lon = np.radians(np.array([loc.lon for loc in locations], dtype=np.float64))
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        h = np.sin(dlat / 2.0) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * (
            np.sin(dlon / 2.0) ** 2
        )
        straight = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        road = straight * self.circuity
        seconds = np.ceil(road / (self.speed_kmh / 3.6) - 1e-9)
        return Matrices(np.rint(road).astype(np.int64), seconds.astype(np.int64))


@dataclass(frozen=True, slots=True, eq=False)
class ExplicitMatrix:
    """Matrices given up front, looked up by :attr:`Location.index` (benchmarks, tests).

    Parameters
    ----------
    metres, seconds
        Square integer matrices; a location with ``index=i`` uses row and column ``i``.
    """

    metres: np.ndarray
    seconds: np.ndarray

    def __post_init__(self) -> None:
        full = Matrices(self.metres, self.seconds)  # validates
        object.__setattr__(self, "metres", full.metres)
        object.__setattr__(self, "seconds", full.seconds)

    def matrices(self, locations: Sequence[Location]) -> Matrices:
        """The rows and columns of the given locations' ``index``.

        Raises
        ------
        TravelMatrixError
            If a location has no index or an index outside the matrix.
        """
        rows: list[int] = []
        size = int(self.metres.shape[0])
        for loc in locations:
            if loc.index is None or loc.index >= size:
                raise TravelMatrixError(
                    f"ExplicitMatrix needs Location.index in [0, {size}) for every place; "
                    f"got {loc!r}"
                )
            rows.append(loc.index)
        return Matrices(self.metres, self.seconds).take(rows)


@dataclass(frozen=True, slots=True)
class OsrmMatrix:
    """Client for an OSRM server's ``table`` service (road network distances and durations).

    Parameters
    ----------
    url
        Base URL of the server, e.g. ``http://localhost:5000``.
    profile
        OSRM profile in the path (``driving``, ``car``, ...).
    chunk_size
        Largest number of sources (and of destinations) per request. OSRM refuses big tables
        (``--max-table-size``, 100 by default), so large matrices are assembled from blocks.
    timeout
        Seconds per HTTP request.
    """

    url: str
    profile: str = "driving"
    chunk_size: int = 100
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"OsrmMatrix.url must be an http(s) URL, got {self.url!r}")
        if self.chunk_size < 1:
            raise ValueError(f"OsrmMatrix.chunk_size must be >= 1, got {self.chunk_size}")

    def matrices(self, locations: Sequence[Location]) -> Matrices:
        """Ask the server for every block of the table and assemble the full matrices.

        Raises
        ------
        TravelMatrixError
            When the server is unreachable, answers with an error, or has no route between
            two places.
        """
        n = len(locations)
        metres = np.zeros((n, n), dtype=np.int64)
        seconds = np.zeros((n, n), dtype=np.int64)
        if n == 0:
            return Matrices(metres, seconds)
        blocks = [range(i, min(i + self.chunk_size, n)) for i in range(0, n, self.chunk_size)]
        with httpx.Client(timeout=self.timeout) as client:
            for src in blocks:
                for dst in blocks:
                    dist, dur = self._table(client, locations, src, dst)
                    metres[src.start : src.stop, dst.start : dst.stop] = dist
                    seconds[src.start : src.stop, dst.start : dst.stop] = dur
        return Matrices(metres, seconds)

    def _table(
        self,
        client: httpx.Client,
        locations: Sequence[Location],
        src: range,
        dst: range,
    ) -> tuple[np.ndarray, np.ndarray]:
        # One request per block: the coordinates of both sides, sources/destinations by position.
        points = list(dict.fromkeys([*src, *dst]))
        pos = {p: k for k, p in enumerate(points)}
        coords = ";".join(f"{locations[p].lon:.6f},{locations[p].lat:.6f}" for p in points)
        url = f"{self.url.rstrip('/')}/table/v1/{self.profile}/{coords}"
        query = {
            "sources": ";".join(str(pos[p]) for p in src),
            "destinations": ";".join(str(pos[p]) for p in dst),
            "annotations": "duration,distance",
        }
        try:
            response = client.get(url, params=query)
        except httpx.HTTPError as exc:
            raise TravelMatrixError(
                f"OSRM server at {self.url} is unreachable ({exc.__class__.__name__}: {exc})"
            ) from exc
        try:
            body: dict[str, Any] = response.json()
        except (json.JSONDecodeError, ValueError) as exc:
            raise TravelMatrixError(
                f"OSRM server at {self.url} answered HTTP {response.status_code} with no JSON"
            ) from exc
        if response.status_code != 200 or body.get("code") != "Ok":
            raise TravelMatrixError(
                f"OSRM table request failed: HTTP {response.status_code}, "
                f"code={body.get('code')!r}, message={body.get('message')!r}"
            )
        try:
            dist = np.array(body["distances"], dtype=object)
            dur = np.array(body["durations"], dtype=object)
        except KeyError as exc:
            raise TravelMatrixError(f"OSRM answer lacks {exc.args[0]!r}") from exc
        if dist.shape != (len(src), len(dst)) or dur.shape != (len(src), len(dst)):
            raise TravelMatrixError(
                f"OSRM answered a {dist.shape} table for {len(src)}x{len(dst)} places"
            )
        if any(v is None for v in dist.flat) or any(v is None for v in dur.flat):
            raise TravelMatrixError(
                "OSRM found no road route between some places (null in the table); check "
                "that every place is on the road network the server was built with"
            )
        return (
            np.rint(dist.astype(np.float64)).astype(np.int64),
            np.ceil(dur.astype(np.float64) - 1e-9).astype(np.int64),
        )
