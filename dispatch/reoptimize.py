"""In-day re-optimisation: re-solve the rest of today for a territory or some engineers.

Three steps so the solve can run in a worker process while the database work stays in
the caller: :func:`prepare_reoptimization` (records → a plain :class:`Reoptimization`),
:func:`solve_reoptimization` (pure; what the worker runs), :func:`apply_reoptimization`
(writes, refusing if a ticket changed meanwhile).

Decisions the issue left open, made here:

* **Fixed work.** Completed tickets are gone; the ticket an engineer is working on holds
  him at its site until it is done; the ticket he is travelling to stays his first stop.
* **Who may move.** ``scheduled`` tickets may go to another engineer or back to the pool;
  ``dispatched`` and ``accepted`` ones stay with their engineer (he has been told; moving
  them is a conversation, not an optimisation) but may be re-ordered.
* **What is added.** Open (``new``) tickets of the territory that can be served today are
  added, so a re-optimisation also places the pool.
* **Minimal change.** Moving a scheduled ticket away from its engineer costs
  ``minimal_change_cost`` (money units; the default equals two hours of driving).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm.coltypes import utcnow
from crm.errors import Conflict, InvalidInput
from crm.models import Territory, Ticket, TicketStatus
from crm.services.common import Actor
from crm.services.tickets import record_event
from dispatch.clock import DayClock
from dispatch.records import key_id, load_tickets
from dispatch.today import (
    engineers_for_territory,
    load_today,
    place_ticket,
    sync_published_route,
)
from routing import HaversineMatrix, Job, Problem, Solution, SolveParams, Weights, solve

__all__ = [
    "Reoptimization",
    "ReoptimizeResult",
    "apply_reoptimization",
    "prepare_reoptimization",
    "solve_reoptimization",
]

S = TicketStatus
FIRST_SOLUTION = "parallel_cheapest_insertion"


@dataclass(frozen=True, slots=True)
class Reoptimization:
    """Everything needed to solve and apply, as plain data (crosses into a worker)."""

    clock: DayClock
    problem: Problem
    params: SolveParams
    versions: dict[int, int]  # ticket id -> version read
    engineer_of: dict[int, int | None]  # ticket id -> engineer before
    engineer_ids: tuple[int, ...]
    fixed: tuple[int, ...] = ()  # tickets locked as first stop


@dataclass(frozen=True, slots=True)
class ReoptimizeResult:
    """What changed."""

    engineers: int
    tickets: int
    moved: list[dict[str, Any]] = field(default_factory=list)
    scheduled: list[int] = field(default_factory=list)
    returned_to_pool: list[int] = field(default_factory=list)
    unassigned: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    objective: float | None = None
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def prepare_reoptimization(
    session: Session,
    *,
    territory_id: int | None = None,
    engineer_ids: Collection[int] | None = None,
    minimal_change: bool = False,
    minimal_change_cost: float = 60.0,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    time_limit: float = 3.0,
    solution_limit: int | None = None,
) -> Reoptimization:
    """Read the rest of today for the territory (its primary engineers) or the engineers.

    Raises
    ------
    InvalidInput
        Neither or both of ``territory_id`` and ``engineer_ids``; an unknown territory.
    """
    if (territory_id is None) == (not engineer_ids):
        raise InvalidInput(
            "give either territory_id or engineer_ids",
            [{"loc": ["body"], "msg": "exactly one of territory_id, engineer_ids"}],
        )
    now = now or utcnow()
    if territory_id is not None:
        if session.get(Territory, territory_id) is None:
            raise InvalidInput(
                f"territory {territory_id} does not exist",
                [{"loc": ["body", "territory_id"], "msg": "unknown territory"}],
            )
        ids = engineers_for_territory(session, territory_id, primary_only=True)
    else:
        ids = sorted(set(engineer_ids or ()))
    today = load_today(session, now=now, tz=tz, engineer_ids=ids)
    working = {eid: e for eid, e in today.engineers.items() if e.technician is not None}
    techs = []
    jobs: list[Job] = []
    versions: dict[int, int] = {}
    engineer_of: dict[int, int | None] = {}
    fixed: list[int] = []
    initial: dict[str, list[str]] = {}
    for eid, e in sorted(working.items()):
        tech = e.technician
        assert tech is not None
        techs.append(tech)
        initial[tech.id] = [str(t) for t in e.sequence]
        if e.travelling is not None:
            jobs.append(e.jobs[e.travelling.id])
            fixed.append(e.travelling.id)
            versions[e.travelling.id] = e.travelling.version
            engineer_of[e.travelling.id] = eid
        for t in e.planned:
            job = e.jobs[t.id]
            if t.status in (S.dispatched, S.accepted):
                job = replace(job, pinned_to=tech.id)
            elif minimal_change:
                job = replace(job, preferred_technician=tech.id)
            jobs.append(job)
            versions[t.id] = t.version
            engineer_of[t.id] = eid
    # The pool: open tickets of the territory (or of the engineers' primary territories).
    if territory_id is not None:
        pool_territories = [territory_id]
    else:
        pool_territories = sorted({t for e in working.values() for t in e.record.primary})
    if working and pool_territories:
        for t in load_tickets(session, statuses=[S.new], territory_ids=pool_territories):
            job = today.job(t)
            if job is None or t.id in versions:
                continue
            jobs.append(job)
            versions[t.id] = t.version
            engineer_of[t.id] = None
    weights = Weights(preferred_technician=minimal_change_cost if minimal_change else 0.0)
    params = SolveParams(
        time_limit=time_limit,
        solution_limit=solution_limit,
        first_solution=FIRST_SOLUTION,
        initial_routes=initial,
    )
    return Reoptimization(
        clock=today.clock,
        problem=Problem(tuple(techs), tuple(jobs), weights),
        params=params,
        versions=versions,
        engineer_of=engineer_of,
        engineer_ids=tuple(sorted(working)),
        fixed=tuple(fixed),
    )


def solve_reoptimization(problem: Problem, params: SolveParams) -> Solution:
    """The solve itself: pure, run in a worker process by the API."""
    return solve(problem, HaversineMatrix(), params)


def apply_reoptimization(
    session: Session,
    reopt: Reoptimization,
    solution: Solution,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> ReoptimizeResult:
    """Write the new routes; refuse (409) if any ticket changed while solving.

    Raises
    ------
    Conflict
        A ticket's version moved on since it was read.
    """
    now = now or utcnow()
    clock = reopt.clock
    ids = sorted(reopt.versions)
    rows: dict[int, Ticket] = {}
    for k in range(0, len(ids), 900):
        for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids[k : k + 900]))):
            assert t.id is not None
            rows[t.id] = t
    changed = sorted(
        tid for tid, v in reopt.versions.items() if tid not in rows or rows[tid].version != v
    )
    if changed:
        raise Conflict(
            f"tickets {', '.join(map(str, changed[:10]))} changed while re-optimising; "
            "nothing was applied: run it again",
            reason="changed_meanwhile",
            tickets=changed,
        )
    result = ReoptimizeResult(
        engineers=len(reopt.engineer_ids),
        tickets=len(reopt.versions),
        objective=solution.objective if solution.routes or not solution.unassigned else None,
        elapsed=round(solution.elapsed, 3),
    )
    placed: set[int] = set()
    moved_away: dict[int, list[int]] = {}
    for r in solution.routes:
        eid = key_id(r.technician_id)
        for s in r.stops:
            tid = int(s.job_id)
            placed.add(tid)
            t = rows[tid]
            start, end = clock.at(s.start), clock.at(s.end)
            before = reopt.engineer_of.get(tid)
            how = place_ticket(
                session,
                t,
                engineer_id=eid,
                start=start,
                end=end,
                actor=actor,
                now=now,
                payload={"source": "reoptimize"},
            )
            if how == "scheduled":
                result.scheduled.append(tid)
            elif how == "moved":
                result.moved.append({"ticket_id": tid, "from": before, "to": eid})
                if before is not None:
                    moved_away.setdefault(before, []).append(tid)
    reasons = {int(u.job_id): u for u in solution.unassigned}
    for tid, before in reopt.engineer_of.items():
        if tid in placed:
            continue
        u = reasons.get(tid)
        t = rows[tid]
        if before is not None and S(t.status) is S.scheduled:
            record_event(
                session,
                t,
                actor=actor,
                kind="transition",
                from_status=S.scheduled,
                to_status=S.new,
                payload={
                    "source": "reoptimize",
                    "reason": u.reason.value if u else "unassigned",
                    "engineer": [before, None],
                },
            )
            t.status = S.new
            t.engineer_id = t.planned_start = t.planned_end = None
            t.updated_at = now
            result.returned_to_pool.append(tid)
            moved_away.setdefault(before, []).append(tid)
        result.unassigned.append(
            {
                "ticket_id": tid,
                "reason": u.reason.value if u else "unassigned",
                "message": u.message if u else "",
            }
        )
    session.flush()
    for eid in reopt.engineer_ids:
        tech_id = next(t.id for t in reopt.problem.technicians if key_id(t.id) == eid)
        r = solution.route_of(tech_id)
        sync_published_route(
            session,
            clock,
            engineer_id=eid,
            route=r,
            actor_name=actor.name,
            moved_away=moved_away.get(eid, []),
        )
        result.routes.append(
            {
                "engineer_id": eid,
                "tickets": [int(s.job_id) for s in r.stops] if r else [],
                "distance_m": r.distance_m if r else 0,
                "end_at": clock.at(r.end_time) if r else None,
            }
        )
    return result
