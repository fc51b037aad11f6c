"""Location pings: batches, the last known position, validation, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from crm.db import session_scope
from crm.models import LocationPing
from crm.services import locations
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401


def points(n: int, *, start: datetime | None = None, step_s: int = 30) -> list[dict]:
    start = start or datetime.now(UTC) - timedelta(hours=1)
    return [
        {
            "at": (start + timedelta(seconds=i * step_s)).isoformat(),
            "lat": 31.2 + i * 1e-4,
            "lon": 121.4,
            "accuracy_m": 8.5,
        }
        for i in range(n)
    ]


def ping_count(engine: Engine, engineer_id: int) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count())
            .select_from(LocationPing)
            .where(LocationPing.engineer_id == engineer_id)
        ).one()


def test_batch_is_stored_and_moves_the_marker(client: TestClient, engine: Engine) -> None:
    """50 points stored; the engineer's last position is the newest point."""
    c = mf.crew(client, engine)
    batch = points(50)
    r = client.post("/me/locations", json={"points": batch}, headers=c.me)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 50 and r.json()["duplicates"] == 0
    assert ping_count(engine, c.engineer_id) == 50
    eng = client.get(f"/engineers/{c.engineer_id}", headers=c.staff).json()
    assert eng["last_lat"] == round(batch[-1]["lat"], 6)
    assert datetime.fromisoformat(eng["last_seen_at"]) == datetime.fromisoformat(batch[-1]["at"])
    mine = client.get("/me/locations?limit=5", headers=c.me).json()
    assert len(mine) == 5 and mine[0]["at"] > mine[-1]["at"]


def test_resent_and_older_batches_do_not_duplicate_or_move_back(
    client: TestClient, engine: Engine
) -> None:
    """Resending is deduplicated; a late batch of older points leaves the marker where it is."""
    c = mf.crew(client, engine)
    now = datetime.now(UTC)
    recent = points(10, start=now - timedelta(minutes=10))
    assert (
        client.post("/me/locations", json={"points": recent}, headers=c.me).json()["stored"] == 10
    )
    again = client.post("/me/locations", json={"points": recent}, headers=c.me).json()
    assert again["stored"] == 0 and again["duplicates"] == 10
    older = points(5, start=now - timedelta(hours=3))
    late = client.post("/me/locations", json={"points": older}, headers=c.me).json()
    assert late["stored"] == 5
    assert datetime.fromisoformat(late["last_seen_at"]) == datetime.fromisoformat(recent[-1]["at"])
    assert ping_count(engine, c.engineer_id) == 15


def test_future_points_reject_the_whole_batch(client: TestClient, engine: Engine) -> None:
    """A point 10 min ahead of the server clock: 422 naming it, nothing stored."""
    c = mf.crew(client, engine)
    batch = points(3, start=datetime.now(UTC) - timedelta(minutes=1))
    batch[2]["at"] = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    r = client.post("/me/locations", json={"points": batch}, headers=c.me)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "points", 2, "at"]
    assert ping_count(engine, c.engineer_id) == 0


def test_invalid_points_and_oversized_batches_are_422(client: TestClient, engine: Engine) -> None:
    """Out-of-range lat, NaN, naive time, empty or >1000-point batches: 422, nothing stored."""
    c = mf.crew(client, engine)
    good = points(1)[0]
    for bad in (
        {**good, "lat": 91},
        {**good, "lon": -181},
        {**good, "at": "2026-01-01T10:00:00"},
        {**good, "accuracy_m": -3},
    ):
        assert (
            client.post("/me/locations", json={"points": [good, bad]}, headers=c.me).status_code
            == 422
        )
    nan = b'{"points": [{"at": "2026-01-01T00:00:00Z", "lat": NaN, "lon": 1}]}'
    r = client.post(
        "/me/locations", content=nan, headers={**c.me, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert client.post("/me/locations", json={"points": []}, headers=c.me).status_code == 422
    assert (
        client.post(
            "/me/locations", json={"points": points(1001, step_s=1)}, headers=c.me
        ).status_code
        == 422
    )
    assert ping_count(engine, c.engineer_id) == 0


def test_points_past_retention_are_skipped(client: TestClient, engine: Engine, settings) -> None:
    """Points older than the retention period are counted, not stored."""
    c = mf.crew(client, engine)
    old = points(2, start=datetime.now(UTC) - timedelta(days=settings.location_retention_days + 1))
    r = client.post("/me/locations", json={"points": old + points(1)}, headers=c.me).json()
    assert (r["stored"], r["too_old"]) == (1, 2)


def test_prune_deletes_only_old_points(client: TestClient, engine: Engine) -> None:
    """prune() removes points older than the retention and keeps the rest."""
    c = mf.crew(client, engine)
    now = datetime.now(UTC)
    batch = points(4, start=now - timedelta(hours=3), step_s=3600)  # -3 h, -2 h, -1 h, now
    assert client.post("/me/locations", json={"points": batch}, headers=c.me).json()["stored"] == 4
    later = now + timedelta(days=30) - timedelta(minutes=90)
    with session_scope(engine) as s:
        assert locations.prune(s, now=later, retention_days=30) == 2
    assert ping_count(engine, c.engineer_id) == 2
