"""The greedy baseline: how a busy dispatcher plans a day by hand.

Tickets are taken in priority order (then SLA due, then earliest window); each goes to the
*nearest free* engineer — the one closest to where his route currently ends who has the
skills, serves the ticket's territory (primary first; secondary only when no primary
engineer can take it) and can still fit it at the end of his day — and is appended to his
route. No reordering, no look-ahead. The savings report measures the optimiser against it
on the same tickets and engineers.

"Can still fit it" is the dispatcher's arithmetic: drive there from the last stop, wait
for the window, do the work, and still be home by the end of the shift within the maximum
working time, taking the lunch break at the first stop after it opens (or sooner if a later
start would miss it). Pure: plain ``routing`` types in and out, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from routing import (
    Break,
    HaversineMatrix,
    Job,
    Problem,
    Route,
    SkillLevels,
    Technician,
    evaluate_route,
)
from routing.matrix import EARTH_RADIUS_M

__all__ = ["GreedyResult", "greedy_dispatch"]


@dataclass(slots=True)
class _State:
    tech: Technician
    lat: float
    lon: float
    ready: int
    pending: list[Break]
    jobs: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GreedyResult:
    """Routes (technician id → job ids in order), evaluated routes, unserved job ids."""

    routes: dict[str, list[str]]
    evaluated: dict[str, Route]
    unassigned: list[str]

    @property
    def assigned(self) -> int:
        return sum(len(r) for r in self.routes.values())


def _metres(matrix: HaversineMatrix, lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> tuple[Any, Any]:
    """Road metres and seconds the way ``HaversineMatrix`` computes them (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    road = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))) * matrix.circuity
    return np.rint(road), np.ceil(road / (matrix.speed_kmh / 3.6) - 1e-9)


def _first_start(job: Job, t: int) -> int | None:
    if not job.windows:
        return t
    for w in job.windows:
        if t <= w.end:
            return max(t, w.start)
    return None


def _append(st: _State, job: Job, matrix: HaversineMatrix) -> tuple[int, int, list[Break]] | None:
    """(new ready time, start of service, breaks still pending) or ``None`` if it cannot fit."""
    tech = st.tech
    _, tau = _metres(matrix, st.lat, st.lon, job.location.lat, job.location.lon)
    travel = int(tau)
    t = st.ready
    pending = list(st.pending)
    while pending:
        b = pending[0]
        guess = _first_start(job, t + travel)
        if t >= b.earliest_start or guess is None or guess + job.duration > b.latest_start:
            bs = max(t, b.earliest_start)
            if bs > b.latest_start:
                return None
            t = bs + b.duration
            pending.pop(0)
        else:
            break
    start = _first_start(job, t + travel)
    if start is None:
        return None
    end = start + job.duration
    for b in pending:
        if max(end, b.earliest_start) > b.latest_start:
            return None
    end_loc = tech.end_location
    _, back_s = _metres(matrix, job.location.lat, job.location.lon, end_loc.lat, end_loc.lon)
    back = end + int(back_s)
    if back > tech.shift.end:
        return None
    if tech.max_work_seconds is not None and back - tech.shift.start > tech.max_work_seconds:
        return None
    return end, start, pending


def _serves(tech: Technician, job: Job) -> int | None:
    """0 primary (or unzoned), 1 secondary, ``None`` when the technician may not go."""
    if not SkillLevels(tech.skills).covers(job.skills):
        return None
    if job.territory is None:
        return 0 if not (tech.territories or tech.secondary_territories) else None
    if job.territory in tech.territories:
        return 0
    if job.territory in tech.secondary_territories:
        return 1
    return None


def greedy_dispatch(
    problem: Problem, matrix: HaversineMatrix | None = None, *, evaluate: bool = True
) -> GreedyResult:
    """Plan ``problem`` the greedy way (see the module docstring).

    ``evaluate`` re-times every route with :func:`routing.evaluate_route`, so the figures
    compare like for like with the optimiser's routes.
    """
    matrix = matrix or HaversineMatrix()
    states = [
        _State(
            tech=t,
            lat=t.start.lat,
            lon=t.start.lon,
            ready=t.shift.start,
            pending=sorted(t.breaks, key=lambda b: b.earliest_start),
        )
        for t in problem.technicians
    ]

    def order(j: Job) -> tuple[int, float, int, str]:
        sla = j.sla_due if j.sla_due is not None else math.inf
        first = j.windows[0].start if j.windows else 0
        return (-j.priority.rank, sla, first, j.id.zfill(12))

    unassigned: list[str] = []
    for job in sorted(problem.jobs, key=order):
        placed = False
        for tier in (0, 1):
            cands = [s for s in states if _serves(s.tech, job) == tier]
            if not cands:
                continue
            lat = np.array([s.lat for s in cands])
            lon = np.array([s.lon for s in cands])
            dist, _ = _metres(matrix, lat, lon, job.location.lat, job.location.lon)
            for k in np.argsort(dist, kind="stable"):
                st = cands[int(k)]
                fit = _append(st, job, matrix)
                if fit is None:
                    continue
                st.ready, _start, st.pending = fit
                st.lat, st.lon = job.location.lat, job.location.lon
                st.jobs.append(job.id)
                placed = True
                break
            if placed:
                break
        if not placed:
            unassigned.append(job.id)

    routes = {s.tech.id: s.jobs for s in states if s.jobs}
    evaluated: dict[str, Route] = {}
    if evaluate:
        by_id = {j.id: j for j in problem.jobs}
        for s in states:
            if not s.jobs:
                continue
            sub = Problem((s.tech,), tuple(by_id[j] for j in s.jobs), problem.weights)
            evaluated[s.tech.id] = evaluate_route(sub, s.tech.id, s.jobs, matrix)
    return GreedyResult(routes=routes, evaluated=evaluated, unassigned=unassigned)
