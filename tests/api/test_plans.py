"""``/plans``: a planning job in a worker process, its progress, publishing, cancelling."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crm.models import Role, Ticket, TicketStatus
from tests import factories as f
from tests.dispatch.world import DAY, World


def _world(engine: Engine, tickets: int = 6) -> World:
    w = World(engine).setup()
    w.territory("North")
    w.engineer("Ann", primary=["North"], lat=31.22, lon=121.42)
    w.scatter(tickets, territory="North")
    w.ticket(territory="North", skills={"elec": 5})  # nobody has elec 5
    return w


def test_plan_job_runs_in_background_then_publishes(
    client: TestClient, engine: Engine, app: Any
) -> None:
    """POST starts a job (202 + Location); when done GET shows totals, routes and reasons;
    publishing schedules the tickets."""
    w = _world(engine)
    h = f.headers_for(client, engine, Role.dispatcher)
    r = client.post(
        "/plans", json={"date": DAY.isoformat(), "time_limit": 20, "solution_limit": 10}, headers=h
    )
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    assert r.headers["Location"] == f"/plans/{plan_id}"
    assert r.json()["status"] in ("running", "draft")
    app.state.dispatch_runtime.wait(plan_id, timeout=120)

    body = client.get(f"/plans/{plan_id}", headers=h).json()
    assert body["status"] == "draft", body
    assert body["totals"]["assigned"] == 6
    assert body["progress"]["parts_done"] == body["progress"]["parts_total"] == 1
    assert [u["reason"] for u in body["unassigned"]] == ["no_engineer_with_skill"]
    assert body["routes"][0]["engineer_name"] == "Ann"
    assert body["routes"][0]["stop_count"] == 6

    listed = client.get(f"/plans?date={DAY.isoformat()}", headers=h).json()
    assert [p["id"] for p in listed["data"]] == [plan_id]

    r = client.post(f"/plans/{plan_id}/publish", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    with Session(engine) as s:
        statuses = {t.id: t.status for t in s.exec(select(Ticket))}
    assert sorted(statuses.values()).count(TicketStatus.scheduled) == 6
    assert statuses[w.tickets[-1]] == TicketStatus.new

    again = client.post(f"/plans/{plan_id}/publish", headers=h)
    assert again.status_code == 409
    assert client.delete(f"/plans/{plan_id}", headers=h).status_code == 409


def test_delete_cancels_a_running_job(client: TestClient, engine: Engine, app: Any) -> None:
    """A job searching for minutes stops within seconds of DELETE and writes no routes."""
    _world(engine, tickets=12)
    h = f.headers_for(client, engine, Role.dispatcher)
    r = client.post("/plans", json={"date": DAY.isoformat(), "time_limit": 600}, headers=h)
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    d = client.delete(f"/plans/{plan_id}", headers=h)
    assert d.status_code == 202, d.text
    assert d.json()["status"] == "cancelled"
    app.state.dispatch_runtime.wait(plan_id, timeout=60)
    body = client.get(f"/plans/{plan_id}", headers=h).json()
    assert body["status"] == "cancelled"
    assert body["routes"] is None


def test_plan_input_errors(client: TestClient, engine: Engine) -> None:
    """Unknown territory and bad dates are 422; unknown plan 404; engineers may not plan."""
    w = _world(engine)
    h = f.headers_for(client, engine, Role.dispatcher)
    r = client.post(
        "/plans", json={"date": DAY.isoformat(), "territories": ["Atlantis"]}, headers=h
    )
    assert r.status_code == 422
    assert "Atlantis" in r.json()["detail"]
    assert client.post("/plans", json={"date": "someday"}, headers=h).status_code == 422
    assert client.get("/plans/999", headers=h).status_code == 404
    eng = f.headers_for(client, engine, Role.engineer, engineer_id=w.engineers["Ann"])
    assert client.post("/plans", json={"date": DAY.isoformat()}, headers=eng).status_code == 404
