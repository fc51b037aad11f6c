"""The nightly batch: parts, second pass, atomic publishing, failed parts and retries.

Solves use a solution limit, so results do not depend on the machine's speed; the worker
kill tests kill a real worker process through the progress events (which carry its pid).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import dispatch.batch as batch_module
from crm.models import (
    Plan,
    PlanStatus,
    PlanUnassigned,
    Priority,
    Route,
    Stop,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from crm.settings import Settings
from dispatch.batch import (
    EXIT_PART_FAILED,
    PlanProgress,
    part_metaheuristic,
    plan_day,
    shortfall,
    third_pass_tickets,
    touching_pairs,
)
from dispatch.clock import DayClock
from dispatch.parts import decompose, second_pass
from dispatch.plans import publish_plan
from dispatch.records import load_engineers, load_territories, load_tickets
from routing import Job, Location, Weights
from tests.dispatch.world import DAY, TZ, World

SETTINGS = Settings(timezone=TZ, plan_workers=2)
FAST: dict[str, Any] = {"time_limit": 20, "solution_limit": 15, "settings": SETTINGS}


def three_territories(engine: Engine) -> World:
    """North and South touch; East is far away. Bob (South) lends a hand in North."""
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.territory("South", lat=31.20, lon=121.40, size=0.05)
    w.territory("East", lat=31.20, lon=121.60, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"])
    w.engineer("Bob", lat=31.22, lon=121.42, primary=["South"], secondary=["North"])
    w.engineer("Cai", lat=31.22, lon=121.62, primary=["East"])
    return w


def test_touching_territories_sharing_an_engineer_form_one_part(engine: Engine) -> None:
    """North+South (touching, Bob in both) are one part; East is its own part."""
    w = three_territories(engine)
    w.scatter(3, territory="North", lat=31.25)
    w.scatter(3, territory="South", lat=31.20)
    w.scatter(3, territory="East", lat=31.20, lon=121.60)
    clock = DayClock.of(DAY, TZ)
    with Session(engine) as s:
        terr = load_territories(s)
        dec = decompose(
            engineers=load_engineers(s, DAY),
            tickets=load_tickets(s),
            territories=terr,
            clock=clock,
            weights=Weights(),
            touching=touching_pairs(terr),
        )
    names = sorted(p.name for p in dec.parts)
    assert names == ["East", "North, South"]
    north_south = next(p for p in dec.parts if p.name == "North, South")
    bob = next(t for t in north_south.problem.technicians if t.id.startswith("Bob"))
    assert bob.secondary_territories == {f"North #{w.territories['North']}"}
    # Too big to merge: the secondary relation is left to the second pass.
    with Session(engine) as s:
        dec = decompose(
            engineers=load_engineers(s, DAY),
            tickets=load_tickets(s),
            territories=terr,
            clock=clock,
            weights=Weights(),
            touching=touching_pairs(terr),
            max_part_jobs=5,
        )
    assert sorted(p.name for p in dec.parts) == ["East", "North", "South"]


def _engineer_of_ticket(engine: Engine, plan_id: int | None) -> dict[int, int]:
    """Each planned ticket's engineer in plan ``plan_id``."""
    with Session(engine) as s:
        rows = s.exec(
            select(Stop.ticket_id, Route.engineer_id)
            .join(Route, col(Route.id) == Stop.route_id)
            .where(Route.plan_id == plan_id)
        ).all()
    return dict(rows)


def _north_overbooked(engine: Engine) -> tuple[World, list[int], list[int]]:
    """Ann alone in North with more work than she can do; Cai (East, secondary North) has
    room. Returns the world, North's six tickets and East's two."""
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.territory("East", lat=31.25, lon=121.60, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"], shift=(8, 12))
    w.engineer("Cai", lat=31.27, lon=121.55, primary=["East"], secondary=["North"])
    north = w.scatter(6, territory="North", lat=31.25, duration_min=50)
    east = w.scatter(2, territory="East", lat=31.25, lon=121.60)
    return w, north, east


def test_second_pass_gives_leftovers_to_secondary_engineers(engine: Engine) -> None:
    """North has more work than Ann can do; Cai (East, secondary North) takes the rest in
    the second pass and keeps his own East tickets."""
    w, north, east = _north_overbooked(engine)
    seen: list[PlanProgress] = []
    result = plan_day(engine, DAY, **FAST, progress=seen.append)
    assert result.exit_code == 0, result.error
    assert [p.pass_no for p in result.parts] == [1, 1, 2]
    # The second pass starts from Cai's first-pass route: the bar counts each ticket once.
    assert max(p.assigned for p in seen) == seen[-1].assigned == result.totals["assigned"]
    by_ticket = _engineer_of_ticket(engine, result.plan_id)
    cai = w.engineers["Cai"]
    assert all(by_ticket[t] == cai for t in east)
    assert sum(1 for t in north if by_ticket.get(t) == cai) >= 1
    assert result.totals["assigned"] == 8


def test_parts_on_the_clock_use_iterated_local_search() -> None:
    """Half a minute per part or more, no solution limit: ILS; shorter or limited: GLS."""
    assert part_metaheuristic(30, None) == "iterated_local_search"
    assert part_metaheuristic(120, None) == "iterated_local_search"
    assert part_metaheuristic(29.5, None) == "guided_local_search"
    assert part_metaheuristic(30, 15) == "guided_local_search"


def test_a_plan_whose_parts_search_with_ils_is_complete(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second-pass world again, on a short clock with the ILS threshold lowered: the
    same eight tickets are served, Cai's East work stays his."""
    monkeypatch.setattr(batch_module, "ILS_PART_SECONDS", 1.0)
    w, _, east = _north_overbooked(engine)
    result = plan_day(engine, DAY, time_limit=2, settings=SETTINGS)
    assert result.exit_code == 0, result.error
    assert result.totals["assigned"] == 8
    by_ticket = _engineer_of_ticket(engine, result.plan_id)
    assert all(by_ticket[t] == w.engineers["Cai"] for t in east)


def test_totals_say_where_hands_ran_short(engine: Engine) -> None:
    """Ann alone in North for two hours: the HVAC work she cannot fit is summed up as
    North / hvac, the figure a manager staffs by."""
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"], shift=(8, 10))
    w.scatter(5, territory="North", lat=31.25, duration_min=50)
    result = plan_day(engine, DAY, **FAST)
    assert result.exit_code == 0, result.error
    over = result.totals["unassigned_by_reason"].get("over_capacity", 0)
    assert over >= 3
    assert result.totals["short_of"] == [{"territory": "North", "skill": "hvac", "tickets": over}]


def test_shortfall_groups_by_territory_and_hardest_skill() -> None:
    loc = Location(lat=31.2, lon=121.4)
    jobs = [
        Job(id="1", location=loc, territory="North #1", skills={"hvac": 2, "elec": 1}),
        Job(id="2", location=loc, territory="North #1", skills={"hvac": 1}),
        Job(id="3", location=loc, territory="South #2", skills={"elec": 3, "hvac": 1}),
        Job(id="4", location=loc),
    ]
    assert shortfall(jobs) == [
        {"territory": "North", "skill": "hvac", "tickets": 2},
        {"territory": "South", "skill": "elec", "tickets": 1},
        {"territory": "no territory", "skill": "-", "tickets": 1},
    ]


def test_unassigned_tickets_carry_reasons(engine: Engine) -> None:
    """Outside every fence, missing skill: nothing is silently dropped."""
    w = World(engine).setup()
    w.territory("North")
    w.engineer("Ann", primary=["North"])
    ok = w.ticket(territory="North")
    outside = w.ticket(territory=None)
    no_skill = w.ticket(territory="North", skills={"elec": 4})
    result = plan_day(engine, DAY, **FAST)
    with Session(engine) as s:
        reasons = {
            u.ticket_id: u.reason
            for u in s.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == result.plan_id))
        }
    assert reasons == {outside: "outside_all_territories", no_skill: "no_engineer_with_skill"}
    assert result.totals["assigned"] == 1 and ok not in reasons
    assert result.status == PlanStatus.draft


def ann_and_busy_cai(
    engine: Engine, *, east_lon: float, cai_lon: float, cai_shift: tuple[float, float]
) -> World:
    """North's Ann (HVAC only) and Cai (East, secondary North, HVAC and electrical 4)."""
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.territory("East", lat=31.25, lon=east_lon, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"], skills={"hvac": 3})
    w.engineer(
        "Cai",
        lat=31.27,
        lon=cai_lon,
        primary=["East"],
        secondary=["North"],
        skills={"hvac": 3, "elec": 4},
        shift=cai_shift,
    )
    return w


def test_a_ticket_only_a_busy_secondary_engineer_could_do_is_over_capacity(
    engine: Engine,
) -> None:
    """North's Ann lacks the electrical level a ticket needs; Cai (East, secondary North)
    has it but his own day is full. Judged by North's part alone, "nobody has the skill";
    for the day the truth is "someone could, his day is full" (and the bench counts it
    among the tickets with a feasible engineer). A level nobody holds stays a skill gap."""
    w = ann_and_busy_cai(engine, east_lon=121.60, cai_lon=121.55, cai_shift=(8, 10))
    w.scatter(3, territory="East", lat=31.25, lon=121.60, duration_min=50)
    busy = w.ticket(territory="North", lat=31.26, lon=121.41, skills={"elec": 4})
    nobody = w.ticket(territory="North", lat=31.26, lon=121.41, skills={"elec": 5})
    result = plan_day(engine, DAY, **FAST)
    assert result.exit_code == 0, result.error
    with Session(engine) as s:
        rows = {
            u.ticket_id: u
            for u in s.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == result.plan_id))
        }
    assert rows[busy].reason == "over_capacity"
    assert "Cai" in rows[busy].message and "min free" in rows[busy].message
    assert rows[nobody].reason == "no_engineer_with_skill"
    by_reason = result.totals["unassigned_by_reason"]
    assert result.totals["with_feasible_engineer"] == (
        result.totals["assigned"] + by_reason.get("over_capacity", 0)
    )
    assert by_reason.get("over_capacity", 0) >= 1


def test_an_urgent_leftover_displaces_a_busy_neighbours_low_priority_work(
    engine: Engine,
) -> None:
    """Only Cai (East, secondary North) can do an urgent North ticket, and his day is full
    of low-priority East work. The second pass gives him the urgent ticket; an East ticket
    gives way and says so. Urgent work is never left out while someone could do it."""
    w = ann_and_busy_cai(engine, east_lon=121.46, cai_lon=121.47, cai_shift=(8, 12))
    east = w.scatter(
        6, territory="East", lat=31.26, lon=121.47, duration_min=50, priority=Priority.low
    )
    urgent = w.ticket(
        territory="North", lat=31.27, lon=121.44, skills={"elec": 4}, priority=Priority.urgent
    )
    result = plan_day(engine, DAY, **FAST)
    assert result.exit_code == 0, result.error
    stops = _engineer_of_ticket(engine, result.plan_id)
    with Session(engine) as s:
        why = {
            u.ticket_id: u
            for u in s.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == result.plan_id))
        }
    assert stops.get(urgent) == w.engineers["Cai"]
    gave_way = [t for t in east if t in why and "gave way" in why[t].message]
    assert gave_way, {t: why[t].message for t in east if t in why}
    assert all(why[t].reason == "over_capacity" for t in gave_way)
    assert set(east) == {t for t in east if t in stops} | set(why)


def test_third_pass_offers_tickets_to_their_own_territory_engineers(engine: Engine) -> None:
    """A ticket that gave way to urgent work goes back to its own territory's engineers with
    room (third pass), which the second pass (secondary engineers only) never offers."""
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"])
    tid = w.ticket(territory="North", lat=31.26, lon=121.41)
    with Session(engine) as s:
        terr = load_territories(s)
        engineers = load_engineers(s, DAY)
        tickets = load_tickets(s)
    dec = decompose(
        engineers=engineers,
        tickets=tickets,
        territories=terr,
        clock=DayClock.of(DAY, TZ),
        weights=Weights(),
    )
    common: dict[str, Any] = {
        "decomposition": dec,
        "engineers": engineers,
        "territories": terr,
        "tickets": tickets,
        "routes": {},
        "unassigned": [tid],
        "weights": Weights(),
        "free": {w.engineers["Ann"]: 9 * 3600},
    }
    assert second_pass(**common) == []
    (part,) = second_pass(**common, own_territory=True, pass_no=3)
    assert part.pass_no == 3 and part.key == "r3-01"
    assert [t.id for t in part.problem.technicians] == [dec.technicians[w.engineers["Ann"]].id]
    assert [j.id for j in part.problem.jobs] == [str(tid)]
    # Without room, not even his own territory's engineer is offered it.
    assert (
        second_pass(**{**common, "free": {w.engineers["Ann"]: 10 * 60}}, own_territory=True) == []
    )


def test_third_pass_retries_what_gave_way_and_what_was_left_for_time() -> None:
    """Every ticket someone could do alone gets the third pass; skill gaps do not."""
    unassigned = {
        1: ("over_capacity", "the day is full"),
        2: ("no_engineer_with_skill", "nobody holds elec 5"),
        3: ("outside_all_territories", "no fence"),
        4: ("search_limit", "the search ran out of time"),
    }
    assert third_pass_tickets({7}, unassigned) == {1, 4, 7}
    assert third_pass_tickets(set(), {2: unassigned[2]}) == set()


def test_publish_is_atomic_supersedes_and_returns_dropped_tickets(engine: Engine) -> None:
    """Plan 1 schedules everything; plan 2 (the engineer now absent) supersedes it and
    sends the tickets back to the pool, with events naming the plan."""
    w = World(engine).setup()
    w.territory("North")
    w.engineer("Ann", primary=["North"])
    tickets = w.scatter(3, territory="North")
    first = plan_day(engine, DAY, publish=True, **FAST)
    assert first.status == PlanStatus.published
    assert first.published is not None and first.published.scheduled == 3
    with Session(engine) as s:
        rows = s.exec(select(Ticket).where(col(Ticket.id).in_(tickets))).all()
        assert {t.status for t in rows} == {TicketStatus.scheduled}
        assert all(t.engineer_id == w.engineers["Ann"] and t.planned_start for t in rows)

    from crm.db import session_scope
    from crm.models import Absence
    from tests.dispatch.world import local

    with session_scope(engine) as s:
        s.add(Absence(engineer_id=w.engineers["Ann"], start_at=local(0), end_at=local(24)))
    second = plan_day(engine, DAY, publish=True, **FAST)
    assert second.published is not None
    assert second.published.returned_to_pool == 3
    assert second.published.superseded == [first.plan_id]
    with Session(engine) as s:
        plans = {p.id: p.status for p in s.exec(select(Plan))}
        assert plans == {first.plan_id: PlanStatus.superseded, second.plan_id: PlanStatus.published}
        rows = s.exec(select(Ticket).where(col(Ticket.id).in_(tickets))).all()
        assert {t.status for t in rows} == {TicketStatus.new}
        assert all(t.engineer_id is None and t.planned_start is None for t in rows)
        kinds = [
            (e.from_status, e.to_status, e.payload.get("plan_id"))
            for e in s.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == tickets[0])
                .order_by(col(TicketEvent.id))
            )
        ]
    assert kinds[-2:] == [("new", "scheduled", first.plan_id), ("scheduled", "new", second.plan_id)]
    with pytest.raises(Exception, match="only a draft"):
        publish_plan(engine, second.plan_id or 0)


def test_plan_for_some_territories_leaves_the_citywide_plan_published(engine: Engine) -> None:
    """--territory North: only North's tickets; the earlier city-wide plan stays published."""
    w = three_territories(engine)
    w.scatter(2, territory="North", lat=31.25)
    east = w.scatter(2, territory="East", lat=31.20, lon=121.60)
    full = plan_day(engine, DAY, publish=True, **FAST)
    part = plan_day(engine, DAY, territories=["north"], publish=True, **FAST)
    assert part.totals["tickets"] == 2
    assert part.published is not None and part.published.superseded == []
    with Session(engine) as s:
        assert s.get(Plan, full.plan_id).status == PlanStatus.published  # type: ignore[union-attr]
        assert {t.status for t in s.exec(select(Ticket).where(col(Ticket.id).in_(east)))} == {
            TicketStatus.scheduled
        }


def _killer(target: str, attempts: set[int]) -> tuple[Any, list[tuple[str, int, int]]]:
    """A progress callback that SIGKILLs the worker of ``target`` on the given attempts."""
    killed: list[tuple[str, int, int]] = []

    def on_progress(p: PlanProgress) -> None:
        ev = p.event
        if ev is None or ev.kind != "started" or ev.part != target or ev.pid is None:
            return
        if ev.attempt in attempts:
            os.kill(ev.pid, signal.SIGKILL)
            killed.append((ev.part, ev.attempt, ev.pid))

    return on_progress, killed


def _busy_world(engine: Engine) -> World:
    """Two parts whose searches run until their time limit (no solution limit)."""
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.territory("East", lat=31.25, lon=121.60, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"])
    w.engineer("Cai", lat=31.27, lon=121.62, primary=["East"])
    w.scatter(8, territory="North", lat=31.25)
    w.scatter(8, territory="East", lat=31.25, lon=121.60)
    return w


def test_killed_worker_is_retried_and_the_plan_completes(engine: Engine) -> None:
    """SIGKILL the worker solving p01 mid-search: p01 runs again, the plan is published."""
    _busy_world(engine)
    on_progress, killed = _killer("p01", {1})
    result = plan_day(
        engine, DAY, time_limit=1.5, settings=SETTINGS, publish=True, progress=on_progress
    )
    assert [k[:2] for k in killed] == [("p01", 1)]
    assert result.exit_code == 0, result.error
    assert result.status == PlanStatus.published
    p01 = next(p for p in result.parts if p.key == "p01")
    assert p01.attempts == 2
    assert "died" in p01.errors[0]
    assert p01.pid != killed[0][2]
    assert next(p for p in result.parts if p.key == "p02").attempts == 1
    assert result.totals["assigned"] == 16


def test_part_failing_twice_leaves_the_previous_plan_untouched(engine: Engine) -> None:
    """Kill p01 on both attempts: the run fails naming p01, nothing is published, the
    previously published plan and the tickets stay exactly as they were."""
    _busy_world(engine)
    before = plan_day(engine, DAY, publish=True, **FAST)
    with Session(engine) as s:
        snapshot = {
            t.id: (t.status, t.engineer_id, t.planned_start, t.version)
            for t in s.exec(select(Ticket))
        }
    on_progress, killed = _killer("p01", {1, 2})
    result = plan_day(
        engine, DAY, time_limit=1.5, settings=SETTINGS, publish=True, progress=on_progress
    )
    assert [k[:2] for k in killed] == [("p01", 1), ("p01", 2)]
    assert result.exit_code == EXIT_PART_FAILED
    assert result.failed_parts == ["p01"]
    assert result.error is not None and "part p01 [North] failed twice" in result.error
    assert result.published is None
    with Session(engine) as s:
        failed = s.get(Plan, result.plan_id)
        assert failed is not None and failed.status == PlanStatus.failed
        assert "p01" in (failed.error or "")
        assert s.exec(select(Route).where(Route.plan_id == result.plan_id)).first() is None
        assert s.get(Plan, before.plan_id).status == PlanStatus.published  # type: ignore[union-attr]
        after = {
            t.id: (t.status, t.engineer_id, t.planned_start, t.version)
            for t in s.exec(select(Ticket))
        }
    assert after == snapshot


def test_part_over_its_time_out_is_killed_and_retried(engine: Engine) -> None:
    """A part still searching after ``part_timeout`` is killed; twice → the run fails."""
    _busy_world(engine)
    result = plan_day(engine, DAY, time_limit=30, part_timeout=0.5, settings=SETTINGS)
    assert result.exit_code == EXIT_PART_FAILED
    assert result.failed_parts
    run = next(p for p in result.parts if p.key == result.failed_parts[0])
    assert run.attempts == 2
    assert all("timed out" in e for e in run.errors)
