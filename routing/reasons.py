"""Why a job is left out: pre-checks before the search and analysis after it.

Pre-checks remove the jobs no plan could serve (nobody with the skills, the territory, a
shift covering the window, a reachable window even on an otherwise empty day) and give the
first reason that applies, so a dispatcher fixes the real cause. After the search, every
dropped job is re-tried against the final routes of every technician who could do it alone,
which tells "their days are full" apart from "it fits but is not worth it" and from "the
search stopped too early". Every statement in a message has been checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from routing.compiled import COST_SCALE, Compiled
from routing.domain import Job
from routing.schedule import Timing, _forward, route_cost, timing
from routing.solution import Reason, Unassigned

__all__ = ["PreCheck", "analyse_dropped", "feasible_alone", "insert_dropped", "precheck"]


@dataclass(frozen=True, slots=True)
class PreCheck:
    """Outcome of the pre-checks: jobs for the search and reasons for the others."""

    active: tuple[int, ...]
    unassigned: dict[int, Unassigned]
    feasible_alone: dict[int, tuple[int, ...]]  # pinned job node → its technician

    def able(self, c: Compiled, node: int) -> tuple[int, ...]:
        """Technicians who could do the active job ``node`` alone (a pinned job: its pin)."""
        return self.feasible_alone.get(node) or feasible_alone(c, node)


def _names(c: Compiled, vehicles: Iterable[int | np.integer], limit: int = 3) -> str:
    ids = [c.problem.technicians[int(v)].id for v in vehicles]
    if len(ids) <= limit:
        return ", ".join(ids)
    return f"{', '.join(ids[:limit])} and {len(ids) - limit} others"


def _hhmm(t: int) -> str:
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"


def _skills_text(job: Job) -> str:
    return ", ".join(f"{code} ≥ {level}" for code, level in sorted(job.skills.items()))


def _shift_fits(c: Compiled, node: int, v: int) -> bool:
    s0, s1 = c.shift[v]
    latest_start = s1 - int(c.service[node])
    windows = c.windows[node] or ((0, c.horizon),)
    return any(max(lo, s0) <= min(hi, latest_start) for lo, hi in windows)


def _alone_ok(c: Compiled, node: int, v: int) -> tuple[bool, bool]:
    """(feasible alone, infeasible only because of max working time)."""
    fwd = _forward(c, v, [node], c.shift[v][0])
    if fwd is None:
        return False, False
    mw = c.max_work[v]
    if mw is None:
        return True, False
    t = timing(c, v, [node])
    if t is None:
        return False, False
    if t.end_arrival - t.departure > mw:
        return False, True
    return True, False


def feasible_alone(c: Compiled, node: int) -> tuple[int, ...]:
    """Technicians who could do this job on an otherwise empty day (pin respected)."""
    cache: dict[int, bool] = {}
    out = []
    for v_ in np.flatnonzero(c.eligible[node]):
        v = int(v_)
        sig = c.tech_signature[v]
        if sig not in cache:
            cache[sig] = _shift_fits(c, node, v) and _alone_ok(c, node, v)[0]
        if cache[sig]:
            out.append(v)
    return tuple(out)


def _why_not(c: Compiled, node: int, candidates: np.ndarray) -> Unassigned | None:
    """The first reason among ``candidates`` (a technician mask), or ``None`` if feasible."""
    job = c.problem.jobs[node]
    if c.n_vehicles == 0:
        return Unassigned(
            job.id, Reason.NO_ENGINEER_WITH_SKILL, "There are no technicians in this plan."
        )
    skilled = candidates & c.skill_ok[node]
    if not skilled.any():
        return Unassigned(
            job.id,
            Reason.NO_ENGINEER_WITH_SKILL,
            f"It needs {_skills_text(job)}; no technician in this plan has all of these at "
            "those levels.",
        )
    local = skilled & c.territory_ok[node]
    if not local.any():
        who = np.flatnonzero(skilled)
        return Unassigned(
            job.id,
            Reason.NO_ENGINEER_IN_TERRITORY,
            (
                f"{_names(c, who)} has the skills but does not cover"
                if len(who) == 1
                else f"{_names(c, who)} have the skills, but none of them covers"
            )
            + f" territory {job.territory}.",
        )
    fits = local & c.capacity_ok[node]
    if not fits.any():
        caps = [int(x) for v in np.flatnonzero(local) if (x := c.capacity[v]) is not None]
        if job.load and caps:
            text = (
                f"Its load of {job.load} exceeds the capacity of every technician who could "
                f"do it (largest: {max(caps)})."
            )
        else:
            text = "Every technician who could do it is limited to zero jobs today."
        return Unassigned(job.id, Reason.EXCEEDS_CAPACITY, text)
    covering = [v for v in np.flatnonzero(fits) if _shift_fits(c, node, int(v))]
    if not covering:
        win = ", ".join(f"{_hhmm(lo)}–{_hhmm(hi)}" for lo, hi in c.windows[node]) or "any time"
        return Unassigned(
            job.id,
            Reason.NO_SHIFT_COVERS_WINDOW,
            f"It must start {win} and takes {int(c.service[node]) // 60} min, but no eligible "
            f"technician ({_names(c, np.flatnonzero(fits))}) works then.",
        )
    work_only = True
    tried: set[int] = set()
    for v in covering:
        if c.tech_signature[v] in tried:
            continue
        tried.add(c.tech_signature[v])
        ok, by_work = _alone_ok(c, node, int(v))
        if ok:
            return None
        work_only = work_only and by_work
    if work_only:
        return Unassigned(
            job.id,
            Reason.EXCEEDS_WORKING_TIME,
            "Travelling there and back plus the work takes longer than the maximum working "
            f"time of every eligible technician ({_names(c, covering)}).",
        )
    return Unassigned(
        job.id,
        Reason.WINDOW_UNREACHABLE,
        f"Shifts of {_names(c, covering)} overlap its window, but even with no other work "
        "none of them can get there in time (travel, breaks or the shift end prevent it).",
    )


def precheck(c: Compiled) -> PreCheck:
    """Reasons for the jobs no plan could serve; the rest go to the search.

    A pinned job is first judged without its pin: if someone else could do it, the pin is
    the cause (``pinned_conflict``); otherwise the underlying reason is given.
    """
    jobs = c.problem.jobs
    techs = c.problem.technicians
    tech_index = {t.id: v for v, t in enumerate(techs)}
    everyone = np.ones(c.n_vehicles, dtype=bool)
    active: list[int] = []
    out: dict[int, Unassigned] = {}
    feasible_alone: dict[int, tuple[int, ...]] = {}
    locked_by: dict[int, str] = {}

    for node, job in enumerate(jobs):
        if job.pinned_to is not None:
            v = tech_index.get(job.pinned_to)
            if v is None:
                reason = _why_not(c, node, everyone)
                if reason is None:
                    reason = Unassigned(
                        job.id,
                        Reason.PINNED_CONFLICT,
                        f"It is pinned to {job.pinned_to}, who is not working in this plan.",
                    )
                out[node] = reason
                continue
            mask = np.zeros(c.n_vehicles, dtype=bool)
            mask[v] = True
            reason = _why_not(c, node, mask)
            if reason is not None:
                # Judged globally first: if nobody could do it, that is the true cause.
                anyone = _why_not(c, node, everyone)
                if anyone is not None:
                    reason = anyone
                else:
                    reason = Unassigned(
                        job.id,
                        Reason.PINNED_CONFLICT,
                        f"It is pinned to {job.pinned_to}, who cannot do it "
                        f"({reason.reason.value.replace('_', ' ')}: {reason.message}) "
                        "Someone else could: remove the pin.",
                    )
                out[node] = reason
                continue
            if job.locked_first:
                if v in locked_by:
                    out[node] = Unassigned(
                        job.id,
                        Reason.PINNED_CONFLICT,
                        f"It is locked as {job.pinned_to}'s first stop, but "
                        f"{locked_by[v]} is already in progress there; only one job can be.",
                    )
                    continue
                locked_by[v] = job.id
            feasible_alone[node] = (v,)
            active.append(node)
            continue
        reason = _why_not(c, node, everyone)
        if reason is not None:
            out[node] = reason
            continue
        active.append(node)
    return PreCheck(tuple(active), out, feasible_alone)


def _insertion(c: Compiled, v: int, route: list[int], node: int) -> tuple[int, int] | None:
    """Cheapest feasible (extra cost, position) of inserting ``node`` into ``route``."""
    max_jobs = c.max_jobs[v]
    if max_jobs is not None and len(route) + 1 > max_jobs:
        return None
    cap = c.capacity[v]
    if cap is not None and int(sum(int(c.load[b]) for b in route)) + int(c.load[node]) > cap:
        return None
    shift_start = c.shift[v][0]
    base_fwd = _forward(c, v, route, shift_start) if route else None
    if route and base_fwd is None:
        return None
    mw = c.max_work[v]
    need_span = bool(c.span_coef[v])
    base_t = timing(c, v, route) if (route and need_span) else base_fwd
    base = route_cost(c, v, route, base_t) if base_t is not None else 0
    windows = c.windows[node]
    last_close = windows[-1][1] if windows else None
    first = 1 if route and c.problem.jobs[route[0]].locked_first else 0
    best: tuple[int, int] | None = None
    for p in range(first, len(route) + 1):
        if last_close is not None and base_fwd is not None and p > 0:
            prev = route[p - 1]
            ready = base_fwd.starts[p - 1] + int(c.service[prev])
            if ready + int(c.seconds[prev, node]) > last_close:
                break  # later positions only arrive later
        cand = [*route[:p], node, *route[p:]]
        fwd = _forward(c, v, cand, shift_start)
        if fwd is None:
            continue
        t: Timing = fwd
        if need_span or (mw is not None and fwd.end_arrival - fwd.departure > mw):
            shortest = timing(c, v, cand)
            if shortest is None or (
                mw is not None and shortest.end_arrival - shortest.departure > mw
            ):
                continue
            t = shortest
        delta = route_cost(c, v, cand, t) - base
        if best is None or delta < best[0]:
            best = (delta, p)
    return best


def insert_dropped(
    c: Compiled,
    pre: PreCheck,
    routes: Sequence[Sequence[int]],
    dropped: Sequence[int],
    deadline: float | None = None,
) -> tuple[list[list[int]], int]:
    """Greedy repair: insert dropped jobs where that costs less than leaving them out.

    Jobs are taken most valuable first (urgent before low). A search stopped by its limit
    may leave such insertions behind; this is one cheap pass of exact checks, so an urgent
    job that fits somewhere is never returned unassigned. Returns the new routes and the
    total gain in internal cost units.
    """
    import time

    out = [list(r) for r in routes]
    gain = 0
    for node in sorted(dropped, key=lambda n: -c.penalty[n]):
        if deadline is not None and time.monotonic() > deadline:
            break
        able = pre.able(c, node)
        best: tuple[int, int, int] | None = None
        for v in able:
            found = _insertion(c, v, out[v], node)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], v, found[1])
        if best is not None and best[0] < c.penalty[node]:
            delta, v, pos = best
            out[v].insert(pos, node)
            gain += c.penalty[node] - delta
    return out, gain


def analyse_dropped(
    c: Compiled,
    pre: PreCheck,
    routes: Sequence[Sequence[int]],
    dropped: Sequence[int],
) -> dict[int, Unassigned]:
    """Reasons for the jobs the search left out, re-checked against the final routes."""
    out: dict[int, Unassigned] = {}
    jobs = c.problem.jobs
    for node in dropped:
        job = jobs[node]
        able = pre.able(c, node)
        best: tuple[int, int] | None = None  # (delta, vehicle)
        for v in able:
            found = _insertion(c, v, list(routes[v]), node)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], v)
        if best is None:
            out[node] = Unassigned(
                job.id,
                Reason.OVER_CAPACITY,
                f"{_names(c, able)} could do it on an otherwise empty day, but no position in "
                "their planned routes fits its window, their shift end, breaks, working time "
                "or capacity.",
            )
            continue
        delta, v = best
        who = c.problem.technicians[v].id
        penalty = c.penalty[node]
        if delta >= penalty:
            out[node] = Unassigned(
                job.id,
                Reason.TOO_COSTLY,
                f"It fits into {who}'s route, but that adds {delta / COST_SCALE:,.2f} of cost, "
                f"more than the {penalty / COST_SCALE:,.2f} for leaving a {job.priority.value} "
                "job unassigned.",
            )
        else:
            out[node] = Unassigned(
                job.id,
                Reason.SEARCH_LIMIT,
                f"It fits into {who}'s route at a cost of {delta / COST_SCALE:,.2f}, but the "
                "search stopped (time or solution limit) before placing it; allow more time.",
            )
    return out
