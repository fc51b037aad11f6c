"""The rest of today: where each engineer is, from when he is free, what is still planned.

Real-time insertion and in-day re-optimisation both start from this snapshot. Decisions:

* **Position.** An engineer on site is at that site until the work is done (the
  ``on_site`` check-in time plus the ticket's duration, or now if that has passed). Else
  his last location ping, if it is from the last two hours; else where his shift starts.
* **Free from.** The later of now and the start of his shift (and of the end of the work
  on site). Breaks and absences already over are gone; a lunch break whose latest start
  has passed is taken as done.
* **Planned stops.** His tickets that are scheduled, dispatched or accepted with a planned
  start today (or none), in planned order. A ticket he is travelling to is locked as his
  first stop; a ticket he is working on is not a stop (he is there).
* **Published plan.** After an assignment or a re-optimisation the engineer's route in
  today's published plan is rewritten (stops he has started or finished are kept first), so
  his phone shows the new order; when no plan is published today a one-route plan is
  created, marked ``scope.source = "realtime"``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from crm.coltypes import utcnow
from crm.models import (
    EngineerTerritory,
    Plan,
    PlanStatus,
    Route,
    Stop,
    TerritoryRole,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from crm.services.common import Actor
from crm.services.tickets import record_event
from dispatch.clock import DayClock
from dispatch.problem_builder import job_for, technician_for
from dispatch.records import (
    EngineerRecord,
    TicketRecord,
    load_engineers,
    load_territories,
    load_tickets,
)
from dispatch.rows import stop_row
from routing import Job, Location, Problem, Technician, Weights
from routing import Route as SolvedRoute

__all__ = ["EngineerToday", "Today", "load_today", "place_ticket", "sync_published_route"]

S = TicketStatus
PLANNED = (S.scheduled, S.dispatched, S.accepted)
STARTED = (S.travelling, S.on_site)
PING_FRESH = timedelta(hours=2)


@dataclass(slots=True)
class EngineerToday:
    """One engineer for the rest of today."""

    record: EngineerRecord
    technician: Technician | None  # None: not working (any more) today
    position: Location
    free_from: int
    planned: list[TicketRecord] = field(default_factory=list)  # not started, in order
    travelling: TicketRecord | None = None
    on_site: TicketRecord | None = None
    jobs: dict[int, Job] = field(default_factory=dict)  # ticket id -> job (planned+travelling)

    @property
    def sequence(self) -> list[int]:
        """Ticket ids of his remaining route, the locked first stop included."""
        head = [self.travelling.id] if self.travelling else []
        return head + [t.id for t in self.planned]

    def problem(self, extra: Sequence[Job] = (), weights: Weights | None = None) -> Problem:
        """A one-technician problem of his remaining day (plus ``extra`` jobs)."""
        assert self.technician is not None
        return Problem((self.technician,), (*self.jobs.values(), *extra), weights or Weights())


@dataclass(slots=True)
class Today:
    """The state of today's work for some engineers, as of ``now``."""

    clock: DayClock
    now: datetime
    now_s: int
    horizon_end: int
    engineers: dict[int, EngineerToday]
    territory_keys: dict[int, str]

    def job(self, ticket: TicketRecord, **kw: object) -> Job | None:
        """A ticket as a job today (``None``: its windows are on other days)."""
        key = None if ticket.territory_id is None else self.territory_keys.get(ticket.territory_id)
        return job_for(
            ticket,
            self.clock,
            horizon_end=self.horizon_end,
            territory=key,
            **kw,  # type: ignore[arg-type]
        )


def engineers_for_territory(
    session: Session, territory_id: int, *, primary_only: bool
) -> list[int]:
    """Engineers holding a territory (primary only, or any role)."""
    q = select(EngineerTerritory.engineer_id).where(EngineerTerritory.territory_id == territory_id)
    if primary_only:
        q = q.where(EngineerTerritory.role == TerritoryRole.primary)
    return sorted(int(e) for e in session.exec(q).all())


def load_today(
    session: Session,
    *,
    now: datetime,
    tz: str,
    engineer_ids: Collection[int] | None = None,
) -> Today:
    """Positions, free times and remaining stops of engineers working today."""
    clock = clock_of(now, tz)
    now_s = clock.seconds(now)
    territories = load_territories(session, with_geometry=False)
    keys = {i: t.key for i, t in territories.items()}
    records = load_engineers(session, clock.day, engineer_ids=engineer_ids)
    ids = [e.id for e in records]
    horizon_end = max([clock.length] + [clock.seconds(e.shift.end_at) for e in records if e.shift])
    tickets = load_tickets(session, engineer_ids=ids, statuses=[*PLANNED, *STARTED]) if ids else []
    on_site_ids = [t.id for t in tickets if t.status == S.on_site]
    arrived: dict[int, datetime] = {}
    if on_site_ids:
        for tid, at in session.exec(
            select(TicketEvent.ticket_id, TicketEvent.at)
            .where(
                col(TicketEvent.ticket_id).in_(on_site_ids),
                TicketEvent.to_status == S.on_site.value,
            )
            .order_by(col(TicketEvent.at))
        ):
            arrived[int(tid)] = at
    by_engineer: dict[int, list[TicketRecord]] = {}
    for t in tickets:
        if t.engineer_id is None:
            continue
        if (
            t.status in PLANNED
            and t.planned_start is not None
            and not clock.contains(t.planned_start)
        ):
            continue
        by_engineer.setdefault(t.engineer_id, []).append(t)

    out: dict[int, EngineerToday] = {}
    for e in records:
        own = by_engineer.get(e.id, [])
        on_site = next((t for t in own if t.status == S.on_site), None)
        travelling = next((t for t in own if t.status == S.travelling), None)
        planned = sorted(
            (t for t in own if t.status in PLANNED),
            key=lambda t: (t.planned_start is None, t.planned_start or now, t.id),
        )
        assert e.shift is not None
        free = max(now_s, clock.seconds_up(e.shift.start_at))
        if on_site is not None:
            position = Location(lat=on_site.lat, lon=on_site.lon)
            begun = arrived.get(on_site.id) or on_site.planned_start or now
            free = max(free, clock.seconds_up(begun) + on_site.duration_min * 60)
        elif (
            e.last_lat is not None
            and e.last_lon is not None
            and e.last_seen_at is not None
            and now - PING_FRESH <= e.last_seen_at <= now + PING_FRESH
        ):
            position = Location(lat=e.last_lat, lon=e.last_lon)
        else:
            position = Location(lat=e.shift.start_lat, lon=e.shift.start_lon)
        tech = technician_for(
            e,
            clock,
            territories=[keys[i] for i in e.primary if i in keys],
            secondary=[keys[i] for i in e.secondary if i in keys],
            start=position,
            not_before=free,
        )
        today = EngineerToday(
            record=e,
            technician=tech,
            position=position,
            free_from=free,
            planned=planned,
            travelling=travelling,
            on_site=on_site,
        )
        if tech is not None:
            if travelling is not None:
                job = job_for(
                    travelling,
                    clock,
                    horizon_end=horizon_end,
                    pinned_to=tech.id,
                    locked_first=True,
                )
                if job is None:  # a window already closed: he is going anyway
                    job = job_for(
                        _no_windows(travelling),
                        clock,
                        horizon_end=horizon_end,
                        pinned_to=tech.id,
                        locked_first=True,
                    )
                assert job is not None
                today.jobs[travelling.id] = job
            for t in planned:
                job = job_for(t, clock, horizon_end=horizon_end) or job_for(
                    _no_windows(t), clock, horizon_end=horizon_end
                )
                assert job is not None
                key = None if t.territory_id is None else keys.get(t.territory_id)
                today.jobs[t.id] = replace(job, territory=key)
        out[e.id] = today
    return Today(
        clock=clock,
        now=now,
        now_s=now_s,
        horizon_end=horizon_end,
        engineers=out,
        territory_keys=keys,
    )


def clock_of(now: datetime, tz: str) -> DayClock:
    """The clock of the local day ``now`` falls on."""
    return DayClock.of(now.astimezone(ZoneInfo(tz)).date(), tz)


def _no_windows(t: TicketRecord) -> TicketRecord:
    """The ticket without its windows: work already committed is planned whatever its window."""
    return replace(t, windows=(), access_start_min=None, access_end_min=None)


def published_plan_today(session: Session, clock: DayClock, *, actor_name: str) -> Plan:
    """Today's newest published plan, or a new one-route plan marked as real-time."""
    plan = session.exec(
        select(Plan)
        .where(Plan.day == clock.day, Plan.status == PlanStatus.published)
        .order_by(col(Plan.published_at).desc(), col(Plan.id).desc())
        .limit(1)
    ).first()
    if plan is None:
        plan = Plan(
            day=clock.day,
            status=PlanStatus.published,
            scope={"source": "realtime", "territory_ids": []},
            created_by=actor_name,
            published_at=utcnow(),
            finished_at=utcnow(),
        )
        session.add(plan)
        session.flush()
    return plan


def sync_published_route(
    session: Session,
    clock: DayClock,
    *,
    engineer_id: int,
    route: SolvedRoute | None,
    actor_name: str,
    moved_away: Collection[int] = (),
) -> None:
    """Rewrite the engineer's remaining stops in today's published plan from ``route``.

    Stops of tickets he has started or finished stay first, in their order; the remaining
    ones follow in the new order with the new times. ``moved_away`` tickets lose their stop
    in every route of that plan (they went to someone else or back to the pool).
    """
    # His route in the newest published plan that has one (a plan for other territories
    # published later does not take his day away), else a new route in the newest plan.
    found = session.exec(
        select(Route, Plan)
        .join(Plan, col(Plan.id) == Route.plan_id)
        .where(
            Route.engineer_id == engineer_id,
            Route.day == clock.day,
            Plan.status == PlanStatus.published,
        )
        .order_by(col(Plan.published_at).desc(), col(Plan.id).desc())
        .limit(1)
    ).first()
    if found is not None:
        row, plan = found
    else:
        plan = published_plan_today(session, clock, actor_name=actor_name)
        row = None
    assert plan.id is not None
    if row is None:
        row = Route(plan_id=plan.id, engineer_id=engineer_id, day=clock.day)
        session.add(row)
        session.flush()
    assert row.id is not None
    new_ids = [int(s.job_id) for s in route.stops] if route else []
    gone = set(new_ids) | set(moved_away)
    if gone:
        plan_routes = select(Route.id).where(Route.plan_id == plan.id)
        for stop in session.exec(
            select(Stop).where(
                col(Stop.route_id).in_(plan_routes), col(Stop.ticket_id).in_(sorted(gone))
            )
        ):
            session.delete(stop)
        session.flush()
    kept = session.exec(select(Stop).where(Stop.route_id == row.id).order_by(col(Stop.seq))).all()
    seq = max((s.seq for s in kept), default=0)
    if route is not None:
        for s in route.stops:
            seq += 1
            assert row.id is not None
            session.add(stop_row(route_id=row.id, seq=seq, stop=s, clock=clock))
        row.end_at = clock.at(route.end_time)
        if row.start_at is None:
            row.start_at = clock.at(route.start_time)
        row.distance_m = route.distance_m
        row.drive_s = route.travel_s
        row.work_s = route.service_s
        row.wait_s = route.wait_s
    row.stop_count = len(kept) + (len(route.stops) if route else 0)
    session.flush()


Placement = Literal["scheduled", "moved", "retimed"]

#: A new planned start closer than this to the old one is not worth an event.
RETIME_EVENT_S = 60


def place_ticket(
    session: Session,
    ticket: Ticket,
    *,
    engineer_id: int,
    start: datetime,
    end: datetime,
    actor: Actor,
    now: datetime,
    payload: dict[str, Any],
) -> Placement | None:
    """Give a ticket its engineer and planned times, with the event a dispatcher reads.

    Real-time assignment and in-day re-optimisation rewrite routes the same way, so the
    history reads the same whichever wrote it: a new ticket is *scheduled*, one taken
    from another engineer is *moved*, one whose start shifts by a minute or more is
    *retimed*; smaller shifts update the times without an event.
    """
    before = ticket.engineer_id
    placed: Placement | None = None
    if S(ticket.status) is S.new:
        ticket.status = S.scheduled
        ticket.engineer_id = engineer_id
        record_event(
            session,
            ticket,
            actor=actor,
            kind="transition",
            from_status=S.new,
            to_status=S.scheduled,
            payload={**payload, "planned_start": start.isoformat()},
        )
        placed = "scheduled"
    elif before != engineer_id:
        ticket.engineer_id = engineer_id
        record_event(
            session,
            ticket,
            actor=actor,
            kind="replanned",
            payload={**payload, "engineer": [before, engineer_id]},
        )
        placed = "moved"
    elif (
        ticket.planned_start is None
        or abs((ticket.planned_start - start).total_seconds()) >= RETIME_EVENT_S
    ):
        old = None if ticket.planned_start is None else ticket.planned_start.isoformat()
        record_event(
            session,
            ticket,
            actor=actor,
            kind="replanned",
            payload={**payload, "planned_start": [old, start.isoformat()]},
        )
        placed = "retimed"
    if placed is not None:
        ticket.updated_at = now
    ticket.planned_start, ticket.planned_end = start, end
    return placed


def ticket_rows(session: Session, ids: Collection[int]) -> Mapping[int, Ticket]:
    """Ticket rows by id (one query)."""
    if not ids:
        return {}
    return {
        t.id: t
        for t in session.exec(select(Ticket).where(col(Ticket.id).in_(sorted(ids))))
        if t.id is not None
    }
