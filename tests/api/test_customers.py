"""Customers: one customer, one identity; ETags; validation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.models import Role
from tests import factories as f


def test_phone_is_normalised_and_duplicates_are_409(client: TestClient, engine: Engine) -> None:
    """The same phone typed differently is the same customer: 409 names the existing one."""
    h = f.headers_for(client, engine, Role.dispatcher)
    first = f.customer(client, h, phone="138 1234 5678")
    assert first["phone"] == "+8613812345678"
    r = client.post("/customers", json={"name": "Other", "phone": "+86-138-1234-5678"}, headers=h)
    assert r.status_code == 409
    body = r.json()
    assert body["existing_id"] == first["id"] and first["name"] in body["detail"]


def test_licence_duplicates_are_409_on_update_too(client: TestClient, engine: Engine) -> None:
    """Updating a customer onto another's licence number is refused with 409."""
    h = f.headers_for(client, engine, Role.dispatcher)
    a = f.customer(client, h, licence_no="91310000 ma1fl0xq2k")
    assert a["licence_no"] == "91310000MA1FL0XQ2K"
    b = f.customer(client, h)
    r = client.patch(
        f"/customers/{b['id']}",
        json={"licence_no": "91310000MA1FL0XQ2K"},
        headers={**h, "If-Match": f'"{b["version"]}"'},
    )
    assert r.status_code == 409 and r.json()["existing_id"] == a["id"]


def test_bad_phone_is_422_with_field(client: TestClient, engine: Engine) -> None:
    """A phone with letters is a field-level 422, nothing stored."""
    h = f.headers_for(client, engine, Role.dispatcher)
    r = client.post("/customers", json={"name": "X", "phone": "call me"}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "phone"]
    assert client.get("/customers", headers=h).json()["count"] == 0


def test_validation_errors_are_problem_json(client: TestClient, engine: Engine) -> None:
    """Pydantic validation comes back as problem+json with every field error."""
    h = f.headers_for(client, engine, Role.dispatcher)
    r = client.post("/customers", json={"name": "", "tier": "Z", "extra": 1}, headers=h)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert {("body", "name"), ("body", "tier"), ("body", "extra")} <= locs


def test_update_needs_if_match_and_rejects_stale(client: TestClient, engine: Engine) -> None:
    """PATCH without If-Match is 428; with an old ETag 412; with the current one it applies."""
    h = f.headers_for(client, engine, Role.dispatcher)
    c = f.customer(client, h)
    url = f"/customers/{c['id']}"
    assert client.patch(url, json={"notes": "x"}, headers=h).status_code == 428
    etag = client.get(url, headers=h).headers["etag"]
    ok = client.patch(url, json={"notes": "first"}, headers={**h, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = client.patch(url, json={"notes": "second"}, headers={**h, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url, headers=h).json()["notes"] == "first"


def test_two_dispatchers_one_wins(client: TestClient, engine: Engine) -> None:
    """Two writers with the same ETag: the first wins, the second gets 412 and nothing is lost."""
    h1 = f.headers_for(client, engine, Role.dispatcher)
    h2 = f.headers_for(client, engine, Role.dispatcher)
    c = f.customer(client, h1)
    url = f"/customers/{c['id']}"
    etag = client.get(url, headers=h1).headers["etag"]
    r1 = client.patch(url, json={"name": "Renamed by one"}, headers={**h1, "If-Match": etag})
    r2 = client.patch(url, json={"tier": "A"}, headers={**h2, "If-Match": etag})
    assert (r1.status_code, r2.status_code) == (200, 412)
    final = client.get(url, headers=h1).json()
    assert final["name"] == "Renamed by one" and final["tier"] == "B"


def test_list_filters_and_pages(client: TestClient, engine: Engine) -> None:
    """Lists page with a total and filter by tier and search text."""
    h = f.headers_for(client, engine, Role.dispatcher)
    for i in range(5):
        f.customer(client, h, name=f"Shop {i}", tier="A" if i % 2 else "C")
    page = client.get("/customers?limit=2&offset=1&sort=-name", headers=h).json()
    assert page["count"] == 5 and len(page["data"]) == 2
    assert [c["name"] for c in page["data"]] == ["Shop 3", "Shop 2"]
    assert client.get("/customers?tier=A", headers=h).json()["count"] == 2
    assert client.get("/customers?q=shop 4", headers=h).json()["count"] == 1
    assert client.get("/customers?sort=secret", headers=h).status_code == 422


def test_delete_needs_if_match_and_refuses_with_tickets(client: TestClient, engine: Engine) -> None:
    """A customer with tickets cannot be deleted; one without can, with If-Match."""
    h = f.headers_for(client, engine, Role.dispatcher)
    c = f.customer(client, h)
    s = f.site(client, h, c["id"])
    f.ticket(client, h, c["id"], s["id"])
    etag = f'"{c["version"]}"'
    assert client.delete(f"/customers/{c['id']}", headers=h).status_code == 428
    assert (
        client.delete(f"/customers/{c['id']}", headers={**h, "If-Match": etag}).status_code == 409
    )
    lonely = f.customer(client, h)
    r = client.delete(
        f"/customers/{lonely['id']}", headers={**h, "If-Match": f'"{lonely["version"]}"'}
    )
    assert r.status_code == 204
    assert client.get(f"/customers/{lonely['id']}", headers=h).status_code == 404
