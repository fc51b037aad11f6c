"""Tickets: creation, edits, the whole status machine over HTTP, events."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.models import Engineer, Role, Ticket
from crm.models import TicketStatus as S
from crm.status import allowed_from
from tests import factories as f


def _setup(client: TestClient, engine: Engine) -> tuple[dict[str, str], dict[str, Any], dict]:
    h = f.headers_for(client, engine, Role.dispatcher)
    c = f.customer(client, h)
    s = f.site(client, h, c["id"])
    return h, c, s


def test_create_with_skills_and_windows(client: TestClient, engine: Engine) -> None:
    """A ticket keeps its skills with levels and windows, starts new, and logs a created event."""
    h, c, s = _setup(client, engine)
    f.skill(client, h, "hvac")
    t = f.ticket(
        client,
        h,
        c["id"],
        s["id"],
        priority="urgent",
        required_skills=[{"code": "hvac", "min_level": 3}],
        windows=[{"start": f.at(14), "end": f.at(16)}, {"start": f.at(9), "end": f.at(11)}],
        sla_due_at=f.at(18),
    )
    assert t["status"] == "new" and t["priority"] == "urgent"
    assert t["required_skills"] == [{"code": "hvac", "min_level": 3}]
    assert [w["start"] for w in t["windows"]] == sorted(w["start"] for w in t["windows"])
    events = client.get(f"/tickets/{t['id']}/events", headers=h).json()
    assert [e["kind"] for e in events] == ["created"]


def test_unknown_skill_site_of_other_customer_and_bad_windows(
    client: TestClient, engine: Engine
) -> None:
    """Business-rule violations are 422 with the field named, and nothing is stored."""
    h, c, s = _setup(client, engine)
    other = f.customer(client, h)
    base = {"customer_id": c["id"], "site_id": s["id"], "title": "t", "duration_min": 30}
    r = client.post("/tickets", json={**base, "required_skills": [{"code": "nope"}]}, headers=h)
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    r = client.post("/tickets", json={**base, "customer_id": other["id"]}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "site_id"]
    r = client.post(
        "/tickets", json={**base, "windows": [{"start": f.at(12), "end": f.at(11)}]}, headers=h
    )
    assert r.status_code == 422
    r = client.post(
        "/tickets",
        json={**base, "windows": [{"start": "2026-12-01T09:00:00", "end": "2026-12-01T10:00:00"}]},
        headers=h,
    )
    assert r.status_code == 422, "naive timestamps must be refused"
    overlapping = [{"start": f.at(9), "end": f.at(11)}, {"start": f.at(10), "end": f.at(12)}]
    r = client.post("/tickets", json={**base, "windows": overlapping}, headers=h)
    assert r.status_code == 422
    assert client.get("/tickets", headers=h).json()["count"] == 0


def test_every_transition_pair(client: TestClient, engine: Engine) -> None:
    """For every (from, to) pair: legal moves apply and log an event; illegal ones are 409
    listing the allowed moves, and leave the ticket untouched."""
    h, c, s = _setup(client, engine)
    eng = f.engineer(client, h)
    t = f.ticket(client, h, c["id"], s["id"])
    failures = []
    for current in S:
        for wanted in S:
            with Session(engine) as session:
                row = session.get(Ticket, t["id"])
                assert row is not None
                row.status = current
                row.held_from = S.scheduled if current is S.on_hold else None
                row.engineer_id = eng["id"]
                session.add(row)
                session.commit()
                version_before = row.version
            body = {"to": wanted, "reason": "because"}
            r = client.post(f"/tickets/{t['id']}/transitions", json=body, headers=h)
            legal = wanted in allowed_from(current, S.scheduled if current is S.on_hold else None)
            if legal:
                expected = S.new if wanted is S.declined else wanted
                ok = r.status_code == 200 and r.json()["status"] == expected
            else:
                ok = (
                    r.status_code == 409
                    and r.json()["allowed"] == list(allowed_from(current, S.scheduled))
                    if current is S.on_hold
                    else r.status_code == 409 and r.json()["allowed"] == list(allowed_from(current))
                )
                with Session(engine) as session:
                    row = session.get(Ticket, t["id"])
                    ok = ok and row is not None and row.version == version_before
            if not ok:
                failures.append((current.value, wanted.value, r.status_code, r.text[:120]))
    assert not failures, failures


def test_full_lifecycle_records_every_step(client: TestClient, engine: Engine) -> None:
    """Walking the happy path leaves one transition event per step, with from/to and actor."""
    h, c, s = _setup(client, engine)
    eng = f.engineer(client, h)
    t = f.ticket(client, h, c["id"], s["id"])
    url = f"/tickets/{t['id']}/transitions"
    assert client.post(url, json={"to": "dispatched"}, headers=h).status_code == 422
    steps = ["scheduled", "dispatched", "accepted", "travelling", "on_site", "completed"]
    for i, step in enumerate(steps):
        body: dict[str, Any] = {"to": step}
        if i == 0:
            body["engineer_id"] = eng["id"]
        r = client.post(url, json=body, headers=h)
        assert r.status_code == 200, r.text
    events = client.get(f"/tickets/{t['id']}/events", headers=h).json()
    pairs = [(e["from_status"], e["to_status"]) for e in events if e["kind"] == "transition"]
    assert pairs == list(zip(["new", *steps[:-1]], steps, strict=True))
    assert all(e["actor"].startswith("dispatcher") for e in events)
    assert client.patch(
        f"/tickets/{t['id']}", json={"title": "late edit"}, headers={**h, "If-Match": '"99"'}
    ).status_code in (409, 412)


def test_decline_needs_reason_and_returns_to_pool(client: TestClient, engine: Engine) -> None:
    """Declining without a reason is 422; with one the ticket is new again, unassigned."""
    h, c, s = _setup(client, engine)
    eng = f.engineer(client, h)
    t = f.ticket(client, h, c["id"], s["id"])
    url = f"/tickets/{t['id']}/transitions"
    client.post(url, json={"to": "dispatched", "engineer_id": eng["id"]}, headers=h)
    assert client.post(url, json={"to": "declined"}, headers=h).status_code == 422
    r = client.post(url, json={"to": "declined", "reason": "too far"}, headers=h)
    assert r.status_code == 200
    assert r.json()["status"] == "new" and r.json()["engineer_id"] is None
    kinds = [e["kind"] for e in client.get(f"/tickets/{t['id']}/events", headers=h).json()]
    assert kinds[-2:] == ["transition", "returned_to_pool"]


def test_hold_and_resume(client: TestClient, engine: Engine) -> None:
    """on_hold remembers where it came from and goes back there."""
    h, c, s = _setup(client, engine)
    eng = f.engineer(client, h)
    t = f.ticket(client, h, c["id"], s["id"])
    url = f"/tickets/{t['id']}/transitions"
    client.post(url, json={"to": "scheduled", "engineer_id": eng["id"]}, headers=h)
    assert (
        client.post(url, json={"to": "on_hold", "reason": "parts"}, headers=h).json()["status"]
        == "on_hold"
    )
    r = client.post(url, json={"to": "accepted"}, headers=h)
    assert r.status_code == 409 and "scheduled" in r.json()["allowed"]
    assert client.post(url, json={"to": "scheduled"}, headers=h).json()["status"] == "scheduled"


def test_inactive_engineer_cannot_be_dispatched(client: TestClient, engine: Engine) -> None:
    """Dispatching to an inactive engineer is refused."""
    h, c, s = _setup(client, engine)
    eng = f.engineer(client, h)
    with Session(engine) as session:
        row = session.get(Engineer, eng["id"])
        assert row is not None
        row.active = False
        session.add(row)
        session.commit()
    t = f.ticket(client, h, c["id"], s["id"])
    r = client.post(
        f"/tickets/{t['id']}/transitions",
        json={"to": "dispatched", "engineer_id": eng["id"]},
        headers=h,
    )
    assert r.status_code == 422


def test_patch_updates_and_logs(client: TestClient, engine: Engine) -> None:
    """PATCH changes fields, bumps the version, and logs what changed."""
    h, c, s = _setup(client, engine)
    f.skill(client, h, "gas")
    t = f.ticket(client, h, c["id"], s["id"])
    r = client.patch(
        f"/tickets/{t['id']}",
        json={"priority": "high", "required_skills": [{"code": "gas", "min_level": 2}]},
        headers={**h, "If-Match": f'"{t["version"]}"'},
    )
    assert r.status_code == 200
    assert r.json()["priority"] == "high" and r.json()["version"] == t["version"] + 1
    assert r.json()["required_skills"] == [{"code": "gas", "min_level": 2}]
    ev = client.get(f"/tickets/{t['id']}/events", headers=h).json()[-1]
    assert ev["kind"] == "updated" and ev["payload"]["priority"] == ["normal", "high"]


def test_list_filters(client: TestClient, engine: Engine) -> None:
    """Status, priority, bounding box and sorting filters select the right tickets."""
    h, c, s = _setup(client, engine)
    far = f.site(client, h, c["id"], lat=39.9, lon=116.4)
    f.ticket(client, h, c["id"], s["id"], priority="urgent")
    f.ticket(client, h, c["id"], s["id"], priority="low")
    f.ticket(client, h, c["id"], far["id"], priority="low")
    assert client.get("/tickets?priority=low", headers=h).json()["count"] == 2
    assert client.get("/tickets?priority=low&priority=urgent", headers=h).json()["count"] == 3
    box = "min_lat=30&max_lat=32&min_lon=121&max_lon=122"
    assert client.get(f"/tickets?{box}", headers=h).json()["count"] == 2
    assert client.get("/tickets?status=completed", headers=h).json()["count"] == 0
    assert client.get("/tickets?status=bogus", headers=h).status_code == 422
    data = client.get("/tickets?sort=-id&limit=1", headers=h).json()
    assert data["count"] == 3 and len(data["data"]) == 1
    past_the_end = client.get("/tickets?offset=10", headers=h).json()
    assert past_the_end["count"] == 3 and past_the_end["data"] == []


def test_read_paths_serialise_exactly_like_the_model(client: TestClient, engine: Engine) -> None:
    """The list and the single read write their JSON straight from rows (no model per
    ticket); every field, value format and key order must match the model's JSON."""
    from crm.schemas.common import Page
    from crm.schemas.tickets import TicketPublic

    h, c, s = _setup(client, engine)
    f.skill(client, h, "hvac")
    f.skill(client, h, "gas")
    created = [
        client.post(
            "/tickets",
            headers=h,
            json={
                "customer_id": c["id"],
                "site_id": s["id"],
                "title": "Boiler",
                "duration_min": 90,
                "priority": "urgent",
                "required_skills": [{"code": "hvac", "min_level": 2}, {"code": "gas"}],
                "windows": [{"start": f.at(14), "end": f.at(16, 30)}],
                "sla_due_at": "2030-01-02T03:04:05.123456+08:00",
            },
        ),
        client.post(
            "/tickets",
            headers=h,
            json={"customer_id": c["id"], "site_id": s["id"], "title": "Plain", "duration_min": 30},
        ),
    ]
    for resp in created:
        assert resp.status_code == 201, resp.text
        one = client.get(f"/tickets/{resp.json()['id']}", headers=h)
        # Same bytes as the model-built answer of the create (key order included).
        assert one.content == resp.content, (one.content, resp.content)
        assert one.headers["etag"] == resp.headers["etag"]
        model = TicketPublic.model_validate_json(one.content)
        assert one.content == model.model_dump_json().encode()
    listed = client.get("/tickets?sort=id", headers=h)
    assert listed.headers["content-type"] == "application/json"
    page = Page[TicketPublic].model_validate_json(listed.content)
    assert listed.content == page.model_dump_json().encode()
    assert [t.id for t in page.data] == [r.json()["id"] for r in created]
    assert page.data[0].sla_due_at is not None and page.data[0].sla_due_at.microsecond == 123456


def test_a_field_that_cannot_be_empty_is_422_not_a_conflict(
    client: TestClient, engine: Engine
) -> None:
    h, c, s = _setup(client, engine)
    t = f.ticket(client, h, c["id"], s["id"], description="Leaking tap")
    for body in ({"description": None}, {"title": None}, {"priority": None}):
        r = client.patch(f"/tickets/{t['id']}", json=body, headers={**h, "If-Match": '"1"'})
        assert r.status_code == 422, r.text
        assert "cannot be null" in r.json()["detail"]
    again = client.get(f"/tickets/{t['id']}", headers=h).json()
    assert again["description"] == "Leaking tap" and again["version"] == 1
