"""Builders for the mobile API tests: an engineer with a login, tickets
dispatched to him, a published route for a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.models import Plan, PlanStatus, Role, Route, Stop
from tests import factories as f

DAY = f.DAY
# The test site sits here (factories.site default).
SITE_LAT, SITE_LON = 31.23, 121.47
# A JPEG's first bytes are enough for the sniffer; the rest is filler.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for these tests: logins are not what they check.

    Import this fixture into a test module to switch it on there.
    """
    from crm.services import users

    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class Crew:
    """A dispatcher and one engineer with their logins."""

    staff: dict[str, str]
    engineer_id: int
    me: dict[str, str]


def crew(client: TestClient, engine: Engine, staff: dict[str, str] | None = None) -> Crew:
    staff = staff or f.headers_for(client, engine, Role.dispatcher)
    eng = f.engineer(client, staff)
    return Crew(staff, eng["id"], f.headers_for(client, engine, Role.engineer, eng["id"]))


def dispatched_ticket(
    client: TestClient, c: Crew, *, status: str = "dispatched", **ticket_kw: Any
) -> dict[str, Any]:
    """A ticket for the crew's engineer, moved to ``status`` (scheduled or dispatched)."""
    cust = f.customer(client, c.staff)
    site = f.site(client, c.staff, cust["id"])
    t = f.ticket(client, c.staff, cust["id"], site["id"], **ticket_kw)
    r = client.post(
        f"/tickets/{t['id']}/transitions",
        json={"to": status, "engineer_id": c.engineer_id},
        headers=c.staff,
    )
    assert r.status_code == 200, r.text
    return r.json()


def walk(client: TestClient, c: Crew, ticket_id: int, *actions: str, **body: Any) -> None:
    """Push a ticket through mobile actions, asserting each succeeds."""
    for action in actions:
        r = client.post(f"/me/tickets/{ticket_id}/{action}", json=body or {}, headers=c.me)
        assert r.status_code == 200, r.text


def publish_route(
    engine: Engine,
    engineer_id: int,
    ticket_ids: list[int],
    day: date = DAY,
    *,
    start_hour: int = 1,
) -> int:
    """A published plan for ``day`` with this engineer's stops in the given order."""
    base = datetime(day.year, day.month, day.day, start_hour, tzinfo=UTC)
    with session_scope(engine) as s:
        plan = Plan(day=day, status=PlanStatus.published, published_at=base - timedelta(hours=8))
        s.add(plan)
        s.flush()
        route = Route(
            plan_id=plan.id or 0,
            engineer_id=engineer_id,
            day=day,
            start_at=base,
            end_at=base + timedelta(hours=8),
            distance_m=12_345,
            drive_s=1800,
            stop_count=len(ticket_ids),
        )
        s.add(route)
        s.flush()
        for seq, tid in enumerate(ticket_ids):
            start = base + timedelta(hours=seq + 1)
            s.add(
                Stop(
                    route_id=route.id or 0,
                    ticket_id=tid,
                    seq=seq,
                    arrival_at=start - timedelta(minutes=10),
                    start_at=start,
                    end_at=start + timedelta(hours=1),
                )
            )
        return plan.id or 0


def far_point(metres_north: float) -> dict[str, float]:
    """A position ``metres_north`` of the test site (1° of latitude ≈ 110.9 km here)."""
    return {"lat": SITE_LAT + metres_north / 110_900, "lon": SITE_LON}
