"""Test data builders: short calls that make valid records, overridable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.models import Role
from crm.schemas.users import UserCreate
from crm.services.users import create_user

_seq = count(1)
PASSWORD = "correct horse battery"
DAY = date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: date = DAY) -> str:
    """An ISO timestamp on the test day, in Shanghai time (UTC+8)."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)
    return local.isoformat()


def make_user(engine: Engine, role: Role, engineer_id: int | None = None) -> str:
    name = f"{role.value}{next(_seq)}"
    with session_scope(engine) as s:
        create_user(
            s, data=UserCreate(username=name, password=PASSWORD, role=role, engineer_id=engineer_id)
        )
    return name


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def headers_for(
    client: TestClient, engine: Engine, role: Role, engineer_id: int | None = None
) -> dict[str, str]:
    return login(client, make_user(engine, role, engineer_id))


def customer(client: TestClient, h: dict[str, str], **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"name": f"Customer {n}", "phone": f"+86 139 {n:04d} {n:04d}", "tier": "B", **kw}
    r = client.post("/customers", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def site(client: TestClient, h: dict[str, str], customer_id: int, **kw: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "address": "1 Test Rd", "lat": 31.23, "lon": 121.47, **kw}
    r = client.post("/sites", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def skill(client: TestClient, h: dict[str, str], code: str = "hvac") -> dict[str, Any]:
    r = client.post("/skills", json={"code": code, "name": code.upper()}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def engineer(client: TestClient, h: dict[str, str], **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"name": f"Engineer {n}", "home_lat": 31.2, "home_lon": 121.4, **kw}
    r = client.post("/engineers", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def ticket(
    client: TestClient, h: dict[str, str], customer_id: int, site_id: int, **kw: Any
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "site_id": site_id,
        "title": "Fix it",
        "duration_min": 60,
        **kw,
    }
    r = client.post("/tickets", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()
