"""Plan rows: create, progress, save a result, publish atomically, cancel.

Decisions the issue left open, made here:

* **Publishing** happens in one transaction: the plan becomes ``published``, earlier
  published plans of the same day whose territories it covers become ``superseded`` (a
  plan for a few territories leaves the city-wide plan of the others alone), every ticket
  on a route becomes ``scheduled`` with its engineer and planned times, and every ticket
  the plan considered but could not place and that was ``scheduled`` goes back to ``new``
  (the pool). Each change is a ticket event naming the plan. A ticket whose status moved on
  since planning (dispatched, on hold, cancelled…) is left alone and counted as skipped.
* **Every engineer in the run gets a route row**, empty if he has no work, so that his
  phone shows the newest published plan's answer ("nothing for you") rather than an older
  plan's stops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm.coltypes import utcnow
from crm.db import session_scope
from crm.errors import Conflict, NotFound
from crm.models import (
    Plan,
    PlanStatus,
    PlanUnassigned,
    Route,
    Stop,
    Ticket,
    TicketStatus,
)
from crm.services.common import SYSTEM, Actor
from crm.services.tickets import record_event
from crm.status import PLANNABLE
from dispatch.clock import DayClock
from dispatch.rows import stop_row
from routing import Route as SolvedRoute
from routing import Technician

__all__ = [
    "PublishResult",
    "cancel_plan",
    "create_plan",
    "fail_plan",
    "plan_status",
    "publish_plan",
    "save_plan",
    "set_progress",
]

S = TicketStatus
_PLANS = Plan.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What publishing changed."""

    plan_id: int
    scheduled: int
    rescheduled: int
    returned_to_pool: int
    skipped: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)


def create_plan(
    engine: Engine, day: date, *, scope: dict[str, Any], created_by: str = "system"
) -> int:
    """A new ``running`` plan row, committed at once so the API can show it."""
    with session_scope(engine) as s:
        plan = Plan(day=day, status=PlanStatus.running, scope=scope, created_by=created_by)
        s.add(plan)
        s.flush()
        assert plan.id is not None
        return plan.id


def plan_status(engine: Engine, plan_id: int) -> PlanStatus | None:
    """The plan's status now (``None`` if the row is gone)."""
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(_PLANS.c.status).where(_PLANS.c.id == plan_id)
        ).scalar_one_or_none()
    return None if value is None else PlanStatus(value)


def set_progress(engine: Engine, plan_id: int, progress: dict[str, Any]) -> bool:
    """Store progress while the plan is running; ``False`` once it is not (cancelled)."""
    with engine.begin() as conn:
        n = conn.execute(
            sa.update(_PLANS)
            .where(_PLANS.c.id == plan_id, _PLANS.c.status == PlanStatus.running.value)
            .values(progress=progress)
        ).rowcount
    return bool(n)


def fail_plan(
    engine: Engine,
    plan_id: int,
    error: str,
    *,
    status: PlanStatus = PlanStatus.failed,
    progress: dict[str, Any] | None = None,
) -> None:
    """End a running plan as failed (or cancelled) with the reason; no routes are kept."""
    values: dict[str, Any] = {"status": status.value, "error": error, "finished_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    with session_scope(engine) as s:
        s.execute(
            sa.update(_PLANS)
            .where(_PLANS.c.id == plan_id, _PLANS.c.status == PlanStatus.running.value)
            .values(**values)
        )


def cancel_plan(session: Session, plan_id: int) -> Plan:
    """Mark a running plan cancelled; its job notices within a second and stops.

    Raises
    ------
    NotFound, Conflict
        No such plan; the plan is not running.
    """
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("plan", plan_id)
    if plan.status != PlanStatus.running:
        raise Conflict(
            f"plan {plan_id} is {plan.status}, not running: there is nothing to cancel",
            plan_status=str(plan.status),
        )
    plan.status = PlanStatus.cancelled
    plan.error = "cancelled"
    plan.finished_at = utcnow()
    session.flush()
    return plan


def save_plan(
    engine: Engine,
    plan_id: int,
    *,
    clock: DayClock,
    technicians: Mapping[int, Technician],
    routes: Mapping[int, SolvedRoute],
    unassigned: Mapping[int, tuple[str, str]],
    totals: dict[str, Any],
    progress: dict[str, Any] | None = None,
) -> bool:
    """Write routes, stops and unassigned tickets and make the plan a draft.

    Returns ``False`` (writing nothing) when the plan is no longer running — cancelled
    while it was being computed.
    """
    with session_scope(engine) as s:
        plan = s.exec(select(Plan).where(Plan.id == plan_id).with_for_update()).one_or_none()
        if plan is None or plan.status != PlanStatus.running:
            return False
        route_rows: dict[int, Route] = {}
        for eid, tech in sorted(technicians.items()):
            r = routes.get(eid)
            lunch = _lunch(tech, r)
            route_rows[eid] = Route(
                plan_id=plan_id,
                engineer_id=eid,
                day=clock.day,
                start_at=clock.at(r.start_time if r else tech.shift.start),
                end_at=clock.at(r.end_time if r else tech.shift.start),
                break_start_at=clock.at(lunch[0]) if lunch else None,
                break_end_at=clock.at(lunch[1]) if lunch else None,
                distance_m=r.distance_m if r else 0,
                drive_s=r.travel_s if r else 0,
                work_s=r.service_s if r else 0,
                wait_s=r.wait_s if r else 0,
                stop_count=len(r.stops) if r else 0,
            )
        s.add_all(route_rows.values())
        s.flush()
        stops = []
        for eid, r in routes.items():
            route_id = route_rows[eid].id
            assert route_id is not None
            for seq, stop in enumerate(r.stops, start=1):
                stops.append(stop_row(route_id=route_id, seq=seq, stop=stop, clock=clock))
        s.add_all(stops)
        s.add_all(
            PlanUnassigned(plan_id=plan_id, ticket_id=tid, reason=reason[:40], message=message)
            for tid, (reason, message) in sorted(unassigned.items())
        )
        plan.status = PlanStatus.draft
        plan.totals = totals
        if progress is not None:
            plan.progress = progress
        plan.finished_at = utcnow()
        s.flush()
    return True


def _lunch(tech: Technician, route: SolvedRoute | None) -> tuple[int, int] | None:
    """The placed break that is the lunch (absence blocks are fixed breaks too)."""
    if route is None:
        return None
    fixed = {
        (b.earliest_start, b.duration) for b in tech.breaks if b.earliest_start == b.latest_start
    }
    for start, end in route.breaks:
        if (start, end - start) not in fixed:
            return start, end
    return None


def _covers(new_scope: Any, old_scope: Any) -> bool:
    new = (new_scope or {}).get("territory_ids")
    old = (old_scope or {}).get("territory_ids")
    if new is None:
        return True
    return old is not None and set(old) <= set(new)


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for k in range(0, len(ids), size):
        yield ids[k : k + size]


def publish_plan(
    engine: Engine, plan_id: int, *, actor: Actor = SYSTEM, now: datetime | None = None
) -> PublishResult:
    """Publish a draft plan atomically (see the module docstring for what changes).

    Raises
    ------
    NotFound, Conflict
        No such plan; the plan is not a draft.
    """
    now = now or utcnow()
    with session_scope(engine) as s:
        plan = s.exec(select(Plan).where(Plan.id == plan_id).with_for_update()).one_or_none()
        if plan is None:
            raise NotFound("plan", plan_id)
        if plan.status != PlanStatus.draft:
            raise Conflict(
                f"plan {plan_id} is {plan.status}; only a draft plan can be published",
                plan_status=str(plan.status),
            )
        superseded = []
        for old in s.exec(
            select(Plan)
            .where(Plan.day == plan.day, Plan.status == PlanStatus.published, Plan.id != plan_id)
            .with_for_update()
        ):
            if _covers(plan.scope, old.scope):
                old.status = PlanStatus.superseded
                assert old.id is not None
                superseded.append(old.id)
        placed = s.exec(
            select(Stop.ticket_id, Route.engineer_id, Stop.start_at, Stop.end_at)
            .join(Route, col(Route.id) == Stop.route_id)
            .where(Route.plan_id == plan_id)
        ).all()
        left = s.exec(
            select(PlanUnassigned.ticket_id, PlanUnassigned.reason).where(
                PlanUnassigned.plan_id == plan_id
            )
        ).all()
        ids = sorted({int(p[0]) for p in placed} | {int(u[0]) for u in left})
        tickets: dict[int, Ticket] = {}
        for chunk in _chunks(ids):
            for t in s.exec(select(Ticket).where(col(Ticket.id).in_(chunk))):
                assert t.id is not None
                tickets[t.id] = t
        scheduled = rescheduled = returned = 0
        skipped: list[int] = []
        for tid, eid, start, end in placed:
            t = tickets.get(int(tid))
            if t is None or S(t.status) not in PLANNABLE:
                skipped.append(int(tid))
                continue
            before = (S(t.status), t.engineer_id, t.planned_start)
            payload: dict[str, Any] = {"plan_id": plan_id, "planned_start": start.isoformat()}
            if t.engineer_id != eid:
                payload["engineer"] = [t.engineer_id, eid]
            t.engineer_id, t.planned_start, t.planned_end = eid, start, end
            t.updated_at = now
            if before[0] is S.new:
                t.status = S.scheduled
                record_event(
                    s,
                    t,
                    actor=actor,
                    kind="transition",
                    from_status=S.new,
                    to_status=S.scheduled,
                    payload=payload,
                )
                scheduled += 1
            elif before[1:] != (eid, start):
                record_event(
                    s,
                    t,
                    actor=actor,
                    kind="replanned",
                    from_status=S.scheduled,
                    to_status=S.scheduled,
                    payload=payload,
                )
                rescheduled += 1
        for tid, reason in left:
            t = tickets.get(int(tid))
            if t is None or S(t.status) is not S.scheduled:
                continue
            record_event(
                s,
                t,
                actor=actor,
                kind="transition",
                from_status=S.scheduled,
                to_status=S.new,
                payload={"plan_id": plan_id, "reason": reason, "engineer": [t.engineer_id, None]},
            )
            t.status = S.new
            t.engineer_id = t.planned_start = t.planned_end = None
            t.updated_at = now
            returned += 1
        plan.status = PlanStatus.published
        plan.published_at = now
        totals = dict(plan.totals or {})
        totals["publish"] = {
            "scheduled": scheduled,
            "rescheduled": rescheduled,
            "returned_to_pool": returned,
            "skipped": len(skipped),
        }
        plan.totals = totals
        s.flush()
    return PublishResult(plan_id, scheduled, rescheduled, returned, skipped, superseded)
