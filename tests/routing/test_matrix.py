"""Travel-matrix providers: haversine against geopy, explicit lookups, OSRM on a fake server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from routing import (
    ExplicitMatrix,
    HaversineMatrix,
    Location,
    Matrices,
    OsrmMatrix,
    TravelMatrixError,
    geodesic_metres,
)

PLACES = [
    Location(lat=51.5074, lon=-0.1278),  # London
    Location(lat=48.8566, lon=2.3522),  # Paris
    Location(lat=52.5200, lon=13.4050),  # Berlin
    Location(lat=31.2304, lon=121.4737),  # Shanghai
    Location(lat=31.2400, lon=121.5000),  # Shanghai, 2.7 km away
]


def test_haversine_agrees_with_geopy_geodesic() -> None:
    """Straight-line haversine is within 0.5 % of the WGS 84 geodesic for every pair."""
    m = HaversineMatrix(circuity=1.0, speed_kmh=36.0).matrices(PLACES)
    for i, a in enumerate(PLACES):
        for j, b in enumerate(PLACES):
            exact = geodesic_metres(a, b)
            assert abs(m.metres[i, j] - exact) <= 0.005 * exact + 1


def test_haversine_circuity_and_speed() -> None:
    """Circuity scales metres; seconds are metres at the given speed, rounded up."""
    base = HaversineMatrix(circuity=1.0).matrices(PLACES[3:])
    m = HaversineMatrix(circuity=1.3, speed_kmh=36.0).matrices(PLACES[3:])
    assert m.metres[0, 1] == pytest.approx(base.metres[0, 1] * 1.3, abs=1)
    assert abs(m.seconds[0, 1] - m.metres[0, 1] / 10.0) <= 1  # 36 km/h = 10 m/s
    assert (np.diag(m.metres) == 0).all() and (m.metres == m.metres.T).all()


def test_explicit_matrix_by_index() -> None:
    """Rows and columns follow Location.index; a missing index is a clear error."""
    metres = np.array([[0, 5, 9], [5, 0, 4], [9, 4, 0]])
    em = ExplicitMatrix(metres, metres * 2)
    locs = [Location(lat=0, lon=0, index=2), Location(lat=0, lon=0, index=0)]
    m = em.matrices(locs)
    assert m.metres.tolist() == [[0, 9], [9, 0]]
    assert m.seconds.tolist() == [[0, 18], [18, 0]]
    with pytest.raises(TravelMatrixError, match="index"):
        em.matrices([Location(lat=0, lon=0)])


def test_matrices_validation() -> None:
    """Floats and negative numbers are refused: the solver only takes integers."""
    with pytest.raises(ValueError, match="integers"):
        Matrices(np.zeros((2, 2)), np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match="non-negative"):
        Matrices(np.array([[0, -1], [1, 0]]), np.zeros((2, 2), dtype=int))


class _FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1/driving/... with 1 m per 0.00001° of lon+lat and 10 m/s."""

    requests: list[tuple[int, int]] = []
    mode = "ok"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if self.mode == "error":
            self._send(400, {"code": "TooBig", "message": "Too many table coordinates"})
            return
        coords = [
            tuple(float(x) for x in c.split(","))
            for c in url.path.split("/table/v1/driving/")[1].split(";")
        ]
        q = parse_qs(url.query)
        src = [int(x) for x in q["sources"][0].split(";")]
        dst = [int(x) for x in q["destinations"][0].split(";")]
        type(self).requests.append((len(src), len(dst)))

        def dist(a, b):
            return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * 100_000

        d = [[dist(coords[i], coords[j]) for j in dst] for i in src]
        if self.mode == "null":
            d[0][-1] = None
        t = [[None if x is None else x / 10 for x in row] for row in d]
        self._send(200, {"code": "Ok", "distances": d, "durations": t})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm() -> Iterator[str]:
    _FakeOsrm.requests = []
    _FakeOsrm.mode = "ok"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_table_assembled_from_chunks(osrm: str) -> None:
    """Five places with chunks of two: nine requests, one full and correct 5×5 table."""
    locs = [Location(lat=0.001 * k, lon=0.002 * k) for k in range(5)]
    m = OsrmMatrix(osrm, chunk_size=2).matrices(locs)
    assert len(_FakeOsrm.requests) == 9
    assert max(max(r) for r in _FakeOsrm.requests) <= 2
    expected = np.array([[abs(i - j) * 300 for j in range(5)] for i in range(5)])
    assert np.array_equal(m.metres, expected)
    assert np.array_equal(m.seconds, expected // 10)


def test_osrm_error_answer(osrm: str) -> None:
    """A server error becomes a TravelMatrixError carrying OSRM's code and message."""
    _FakeOsrm.mode = "error"
    with pytest.raises(TravelMatrixError, match="TooBig"):
        OsrmMatrix(osrm).matrices(PLACES[:2])


def test_osrm_no_route(osrm: str) -> None:
    """A null in the table (no road between two places) is reported, not turned into 0."""
    _FakeOsrm.mode = "null"
    with pytest.raises(TravelMatrixError, match="no road route"):
        OsrmMatrix(osrm).matrices(PLACES[:2])


def test_osrm_unreachable() -> None:
    """Nothing listening on the port: a clear 'unreachable' error, quickly."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TravelMatrixError, match="unreachable"):
        OsrmMatrix(f"http://127.0.0.1:{port}", timeout=2).matrices(PLACES[:2])
