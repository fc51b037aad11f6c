"""Real-time dispatch: who should take this ticket now, and putting it on his route.

**Candidates** are ranked by the cheapest feasible insertion into each engineer's remaining
day, computed for every (engineer, position) pair at once with numpy: travel to and from
the ticket, the ticket's window, the push-forward each later stop can absorb (its slack,
the classic forward-time-slack of insertion heuristics), the shift end and the maximum
working time. Breaks enter that pass approximately (taken at the first stop after they
open); the best few pairs are then re-timed exactly with ``routing.evaluate_route``, which
gives the ETA, the added km and minutes and which planned stops it would delay. No solve.

**Assign** tries every position of the chosen engineer exactly (or the one asked for),
keeps the cheapest feasible one, schedules the ticket, re-times his other stops, records
events and rewrites his route in today's published plan. An infeasible insertion is a 409
whose body says why.

An engineer who declined the ticket is not offered it again (listed as excluded); a
dispatcher can still assign it to him explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from crm.coltypes import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.models import Engineer, Ticket, TicketEvent, TicketStatus
from crm.services.common import Actor
from crm.status import PLANNABLE
from dispatch.records import TicketRecord, load_tickets
from dispatch.today import (
    EngineerToday,
    Today,
    engineers_for_territory,
    load_today,
    place_ticket,
    sync_published_route,
)
from routing import HaversineMatrix, Job, Route, SkillLevels, Weights, evaluate_route
from routing.matrix import EARTH_RADIUS_M

__all__ = [
    "AssignResult",
    "Candidate",
    "CandidateList",
    "Delay",
    "assign_ticket",
    "find_candidates",
]

S = TicketStatus
VERIFY_PER_ENGINEER = 3


@dataclass(frozen=True, slots=True)
class Delay:
    """A planned stop that would start later, and by how much."""

    ticket_id: int
    minutes: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """One engineer who can take the ticket, at his cheapest position."""

    engineer_id: int
    engineer_name: str
    position: int
    eta: datetime
    start_at: datetime
    end_at: datetime
    added_km: float
    added_minutes: float
    day_extended_minutes: float
    cost: float
    territory_role: str
    delays: tuple[Delay, ...] = ()
    route_after: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Excluded:
    """An engineer who was not considered, and why."""

    engineer_id: int
    engineer_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class CandidateList:
    """The best engineers for a ticket, as of ``at``."""

    ticket_id: int
    at: datetime
    candidates: tuple[Candidate, ...]
    excluded: tuple[Excluded, ...] = ()
    considered: int = 0


@dataclass(frozen=True, slots=True)
class AssignResult:
    """The ticket on the engineer's route, with the new times of his day."""

    ticket_id: int
    engineer_id: int
    position: int
    eta: datetime
    planned_start: datetime
    planned_end: datetime
    delays: tuple[Delay, ...]
    route: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def _hav(matrix: HaversineMatrix, lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> tuple[Any, Any]:
    """Metres and seconds exactly as ``HaversineMatrix`` rounds them, vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin((np.radians(lon2) - np.radians(lon1)) / 2) ** 2
    )
    road = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))) * matrix.circuity
    return np.rint(road), np.ceil(road / (matrix.speed_kmh / 3.6) - 1e-9)


def _role(today: EngineerToday, territory_id: int | None) -> int | None:
    """0 primary (or no territory), 1 secondary, ``None`` not allowed."""
    e = today.record
    if territory_id is None or territory_id in e.primary:
        return 0
    if territory_id in e.secondary:
        return 1
    return None


def _first_start(windows: Sequence[tuple[int, int]], t: float) -> float | None:
    if not windows:
        return t
    for lo, hi in windows:
        if t <= hi:
            return max(t, lo)
    return None


@dataclass(slots=True)
class _Base:
    """An engineer's remaining day timed forward: what insertion positions need."""

    eid: int
    lat: np.ndarray  # nodes: position, stop 1..n
    lon: np.ndarray
    dep: np.ndarray  # leaving node p (after a break taken in the gap that follows)
    start: np.ndarray  # per stop
    slack: np.ndarray  # per stop, then end
    back: float
    end_lat: float
    end_lon: float
    first_position: int


def _base(today: EngineerToday, matrix: HaversineMatrix) -> _Base:
    tech = today.technician
    assert tech is not None
    jobs = [today.jobs[t] for t in today.sequence]
    lat = [today.position.lat] + [j.location.lat for j in jobs]
    lon = [today.position.lon] + [j.location.lon for j in jobs]
    n = len(jobs)
    pending = sorted(tech.breaks, key=lambda b: b.earliest_start)
    t = float(today.free_from)
    dep = np.zeros(n + 1)
    start = np.zeros(n)
    arr = np.zeros(n)
    hi = np.full(n, math.inf)
    if n:
        _, tau = _hav(matrix, np.array(lat[:-1]), np.array(lon[:-1]), lat[1:], lon[1:])
    for k, job in enumerate(jobs):
        wins = [(w.start, w.end) for w in job.windows]
        while pending:
            b = pending[0]
            guess = _first_start(wins, t + tau[k])
            if t >= b.earliest_start or guess is None or guess + job.duration > b.latest_start:
                t = max(t, b.earliest_start) + b.duration
                pending.pop(0)
            else:
                break
        dep[k] = t
        arr[k] = t + tau[k]
        st = _first_start(wins, arr[k])
        start[k] = arr[k] if st is None else st
        for lo, h in wins:
            if lo <= start[k] <= h:
                hi[k] = h
        t = start[k] + job.duration
    end = tech.end_location
    _, back_s = _hav(matrix, lat[-1], lon[-1], end.lat, end.lon)
    dep[n] = t
    back = t + float(back_s)
    slack_end = tech.shift.end - back
    if tech.max_work_seconds is not None:
        slack_end = min(slack_end, tech.max_work_seconds - (back - today.free_from))
    slack = np.zeros(n + 1)
    slack[n] = slack_end
    for k in range(n - 1, -1, -1):
        wait_next = (start[k + 1] - arr[k + 1]) if k + 1 < n else 0.0
        slack[k] = min(hi[k] - start[k], wait_next + slack[k + 1])
    first = 1 if today.travelling is not None else 0
    return _Base(
        today.record.id,
        np.array(lat),
        np.array(lon),
        dep,
        start,
        slack,
        back,
        end.lat,
        end.lon,
        first,
    )


def _insertion_table(
    bases: Sequence[_Base], job: Job, matrix: HaversineMatrix
) -> dict[str, np.ndarray]:
    """Every (engineer, position) pair's insertion figures at once."""
    cols: dict[str, list[float]] = {
        k: [] for k in ("eng", "pos", "plat", "plon", "pdep", "nlat", "nlon", "nold", "nslack")
    }
    for b in bases:
        n = len(b.start)
        for p in range(b.first_position, n + 1):
            last = p == n
            cols["eng"].append(b.eid)
            cols["pos"].append(p)
            cols["plat"].append(b.lat[p])
            cols["plon"].append(b.lon[p])
            cols["pdep"].append(b.dep[p])
            cols["nlat"].append(b.end_lat if last else b.lat[p + 1])
            cols["nlon"].append(b.end_lon if last else b.lon[p + 1])
            cols["nold"].append(b.back if last else b.start[p])
            cols["nslack"].append(b.slack[p])
    a = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    x_lat, x_lon = job.location.lat, job.location.lon
    d1, t1 = _hav(matrix, a["plat"], a["plon"], x_lat, x_lon)
    d2, t2 = _hav(matrix, x_lat, x_lon, a["nlat"], a["nlon"])
    d0, t0 = _hav(matrix, a["plat"], a["plon"], a["nlat"], a["nlon"])
    arrival = a["pdep"] + t1
    if job.windows:
        start = np.full(arrival.shape, np.inf)
        for w in reversed(job.windows):
            start = np.where(arrival <= w.end, np.maximum(arrival, w.start), start)
    else:
        start = arrival
    new_next = start + job.duration + t2
    delay = np.maximum(0.0, new_next - a["nold"])
    feasible = np.isfinite(start) & (delay <= a["nslack"])
    return {
        "engineer": a["eng"].astype(np.int64),
        "position": a["pos"].astype(np.int64),
        "arrival": arrival,
        "start": start,
        "added_m": d1 + d2 - d0,
        "added_s": t1 + t2 - t0,
        "feasible": feasible,
    }


def _ticket(session: Session, ticket_id: int) -> TicketRecord:
    found = load_tickets(session, ticket_ids=[ticket_id])
    if not found:
        raise NotFound("ticket", ticket_id)
    return found[0]


def _declined_by(session: Session, ticket_id: int) -> set[int]:
    """Engineers who declined this ticket (they had a reason; assign can still override)."""
    out: set[int] = set()
    for payload in session.exec(
        select(TicketEvent.payload).where(
            TicketEvent.ticket_id == ticket_id,
            TicketEvent.kind == "returned_to_pool",
        )
    ):
        who = (payload or {}).get("declined_by")
        if isinstance(who, int):
            out.add(who)
    return out


def _without(today: EngineerToday, ticket_id: int) -> None:
    """Take the ticket off his remaining route (it is being moved)."""
    today.planned = [t for t in today.planned if t.id != ticket_id]
    today.jobs.pop(ticket_id, None)


def _timed(
    today: EngineerToday, seq: list[int], job: Job | None, weights: Weights, matrix: Any
) -> Route:
    tech = today.technician
    assert tech is not None
    problem = today.problem(extra=[job] if job else [], weights=weights)
    return evaluate_route(problem, tech.id, [str(t) for t in seq], matrix)


def _delays(before: Route, after: Route) -> tuple[Delay, ...]:
    old = {s.job_id: s.start for s in before.stops}
    out = []
    for s in after.stops:
        if s.job_id in old and s.start - old[s.job_id] >= 60:
            out.append(Delay(int(s.job_id), round((s.start - old[s.job_id]) / 60, 1)))
    return tuple(out)


def find_candidates(
    session: Session,
    *,
    ticket_id: int,
    k: int = 5,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    weights: Weights | None = None,
    matrix: HaversineMatrix | None = None,
) -> CandidateList:
    """The best ``k`` engineers for a ticket right now (see the module docstring).

    Raises
    ------
    NotFound
        No such ticket.
    Conflict
        The ticket is not open (already dispatched, done, cancelled, on hold).
    InvalidInput
        The ticket cannot be served today (its windows are on other days).
    """
    now = now or utcnow()
    weights = weights or Weights()
    matrix = matrix or HaversineMatrix()
    ticket = _ticket(session, ticket_id)
    if S(ticket.status) not in PLANNABLE:
        raise Conflict(
            f"ticket {ticket_id} is {ticket.status}: only new or scheduled tickets get candidates",
            ticket_status=ticket.status,
        )
    ids = (
        None
        if ticket.territory_id is None
        else engineers_for_territory(session, ticket.territory_id, primary_only=False)
    )
    today = load_today(session, now=now, tz=tz, engineer_ids=ids)
    job = today.job(ticket)
    if job is None:
        raise InvalidInput(
            f"ticket {ticket_id} cannot be served today: its time windows are on other days",
            [{"loc": ["body", "ticket_id"], "msg": "no window today"}],
        )
    declined = _declined_by(session, ticket_id)
    need = SkillLevels(dict(ticket.skills))
    excluded: list[Excluded] = []
    eligible: list[EngineerToday] = []
    roles: dict[int, int] = {}
    for eid, e in sorted(today.engineers.items()):
        name = e.record.name
        role = _role(e, ticket.territory_id)
        if eid in declined:
            excluded.append(Excluded(eid, name, "declined this ticket"))
        elif e.technician is None:
            excluded.append(Excluded(eid, name, "not working for the rest of today"))
        elif role is None:
            continue
        elif not SkillLevels(e.technician.skills).covers(need):
            excluded.append(Excluded(eid, name, "lacks a required skill level"))
        else:
            _without(e, ticket_id)
            eligible.append(e)
            roles[eid] = role
    candidates: list[Candidate] = []
    if eligible:
        bases = [_base(e, matrix) for e in eligible]
        table = _insertion_table(bases, job, matrix)
        sla_cost = np.zeros_like(table["start"])
        if job.sla_due is not None:
            late = np.maximum(0.0, np.nan_to_num(table["start"], posinf=1e12) - job.sla_due)
            sla_cost = weights.sla_hour * late / 3600
        role_cost = np.array([roles[int(e)] for e in table["engineer"]]) * (
            weights.secondary_territory
        )
        cost = (
            weights.travel_hour * table["added_s"] / 3600
            + weights.distance_km * table["added_m"] / 1000
            + sla_cost
            + role_cost
        )
        cost = np.where(table["feasible"], cost, np.inf)
        order = np.argsort(cost, kind="stable")
        tried: dict[int, int] = {}
        by_id = {e.record.id: e for e in eligible}
        for row in order:
            if len(candidates) >= k or not np.isfinite(cost[row]):
                break
            eid = int(table["engineer"][row])
            if any(c.engineer_id == eid for c in candidates):
                continue
            if tried.get(eid, 0) >= VERIFY_PER_ENGINEER:
                continue
            tried[eid] = tried.get(eid, 0) + 1
            e = by_id[eid]
            seq = e.sequence
            p = int(table["position"][row])
            after_seq = [*seq[:p], ticket_id, *seq[p:]]
            before = _timed(e, seq, None, weights, matrix)
            after = _timed(e, after_seq, job, weights, matrix)
            if not after.feasible:
                continue
            stop = next(s for s in after.stops if s.job_id == str(ticket_id))
            candidates.append(
                Candidate(
                    engineer_id=eid,
                    engineer_name=e.record.name,
                    position=p,
                    eta=today.clock.at(stop.arrival),
                    start_at=today.clock.at(stop.start),
                    end_at=today.clock.at(stop.end),
                    added_km=round((after.distance_m - before.distance_m) / 1000, 3),
                    added_minutes=round((after.travel_s - before.travel_s) / 60, 1),
                    day_extended_minutes=round(
                        max(0, after.end_time - (before.end_time if before.stops else e.free_from))
                        / 60,
                        1,
                    ),
                    cost=round(
                        after.cost - before.cost + roles[eid] * weights.secondary_territory, 2
                    ),
                    territory_role="secondary" if roles[eid] else "primary",
                    delays=_delays(before, after),
                    route_after=tuple(after_seq),
                )
            )
    return CandidateList(
        ticket_id=ticket_id,
        at=now,
        candidates=tuple(sorted(candidates, key=lambda c: (c.cost, c.engineer_id))),
        excluded=tuple(excluded),
        considered=len(eligible),
    )


def assign_ticket(
    session: Session,
    *,
    ticket_id: int,
    engineer_id: int,
    position: int | None = None,
    actor: Actor,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    weights: Weights | None = None,
    matrix: HaversineMatrix | None = None,
) -> AssignResult:
    """Put a ticket on an engineer's route today (cheapest feasible position, or ``position``).

    Raises
    ------
    NotFound
        No such ticket or engineer.
    Conflict
        The ticket is not open, the engineer may not or cannot take it (``reason`` and
        ``violations`` in the error say why).
    """
    now = now or utcnow()
    weights = weights or Weights()
    matrix = matrix or HaversineMatrix()
    # Serialise assignments to one engineer (PostgreSQL row lock; SQLite writers queue).
    if (
        session.exec(
            select(Engineer.id).where(Engineer.id == engineer_id).with_for_update()
        ).first()
        is None
    ):
        raise NotFound("engineer", engineer_id)
    ticket = _ticket(session, ticket_id)
    if S(ticket.status) not in PLANNABLE:
        raise Conflict(
            f"ticket {ticket_id} is {ticket.status}: only new or scheduled tickets can be assigned",
            reason="not_open",
            ticket_status=ticket.status,
        )
    today = load_today(session, now=now, tz=tz, engineer_ids=[engineer_id])
    e = today.engineers.get(engineer_id)
    if e is None or e.technician is None:
        raise Conflict(
            f"engineer {engineer_id} is not working for the rest of today",
            reason="no_shift",
        )
    role = _role(e, ticket.territory_id)
    if role is None:
        raise Conflict(
            f"ticket {ticket_id} lies in a territory engineer {e.record.name} does not cover",
            reason="no_engineer_in_territory",
        )
    if not SkillLevels(e.technician.skills).covers(SkillLevels(dict(ticket.skills))):
        raise Conflict(
            f"engineer {e.record.name} lacks a skill level ticket {ticket_id} needs",
            reason="no_engineer_with_skill",
        )
    job = today.job(ticket)
    if job is None:
        raise Conflict(
            f"ticket {ticket_id} cannot be served today: its time windows are on other days",
            reason="no_shift_covers_window",
        )
    _without(e, ticket_id)
    seq = e.sequence
    first = 1 if e.travelling is not None else 0
    if position is not None and not first <= position <= len(seq):
        raise InvalidInput(
            f"position must be between {first} and {len(seq)} for this route",
            [{"loc": ["body", "position"], "msg": "out of range"}],
        )
    positions = [position] if position is not None else list(range(first, len(seq) + 1))
    before = _timed(e, seq, None, weights, matrix)
    best: tuple[float, int, Route] | None = None
    violations: list[str] = []
    for p in positions:
        after = _timed(e, [*seq[:p], ticket_id, *seq[p:]], job, weights, matrix)
        if not after.feasible:
            violations.extend(v for v in after.violations if v not in violations)
            continue
        if best is None or after.cost < best[0]:
            best = (after.cost, p, after)
    if best is None:
        where = f"at position {position}" if position is not None else "anywhere in his route"
        raise Conflict(
            f"ticket {ticket_id} does not fit {where} for {e.record.name}: "
            + "; ".join(violations[:5]),
            reason="infeasible",
            violations=violations,
        )
    _, p, after = best
    _apply(session, today, e, after, ticket_id, actor, now)
    stop = next(s for s in after.stops if s.job_id == str(ticket_id))
    return AssignResult(
        ticket_id=ticket_id,
        engineer_id=engineer_id,
        position=p,
        eta=today.clock.at(stop.arrival),
        planned_start=today.clock.at(stop.start),
        planned_end=today.clock.at(stop.end),
        delays=_delays(before, after),
        route=tuple(
            {
                "ticket_id": int(s.job_id),
                "arrival_at": today.clock.at(s.arrival),
                "start_at": today.clock.at(s.start),
                "end_at": today.clock.at(s.end),
            }
            for s in after.stops
        ),
    )


def _apply(
    session: Session,
    today: Today,
    e: EngineerToday,
    route: Route,
    ticket_id: int,
    actor: Actor,
    now: datetime,
) -> None:
    """Write the new route: the ticket scheduled to him, new times for the others."""
    ids = [int(s.job_id) for s in route.stops]
    rows = {t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids))) if t.id}
    clock = today.clock
    for s in route.stops:
        t = rows[int(s.job_id)]
        place_ticket(
            session,
            t,
            engineer_id=e.record.id,
            start=clock.at(s.start),
            end=clock.at(s.end),
            actor=actor,
            now=now,
            payload={"source": "assign"}
            if t.id == ticket_id
            else {"source": "assign", "cause": f"ticket {ticket_id} assigned"},
        )
    session.flush()
    sync_published_route(
        session,
        clock,
        engineer_id=e.record.id,
        route=route,
        actor_name=actor.name,
        moved_away=[ticket_id],
    )
