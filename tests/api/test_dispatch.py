"""``/dispatch``: candidates by cheapest insertion, assign (409 when it does not fit),
declines, and in-day re-optimisation in a worker process.

Everything runs "as of" a moment on the test day (the ``at`` field), so results do not
depend on when the suite runs.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm.models import (
    Plan,
    PlanStatus,
    Role,
    Route,
    Stop,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from tests import factories as f
from tests.dispatch.world import World, local

WEST, EAST = 121.41, 121.49


def _day(engine: Engine) -> World:
    """Ann works the west, Bob the east of North; Cai lacks the skill level."""
    w = World(engine).setup()
    w.territory("North", lat=31.18, lon=121.38, size=0.14)
    w.engineer("Ann", lat=31.22, lon=WEST, primary=["North"], lunch=(12, 13, 30))
    w.engineer("Bob", lat=31.22, lon=EAST, primary=["North"])
    w.engineer("Cai", lat=31.22, lon=WEST, primary=["North"], skills={"hvac": 1})
    sched = {"status": TicketStatus.scheduled, "territory": "North", "skills": {"hvac": 2}}
    w.ticket(lat=31.23, lon=WEST + 0.01, engineer="Ann", planned=(9, 9.5), **sched)
    w.ticket(lat=31.24, lon=WEST, engineer="Ann", planned=(10, 10.5), **sched)
    w.ticket(lat=31.23, lon=EAST, engineer="Bob", planned=(9, 9.5), **sched)
    return w


def _staff(client: TestClient, engine: Engine) -> dict[str, str]:
    return f.headers_for(client, engine, Role.dispatcher)


def test_candidates_rank_by_cheapest_insertion(client: TestClient, engine: Engine) -> None:
    """A west ticket: Ann first (nearest), then Bob; Cai excluded for his skill level;
    each candidate has an ETA, added km/minutes and the stops it delays."""
    w = _day(engine)
    t = w.ticket(lat=31.235, lon=WEST + 0.005, territory="North", skills={"hvac": 2})
    h = _staff(client, engine)
    r = client.post(
        "/dispatch/candidates",
        json={"ticket_id": t, "k": 5, "at": local(7.5).isoformat()},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    names = [c["engineer_name"] for c in body["candidates"]]
    assert names == ["Ann", "Bob"]
    ann = body["candidates"][0]
    assert ann["added_km"] < body["candidates"][1]["added_km"]
    assert ann["added_minutes"] >= 0 and ann["territory_role"] == "primary"
    assert ann["eta"] <= ann["start_at"] < ann["end_at"]
    assert t in ann["route_after"] and len(ann["route_after"]) == 3
    assert isinstance(ann["delays"], list)
    assert {(e["engineer_name"], e["reason"]) for e in body["excluded"]} == {
        ("Cai", "lacks a required skill level")
    }
    same = client.get(
        f"/dispatch/candidates?ticket_id={t}&k=1&at={local(7.5).isoformat().replace('+', '%2B')}",
        headers=h,
    )
    assert [c["engineer_name"] for c in same.json()["candidates"]] == ["Ann"]


def test_assign_inserts_retimes_and_publishes_the_route(client: TestClient, engine: Engine) -> None:
    """Assign puts the ticket on Ann's day, records events, and her route in today's
    published plan lists it with the new times."""
    w = _day(engine)
    t = w.ticket(lat=31.235, lon=WEST + 0.005, territory="North", skills={"hvac": 2})
    h = _staff(client, engine)
    ann = w.engineers["Ann"]
    r = client.post(
        "/dispatch/assign",
        json={"ticket_id": t, "engineer_id": ann, "at": local(7.5).isoformat()},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["ticket_id"] for s in body["route"]].count(t) == 1
    with Session(engine) as s:
        ticket = s.get(Ticket, t)
        assert ticket is not None
        assert ticket.status == TicketStatus.scheduled and ticket.engineer_id == ann
        assert ticket.planned_start is not None
        assert ticket.planned_start.isoformat() == body["planned_start"].replace("Z", "+00:00")
        events = s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t)).all()
        assert [(e.from_status, e.to_status) for e in events][-1] == ("new", "scheduled")
        plan = s.exec(select(Plan).where(Plan.status == PlanStatus.published)).one()
        assert plan.scope["source"] == "realtime"
        stops = s.exec(
            select(Stop.ticket_id)
            .join(Route, col(Route.id) == Stop.route_id)
            .where(Route.engineer_id == ann)
            .order_by(col(Stop.seq))
        ).all()
    assert list(stops) == [x["ticket_id"] for x in body["route"]]
    day = client.get(
        f"/me/day?date={local(8).date().isoformat()}",
        headers=f.headers_for(client, engine, Role.engineer, engineer_id=ann),
    )
    assert day.status_code == 200, day.text  # the phone shows the new stop
    assert t in [s["ticket_id"] for s in day.json()["stops"]]


def test_assign_that_does_not_fit_is_409_with_the_reason(
    client: TestClient, engine: Engine
) -> None:
    """A window that closed an hour ago, a missing skill: 409 with reason and nothing changes."""
    w = _day(engine)
    h = _staff(client, engine)
    late = w.ticket(territory="North", skills={"hvac": 2}, windows=[(8, 8.2)])
    r = client.post(
        "/dispatch/assign",
        json={"ticket_id": late, "engineer_id": w.engineers["Ann"], "at": local(9.5).isoformat()},
        headers=h,
    )
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "infeasible"
    assert r.json()["violations"]
    r = client.post(
        "/dispatch/assign",
        json={"ticket_id": late, "engineer_id": w.engineers["Cai"], "at": local(7.5).isoformat()},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["reason"] == "no_engineer_with_skill"
    with Session(engine) as s:
        ticket = s.get(Ticket, late)
        assert ticket is not None and ticket.status == TicketStatus.new


def test_declined_ticket_goes_back_and_candidates_skip_the_decliner(
    client: TestClient, engine: Engine
) -> None:
    """Ann declines: the ticket is new again and the candidates no longer offer her."""
    w = _day(engine)
    ann = w.engineers["Ann"]
    t = w.ticket(lat=31.235, lon=WEST + 0.005, territory="North", skills={"hvac": 2})
    h = _staff(client, engine)
    at = local(7.5).isoformat()
    assert (
        client.post(
            "/dispatch/assign", json={"ticket_id": t, "engineer_id": ann, "at": at}, headers=h
        ).status_code
        == 200
    )
    r = client.post(f"/tickets/{t}/transitions", json={"to": "dispatched"}, headers=h)
    assert r.status_code == 200, r.text
    phone = f.headers_for(client, engine, Role.engineer, engineer_id=ann)
    r = client.post(
        f"/tickets/{t}/transitions", json={"to": "declined", "reason": "van broke"}, headers=phone
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "new"
    r = client.get(
        "/dispatch/candidates", params={"ticket_id": t, "at": at}, headers=h
    )  # fmt: skip
    body = r.json()
    assert [c["engineer_name"] for c in body["candidates"]] == ["Bob"]
    assert ("Ann", "declined this ticket") in {
        (e["engineer_name"], e["reason"]) for e in body["excluded"]
    }


def _crossed(engine: Engine) -> tuple[World, dict[str, Any]]:
    """Ann holds two east tickets, Bob two west ones; a west ticket waits in the pool."""
    w = World(engine).setup()
    w.territory("North", lat=31.18, lon=121.38, size=0.14)
    w.engineer("Ann", lat=31.22, lon=WEST, primary=["North"])
    w.engineer("Bob", lat=31.22, lon=EAST, primary=["North"])
    kw = {"status": TicketStatus.scheduled, "territory": "North"}
    ids = {
        "east1": w.ticket(lat=31.23, lon=EAST, engineer="Ann", planned=(9, 9.5), **kw),
        "east2": w.ticket(lat=31.24, lon=EAST + 0.01, engineer="Ann", planned=(10, 10.5), **kw),
        "west1": w.ticket(lat=31.23, lon=WEST, engineer="Bob", planned=(9, 9.5), **kw),
        "west2": w.ticket(
            lat=31.24,
            lon=WEST + 0.01,
            engineer="Bob",
            planned=(10, 10.5),
            **{**kw, "status": TicketStatus.dispatched},
        ),
        "pool": w.ticket(lat=31.235, lon=WEST, territory="North"),
    }
    return w, ids


def test_reoptimize_territory_swaps_crossed_work_and_places_the_pool(
    client: TestClient, engine: Engine
) -> None:
    """Scheduled tickets move to the nearer engineer, the dispatched one stays, the pool
    ticket is scheduled; events record every move."""
    w, ids = _crossed(engine)
    h = _staff(client, engine)
    r = client.post(
        "/dispatch/reoptimize",
        json={
            "territory_id": w.territories["North"],
            "at": local(7.5).isoformat(),
            "solution_limit": 30,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["engineers"] == 2 and body["tickets"] == 5
    assert ids["pool"] in body["scheduled"]
    moved = {m["ticket_id"]: (m["from"], m["to"]) for m in body["moved"]}
    ann, bob = w.engineers["Ann"], w.engineers["Bob"]
    assert moved[ids["east1"]] == (ann, bob)
    assert ids["west2"] not in moved  # dispatched: stays with Bob
    with Session(engine) as s:
        owner = {t.id: t.engineer_id for t in s.exec(select(Ticket))}
    assert owner[ids["west2"]] == bob
    assert owner[ids["east1"]] == owner[ids["east2"]] == bob


def test_reoptimize_minimal_change_keeps_tickets_with_their_engineers(
    client: TestClient, engine: Engine
) -> None:
    """With minimal_change a short detour is not worth moving a ticket."""
    w, _ids = _crossed(engine)
    h = _staff(client, engine)
    r = client.post(
        "/dispatch/reoptimize",
        json={
            "engineer_ids": [w.engineers["Ann"], w.engineers["Bob"]],
            "minimal_change": True,
            "at": local(7.5).isoformat(),
            "solution_limit": 30,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == []
    bad = client.post("/dispatch/reoptimize", json={"at": local(7.5).isoformat()}, headers=h)
    assert bad.status_code == 422
