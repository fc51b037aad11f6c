"""Offline sync: queued actions applied in order, once, each whole or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crm.errors import InvalidInput
from crm.models import IdempotencyRecord, TicketEvent
from crm.services import mobile
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401

_keys = count(1)


def item(ticket_id: int, action: str, key: str | None = None, **payload: Any) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=5)
    return {
        "key": key or f"q-{next(_keys)}",
        "client_at": at.isoformat(),
        "ticket_id": ticket_id,
        "action": action,
        "payload": payload,
    }


def full_job(ticket_id: int) -> list[dict]:
    here = mf.far_point(20)
    return [
        item(ticket_id, "accept"),
        item(ticket_id, "start_travel"),
        item(ticket_id, "arrive", **here, accuracy_m=10),
        item(ticket_id, "complete", **here, outcome="fixed", notes="done"),
    ]


def sync(client: TestClient, c: mf.Crew, items: list[dict], **extra: Any) -> dict:
    r = client.post("/me/sync", json={"items": items, **extra}, headers=c.me)
    assert r.status_code == 200, r.text
    return r.json()


def transitions(engine: Engine, ticket_id: int) -> list[TicketEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "transition")
                .order_by(TicketEvent.id)
            ).all()
        )


def test_queue_applies_in_order_with_client_times(client: TestClient, engine: Engine) -> None:
    """accept, travel, arrive, complete from the queue: all applied, in order, client_at kept."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    queue = full_job(t["id"])
    out = sync(client, c, queue)
    assert (out["applied"], out["rejected"], out["replayed"]) == (4, 0, 0)
    assert [r["ticket"]["status"] for r in out["results"]] == [
        "accepted",
        "travelling",
        "on_site",
        "completed",
    ]
    ev = transitions(engine, t["id"])[-4:]
    assert [e.to_status for e in ev] == ["accepted", "travelling", "on_site", "completed"]
    assert ev[0].payload["client_at"] == queue[0]["client_at"]
    assert ev[0].payload["idempotency_key"] == queue[0]["key"]
    assert ev[2].distance_m == pytest.approx(20, abs=2)


def test_resending_the_queue_changes_nothing(client: TestClient, engine: Engine) -> None:
    """The same queue again: every item replayed with its first result, no new events."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    queue = full_job(t["id"])
    first = sync(client, c, queue)
    n = len(transitions(engine, t["id"]))
    again = sync(client, c, queue)
    assert again["replayed"] == 4 and again["applied"] == 0
    assert [r["ticket"] for r in again["results"]] == [r["ticket"] for r in first["results"]]
    assert all(r["replayed"] for r in again["results"])
    assert len(transitions(engine, t["id"])) == n


def test_conflicts_come_back_per_item(client: TestClient, engine: Engine) -> None:
    """A ticket reassigned meanwhile and an illegal move are rejected; other items apply."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    moved = mf.dispatched_ticket(client, a)
    mine = mf.dispatched_ticket(client, a)
    for step in (
        {"to": "on_hold"},
        {"to": "new"},
        {"to": "dispatched", "engineer_id": b.engineer_id},
    ):
        r = client.post(f"/tickets/{moved['id']}/transitions", json=step, headers=a.staff)
        assert r.status_code == 200, r.text
    out = sync(
        client,
        a,
        [item(moved["id"], "accept"), item(mine["id"], "arrive"), item(mine["id"], "accept")],
    )
    r0, r1, r2 = out["results"]
    assert (r0["outcome"], r0["status"], r0["problem"]["code"]) == (
        "rejected",
        409,
        "ticket_reassigned",
    )
    assert (r1["status"], r1["problem"]["code"]) == (409, "illegal_transition")
    assert r1["problem"]["allowed_actions"] == ["accept", "decline"]
    assert r2["outcome"] == "applied" and r2["ticket"]["status"] == "accepted"
    assert client.get(f"/tickets/{moved['id']}", headers=a.staff).json()["engineer_id"] == (
        b.engineer_id
    )


def test_someone_elses_ticket_is_404_per_item(client: TestClient, engine: Engine) -> None:
    """A queued action on another engineer's ticket is a 404 item; his ticket is untouched."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    theirs = mf.dispatched_ticket(client, b)
    out = sync(
        client, a, [item(theirs["id"], "decline", reason="mine now?"), item(999_999, "accept")]
    )
    assert [r["status"] for r in out["results"]] == [404, 404]
    assert "engineer" not in str(out["results"][0]["problem"]).lower()
    assert client.get(f"/tickets/{theirs['id']}", headers=a.staff).json()["status"] == "dispatched"


def test_malformed_items_are_422_and_not_remembered(client: TestClient, engine: Engine) -> None:
    """Unknown action, bad payload, future client time: 422 items; fixed, the same key applies."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    future = item(t["id"], "accept")
    future["client_at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    out = sync(
        client, c, [item(t["id"], "teleport"), item(t["id"], "decline", key="fix-me"), future]
    )
    assert [r["status"] for r in out["results"]] == [422, 422, 422]
    assert out["results"][1]["problem"]["errors"][0]["loc"] == [
        "body",
        "items",
        1,
        "payload",
        "reason",
    ]
    fixed = sync(client, c, [item(t["id"], "decline", key="fix-me", reason="Flat tyre")])
    assert fixed["applied"] == 1 and fixed["results"][0]["ticket"]["status"] == "new"


def test_an_item_applies_whole_or_not_at_all(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If accepting fails after the implied dispatch was written, neither move remains."""
    c = mf.crew(client, engine)
    scheduled = mf.dispatched_ticket(client, c, status="scheduled")
    other = mf.dispatched_ticket(client, c)
    real = mobile.transition

    def flaky(session: Session, **kw: Any) -> Any:
        if kw["ticket_id"] == scheduled["id"] and kw["request"].to == "accepted":
            raise InvalidInput("simulated failure after the first write")
        return real(session, **kw)

    monkeypatch.setattr(mobile, "transition", flaky)
    out = sync(
        client, c, [item(scheduled["id"], "accept", key="half"), item(other["id"], "accept")]
    )
    assert [r["outcome"] for r in out["results"]] == ["rejected", "applied"]
    assert client.get(f"/tickets/{scheduled['id']}", headers=c.staff).json()["status"] == (
        "scheduled"
    )
    assert [e.to_status for e in transitions(engine, scheduled["id"])] == ["scheduled"]
    with Session(engine) as s:  # the refusal is remembered under its key, the effects are not
        assert (
            s.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "half"))
            .one()
            .status_code
            == 422
        )


def test_an_action_tried_online_then_queued_applies_once(
    client: TestClient, engine: Engine
) -> None:
    """The phone's online try succeeded but the answer was lost; the queued copy is a replay."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    online = client.post(
        f"/me/tickets/{t['id']}/accept", json={}, headers={**c.me, "Idempotency-Key": "both-ways"}
    )
    assert online.status_code == 200
    out = sync(client, c, [item(t["id"], "accept", key="both-ways")])
    assert out["results"][0]["replayed"] is True
    assert out["results"][0]["ticket"] == online.json()
    assert len(transitions(engine, t["id"])) == 2  # dispatched, accepted


def test_locations_ride_along_and_a_bad_batch_does_not_block_the_queue(
    client: TestClient, engine: Engine
) -> None:
    """Pings in the sync are stored; a batch with a future point is reported, items still apply."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    now = datetime.now(UTC)
    pts = [
        {"at": (now - timedelta(seconds=30 * i)).isoformat(), "lat": 31.2, "lon": 121.4}
        for i in range(5)
    ]
    out = sync(client, c, [item(t["id"], "accept")], locations=pts)
    assert out["locations"]["stored"] == 5 and out["applied"] == 1
    bad = [*pts, {"at": (now + timedelta(hours=2)).isoformat(), "lat": 31.2, "lon": 121.4}]
    out = sync(client, c, [item(t["id"], "start_travel")], locations=bad)
    assert out["applied"] == 1 and out["locations"]["stored"] == 0
    assert out["locations"]["problem"]["errors"][0]["loc"] == ["body", "locations", 5, "at"]


def test_whole_sync_with_a_key_is_replayed(client: TestClient, engine: Engine) -> None:
    """Idempotency-Key on /me/sync itself: the retry gets the very same response back."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    body = {"items": full_job(t["id"])}
    h = {**c.me, "Idempotency-Key": "sync-1"}
    first = client.post("/me/sync", json=body, headers=h)
    again = client.post("/me/sync", json=body, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


def test_envelope_errors_are_422(client: TestClient, engine: Engine) -> None:
    """Missing key, bad key, too many items, unknown top-level field: 422 for the request."""
    c = mf.crew(client, engine)
    good = item(1, "accept")
    for body in (
        {"items": [{**good, "key": ""}]},
        {"items": [{**good, "key": "a b"}]},
        {"items": [{k: v for k, v in good.items() if k != "key"}]},
        {"items": [good] * 201},
        {"items": [], "extra": 1},
        {"items": [{**good, "client_at": "2026-01-01T10:00:00"}]},
    ):
        r = client.post("/me/sync", json=body, headers=c.me)
        assert r.status_code == 422, body
