"""Idempotency-Key on every mobile POST: a retry applies once and gets the first answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from crm.models import TicketEvent
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401


def event_count(engine: Engine, ticket_id: int) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        ).one()


def test_retry_with_the_same_key_replays_the_first_answer(
    client: TestClient, engine: Engine
) -> None:
    """Same key, same body: same status and body, marked replayed, one event only."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    h = {**c.me, "Idempotency-Key": "k-accept-1"}
    first = client.post(f"/me/tickets/{t['id']}/accept", json={"note": "on it"}, headers=h)
    before = event_count(engine, t["id"])
    again = client.post(f"/me/tickets/{t['id']}/accept", json={"note": "on it"}, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["etag"] == first.headers["etag"]
    assert event_count(engine, t["id"]) == before


def test_same_key_with_another_request_is_422(client: TestClient, engine: Engine) -> None:
    """Reusing a key for a different body or another ticket is refused, and nothing applies."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    other = mf.dispatched_ticket(client, c)
    h = {**c.me, "Idempotency-Key": "k-reuse"}
    assert client.post(f"/me/tickets/{t['id']}/accept", json={}, headers=h).status_code == 200
    r = client.post(f"/me/tickets/{t['id']}/accept", json={"note": "changed"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    r = client.post(f"/me/tickets/{other['id']}/accept", json={}, headers=h)
    assert r.status_code == 422
    assert client.get(f"/tickets/{other['id']}", headers=c.staff).json()["status"] == "dispatched"


def test_keys_belong_to_their_user(client: TestClient, engine: Engine) -> None:
    """Two engineers using the same key string each get their own effect."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    ta = mf.dispatched_ticket(client, a)
    tb = mf.dispatched_ticket(client, b)
    for crew, t in ((a, ta), (b, tb)):
        r = client.post(
            f"/me/tickets/{t['id']}/accept", headers={**crew.me, "Idempotency-Key": "same-key"}
        )
        assert r.status_code == 200 and "idempotent-replayed" not in r.headers


def test_a_refusal_is_replayed_but_a_malformed_request_is_not_remembered(
    client: TestClient, engine: Engine
) -> None:
    """A 409 is the first answer and comes back; a 422 body error leaves the key unused."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    url = f"/me/tickets/{t['id']}"
    h = {**c.me, "Idempotency-Key": "k-409"}
    assert client.post(f"{url}/start-travel", headers=h).status_code == 409
    mf.walk(client, c, t["id"], "accept")
    replay = client.post(f"{url}/start-travel", headers=h)
    assert replay.status_code == 409 and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["content-type"].startswith("application/problem+json")
    h2 = {**c.me, "Idempotency-Key": "k-422"}
    assert client.post(f"{url}/start-travel", json={"lat": 1}, headers=h2).status_code == 422
    ok = client.post(f"{url}/start-travel", json={}, headers=h2)
    assert ok.status_code == 200 and ok.json()["status"] == "travelling"


def test_bad_key_header_is_422(client: TestClient, engine: Engine) -> None:
    """A key with spaces or over 200 characters is refused before anything runs."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    for key in ("has space", "x" * 201):
        r = client.post(f"/me/tickets/{t['id']}/accept", headers={**c.me, "Idempotency-Key": key})
        assert r.status_code == 422
    assert client.get(f"/tickets/{t['id']}", headers=c.staff).json()["status"] == "dispatched"


def test_two_identical_requests_at_once_apply_once(client: TestClient, engine: Engine) -> None:
    """Eight copies of one keyed request sent together: one effect, eight equal answers."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    before = event_count(engine, t["id"])
    h = {**c.me, "Idempotency-Key": "k-race"}

    def send(_: int) -> tuple[int, dict]:
        r = client.post(f"/me/tickets/{t['id']}/accept", json={}, headers=h)
        return r.status_code, r.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {status for status, _ in answers} == {200}
    assert all(body == answers[0][1] for _, body in answers)
    assert event_count(engine, t["id"]) == before + 1


def test_locations_with_a_key_replay(client: TestClient, engine: Engine) -> None:
    """A location batch resent under its key returns the first receipt (stored: 2)."""
    c = mf.crew(client, engine)
    now = datetime.now(UTC)
    pts = [
        {"at": (now - timedelta(seconds=s)).isoformat(), "lat": 31.2, "lon": 121.4}
        for s in (60, 30)
    ]
    h = {**c.me, "Idempotency-Key": "loc-1"}
    first = client.post("/me/locations", json={"points": pts}, headers=h)
    again = client.post("/me/locations", json={"points": pts}, headers=h)
    assert first.json()["stored"] == 2
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
