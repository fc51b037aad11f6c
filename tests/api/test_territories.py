"""Territories over HTTP: fences, automatic site assignment, lookups, gaps, geocoding."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.models import Role
from tests import factories as f


def box(name: str, west: float, south: float, east: float, north: float, **props: Any) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "properties": {"name": name, **props},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


@pytest.fixture
def h(client: TestClient, engine: Engine) -> dict[str, str]:
    return f.headers_for(client, engine, Role.dispatcher)


def _site_at(client: TestClient, h: dict[str, str], lat: float, lon: float) -> dict:
    c = f.customer(client, h)
    return f.site(client, h, c["id"], lat=lat, lon=lon)


def test_creating_a_fence_claims_the_sites_inside(client: TestClient, h: dict) -> None:
    """A new fence takes the sites inside it and reports the move; outside sites stay gaps."""
    inside = _site_at(client, h, 31.23, 121.45)
    outside = _site_at(client, h, 31.30, 121.60)
    assert inside["territory_id"] is None
    r = client.post("/territories", json=box("West", 121.40, 31.20, 121.50, 31.26), headers=h)
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    tid = body["id"]
    assert body["properties"]["name"] == "West" and body["properties"]["area_km2"] > 50
    assert body["reassignment"] == {
        "total": 1,
        "moved": 1,
        "moves": [{"from": None, "to": tid, "count": 1}],
    }
    assert client.get(f"/sites/{inside['id']}", headers=h).json()["territory_id"] == tid
    gaps = client.get("/territories/coverage-gaps", headers=h).json()
    assert [s["id"] for s in gaps["data"]] == [outside["id"]]
    assert client.get(f"/territories/{tid}/sites", headers=h).json()["count"] == 1


def test_new_and_moved_sites_follow_the_fences(client: TestClient, h: dict) -> None:
    """A site created inside a fence gets it; moving the site re-derives it."""
    t = client.post("/territories", json=box("A", 121.40, 31.20, 121.50, 31.26), headers=h).json()
    s = _site_at(client, h, 31.23, 121.45)
    assert s["territory_id"] == t["id"]
    moved = client.patch(
        f"/sites/{s['id']}",
        json={"lat": 31.5, "lon": 121.9},
        headers={**h, "If-Match": f'"{s["version"]}"'},
    )
    assert moved.status_code == 200 and moved.json()["territory_id"] is None


def test_overlaps_go_to_priority_then_smaller(client: TestClient, h: dict) -> None:
    """Where fences overlap the higher priority wins; raising a priority moves sites."""
    s = _site_at(client, h, 31.23, 121.45)
    big = client.post("/territories", json=box("Big", 121.3, 31.1, 121.6, 31.4), headers=h).json()
    small = client.post(
        "/territories", json=box("Small", 121.44, 31.22, 121.46, 31.24), headers=h
    ).json()
    assert small["reassignment"]["moved"] == 1
    assert client.get(f"/sites/{s['id']}", headers=h).json()["territory_id"] == small["id"]
    r = client.patch(
        f"/territories/{big['id']}",
        json={"priority": 5},
        headers={**h, "If-Match": f'"{big["properties"]["version"]}"'},
    )
    assert r.status_code == 200
    assert r.json()["reassignment"]["moves"] == [{"from": small["id"], "to": big["id"], "count": 1}]
    looked = client.get("/territories/lookup?lat=31.23&lon=121.45", headers=h).json()
    assert looked["territory_id"] == big["id"] and looked["covering"] == [big["id"], small["id"]]


def test_redraw_and_delete_reassign(client: TestClient, h: dict) -> None:
    """Redrawing a fence away from a site, or deleting it, leaves the site in a gap."""
    s = _site_at(client, h, 31.23, 121.45)
    t = client.post("/territories", json=box("T", 121.40, 31.20, 121.50, 31.26), headers=h)
    tid, etag = t.json()["id"], t.headers["etag"]
    assert (
        client.put(
            f"/territories/{tid}", json=box("T", 121.0, 31.0, 121.1, 31.1), headers=h
        ).status_code
        == 428
    )
    r = client.put(
        f"/territories/{tid}",
        json=box("T", 121.0, 31.0, 121.1, 31.1),
        headers={**h, "If-Match": etag},
    )
    assert r.status_code == 200 and r.json()["reassignment"]["moved"] == 1
    assert client.get(f"/sites/{s['id']}", headers=h).json()["territory_id"] is None
    back = client.put(
        f"/territories/{tid}",
        json=box("T", 121.4, 31.2, 121.5, 31.26),
        headers={**h, "If-Match": r.headers["etag"]},
    )
    assert back.json()["reassignment"]["moved"] == 1
    d = client.delete(f"/territories/{tid}", headers={**h, "If-Match": back.headers["etag"]})
    assert d.status_code == 200 and d.json()["reassignment"]["moves"][0]["to"] is None
    assert client.get(f"/territories/{tid}", headers=h).status_code == 404


@pytest.mark.parametrize(
    ("geometry", "code"),
    [
        (
            {"type": "Polygon", "coordinates": [[[121, 31], [122, 31], [122, 32], [121, 32]]]},
            "unclosed_ring",
        ),
        ({"type": "Polygon", "coordinates": [[[121, 31], [122, 31], [121, 31]]]}, "too_few_points"),
        (
            {"type": "Polygon", "coordinates": [[[121, 31], [122, 95], [122, 32], [121, 31]]]},
            "out_of_range",
        ),
        ({"type": "Polygon", "coordinates": []}, "empty_geometry"),
        ({"type": "Point", "coordinates": [121, 31]}, "wrong_type"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[179, 0], [-179, 0], [-179, 1], [179, 1], [179, 0]]],
            },
            "crosses_antimeridian",
        ),
    ],
)
def test_bad_fences_are_422_naming_the_problem(
    client: TestClient, h: dict, geometry: dict, code: str
) -> None:
    """Each kind of broken geometry is a 422 with its machine code; nothing is stored."""
    r = client.post(
        "/territories",
        json={"type": "Feature", "properties": {"name": "X"}, "geometry": geometry},
        headers=h,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == code
    assert client.get("/territories", headers=h).json()["count"] == 0


def test_self_intersection_is_located_or_repaired(client: TestClient, h: dict) -> None:
    """A bow-tie is 422 with where it crosses; with ?repair=true it is repaired and stored."""
    bowtie = {
        "type": "Feature",
        "properties": {"name": "Bow"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[121.0, 31.0], [121.2, 31.2], [121.2, 31.0], [121.0, 31.2], [121.0, 31.0]]
            ],
        },
    }
    r = client.post("/territories", json=bowtie, headers=h)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["code"] == "self_intersection"
    assert err["lat"] == pytest.approx(31.1, abs=1e-6) and err["lon"] == pytest.approx(121.1)
    fixed = client.post("/territories?repair=true", json=bowtie, headers=h)
    assert fixed.status_code == 201 and fixed.json()["repaired"]
    assert fixed.json()["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_bad_properties_and_duplicate_names(client: TestClient, h: dict) -> None:
    """Missing name, bad colour → 422; a second fence with the same name → 409."""
    no_name = box("x", 121, 31, 121.1, 31.1)
    no_name["properties"] = {}
    assert client.post("/territories", json=no_name, headers=h).status_code == 422
    bad_colour = box("Y", 121, 31, 121.1, 31.1, colour="red")
    assert client.post("/territories", json=bad_colour, headers=h).status_code == 422
    assert (
        client.post("/territories", json=box("Z", 121, 31, 121.1, 31.1), headers=h).status_code
        == 201
    )
    assert (
        client.post("/territories", json=box("Z", 122, 31, 122.1, 31.1), headers=h).status_code
        == 409
    )


def test_batch_lookup_and_export(client: TestClient, h: dict) -> None:
    """POST /territories/lookup answers many points; export is one FeatureCollection."""
    a = client.post("/territories", json=box("A", 121.0, 31.0, 121.5, 31.5), headers=h).json()
    client.post("/territories", json=box("B", 121.5, 31.0, 122.0, 31.5), headers=h)
    points = [{"lat": 31.2, "lon": 121.2}, {"lat": 31.2, "lon": 121.7}, {"lat": 30, "lon": 120}]
    r = client.post("/territories/lookup", json=points, headers=h).json()
    assert [p["territory_name"] for p in r] == ["A", "B", None]
    border = client.get("/territories/lookup?lat=31.2&lon=121.5", headers=h).json()
    assert border["territory_id"] is not None and len(border["covering"]) == 2
    assert (
        client.post("/territories/lookup", json=[{"lat": 91, "lon": 0}], headers=h).status_code
        == 422
    )
    fc = client.get("/territories/export", headers=h)
    assert fc.headers["content-type"].startswith("application/geo+json")
    assert fc.json()["features"][0]["id"] == a["id"]


def test_engineer_memberships(client: TestClient, h: dict) -> None:
    """Engineers hold primary and secondary territories; unknown ids are 422."""
    a = client.post("/territories", json=box("A", 121.0, 31.0, 121.5, 31.5), headers=h).json()
    b = client.post("/territories", json=box("B", 121.5, 31.0, 122.0, 31.5), headers=h).json()
    e = f.engineer(client, h)
    body = {
        "territories": [
            {"territory_id": a["id"], "role": "primary"},
            {"territory_id": b["id"], "role": "secondary"},
        ]
    }
    r = client.put(f"/engineers/{e['id']}/territories", json=body, headers=h)
    assert r.status_code == 200
    assert [(m["territory_name"], m["role"]) for m in r.json()] == [
        ("A", "primary"),
        ("B", "secondary"),
    ]
    bad = {"territories": [{"territory_id": 999}]}
    assert client.put(f"/engineers/{e['id']}/territories", json=bad, headers=h).status_code == 422
    assert client.get(f"/engineers?territory_id={b['id']}", headers=h).json()["count"] == 1


def test_geocoding_disabled_by_default(client: TestClient, h: dict) -> None:
    """Without coordinates and with geocoding off the answer says exactly that."""
    c = f.customer(client, h)
    r = client.post(
        "/sites", json={"customer_id": c["id"], "address": "People's Square"}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "coordinates required (geocoding is disabled)"


def test_configured_geocoder_fills_coordinates(engine: Engine, settings) -> None:
    """With a geocoder configured, an address alone is enough; unknown addresses are 422,
    an unreachable geocoder is 503."""
    from api.app import create_app

    configured = settings.model_copy(update={"geocoder": "tests.fakes.geocoder:TableGeocoder"})
    with TestClient(create_app(configured, engine=engine)) as client:
        h = f.headers_for(client, engine, Role.dispatcher)
        client.post("/territories", json=box("Centre", 121.4, 31.2, 121.5, 31.3), headers=h)
        c = f.customer(client, h)
        ok = client.post(
            "/sites", json={"customer_id": c["id"], "address": "People's Square"}, headers=h
        )
        assert ok.status_code == 201
        assert (ok.json()["lat"], ok.json()["lon"]) == (31.2336, 121.4753)
        assert ok.json()["territory_id"] is not None
        missing = client.post(
            "/sites", json={"customer_id": c["id"], "address": "Nowhere 1"}, headers=h
        )
        assert missing.status_code == 422
        down = client.post("/sites", json={"customer_id": c["id"], "address": "outage"}, headers=h)
        assert down.status_code == 503


def test_geocoding_does_not_hold_the_write_gate(engine: Engine, settings) -> None:
    """A geocoder may take seconds to answer: other writers must not wait for it."""
    import pytest

    from api.app import create_app
    from crm.db import gate_of

    gate = gate_of(engine)
    if gate is None:
        pytest.skip("the write gate is SQLite's")
    configured = settings.model_copy(update={"geocoder": "tests.fakes.geocoder:TableGeocoder"})
    app = create_app(configured, engine=engine)
    inner = app.state.geocoder
    gate_free_while_geocoding: list[bool] = []

    class Watching:
        def geocode(self, query: str, **kwargs: object) -> object:
            fd = gate.try_take()
            gate_free_while_geocoding.append(fd is not None)
            if fd is not None:
                gate.give_back(fd)
            return inner.geocode(query, **kwargs)

    app.state.geocoder = Watching()
    with TestClient(app) as client:
        h = f.headers_for(client, engine, Role.dispatcher)
        c = f.customer(client, h)
        ok = client.post(
            "/sites", json={"customer_id": c["id"], "address": "People's Square"}, headers=h
        )
        assert ok.status_code == 201, ok.text
    assert gate_free_while_geocoding == [True]
