"""Times of a fixed sequence of jobs for one technician, and whether it is feasible.

This is the pure-Python mirror of the time model the solver uses: service starts inside one
of a job's windows, waiting is allowed, breaks never overlap service and may split a journey,
the technician leaves no earlier than the shift start and is back by its end. For a given
departure, the earliest times are computed by a small dynamic programme over "how many
breaks taken so far"; then the departure is delayed as far as possible without finishing
later, which is what a dispatcher expects to see (no needless waiting at the first stop).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from routing.compiled import COST_SCALE, Compiled, compile_problem
from routing.domain import Problem
from routing.matrix import Matrices, TravelMatrix
from routing.solution import Route, Stop

__all__ = ["evaluate_nodes", "evaluate_route", "route_cost", "timing"]


@dataclass(slots=True)
class _State:
    ready: int  # end of service at the current node (departure time at the start)
    breaks: list[tuple[int, int]]
    arrivals: list[int]
    starts: list[int]


@dataclass(frozen=True, slots=True)
class Timing:
    """Feasible times of a sequence: departure, per-stop arrival/start, breaks, return."""

    departure: int
    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    breaks: tuple[tuple[int, int], ...]
    end_arrival: int


def _window_start(windows: tuple[tuple[int, int], ...], arrival: int) -> int | None:
    if not windows:
        return arrival
    for lo, hi in windows:
        if arrival <= hi:
            return max(arrival, lo)
    return None


def _forward(c: Compiled, v: int, nodes: Sequence[int], departure: int) -> Timing | None:
    """Earliest feasible times for a fixed departure, or ``None``."""
    brks = c.breaks[v]
    n_b = len(brks)
    shift_end = c.shift[v][1]
    states: list[_State | None] = [None] * (n_b + 1)
    # Breaks taken before leaving (only possible when leaving late).
    cur = 0
    placed: list[tuple[int, int]] = []
    states[0] = _State(departure, [], [], [])
    for k in range(n_b):
        e, lst, d = brks[k]
        bs = max(e, cur)
        if bs > lst or bs + d > departure:
            break
        cur = bs + d
        placed.append((bs, cur))
        states[k + 1] = _State(departure, list(placed), [], [])
    path = [c.start(v), *nodes, c.end(v)]
    seconds = c.seconds
    for pos in range(1, len(path)):
        a, b = path[pos - 1], path[pos]
        tau = int(seconds[a, b])
        is_end = pos == len(path) - 1
        windows = () if is_end else c.windows[b]
        service = 0 if is_end else int(c.service[b])
        new: list[_State | None] = [None] * (n_b + 1)
        for k, st in enumerate(states):
            if st is None:
                continue
            t = st.ready
            cur = t
            sum_d = 0
            taken: list[tuple[int, int]] = []
            for m in range(n_b - k + 1):
                if m:
                    e, lst, d = brks[k + m - 1]
                    bs = max(e, cur)
                    if bs > lst:
                        break
                    cur = bs + d
                    sum_d += d
                    taken.append((bs, cur))
                ready_at_b = max(cur, t + sum_d + tau)
                start = _window_start(windows, ready_at_b)
                if start is None:
                    break
                done = start + service
                slot = new[k + m]
                if slot is None or done < slot.ready:
                    new[k + m] = _State(
                        done,
                        st.breaks + taken,
                        [*st.arrivals, _arrival(t, tau, taken)],
                        [*st.starts, start],
                    )
        states = new
    best: Timing | None = None
    for k, st in enumerate(states):
        if st is None or st.ready > shift_end:
            continue
        # Breaks not taken yet happen after the technician is back.
        cur = st.ready
        extra: list[tuple[int, int]] = []
        ok = True
        for e, lst, d in brks[k:]:
            bs = max(e, cur)
            if bs > lst:
                ok = False
                break
            cur = bs + d
            extra.append((bs, cur))
        if not ok:
            continue
        if best is None or st.ready < best.end_arrival:
            best = Timing(
                departure=departure,
                arrivals=tuple(st.arrivals[:-1]),
                starts=tuple(st.starts[:-1]),
                breaks=tuple(st.breaks + extra),
                end_arrival=st.ready,
            )
    return best


def _arrival(t: int, tau: int, breaks: list[tuple[int, int]]) -> int:
    """When the technician physically arrives: travel fills the gaps between breaks."""
    pos, remaining = t, tau
    for bs, be in breaks:
        free = bs - pos
        if remaining <= free:
            return pos + remaining
        remaining -= max(free, 0)
        pos = max(pos, be)
    return pos + remaining


def timing(c: Compiled, v: int, nodes: Sequence[int]) -> Timing | None:
    """Feasible times of ``nodes`` for technician ``v``, leaving as late as is useful.

    Returns ``None`` when no schedule satisfies windows, breaks and the shift. Leaving later
    shortens the day as long as it does not delay the return; because breaks may also be
    taken before leaving, departures are searched region by region (a region starts where
    one more break fits before leaving), and within a region feasibility only gets worse
    with a later departure, so a binary search finds the latest useful departure. The first
    region that respects the maximum working time wins (breaks stay inside the day).
    """
    shift_start = c.shift[v][0]
    cuts = [shift_start]
    cur = 0
    for e, lst, d in c.breaks[v]:
        bs = max(e, cur)
        if bs > lst:
            break
        cur = bs + d
        if cur > shift_start:
            cuts.append(cur)
    best: Timing | None = None
    for k, lo in enumerate(cuts):
        first = _forward(c, v, nodes, lo)
        if first is None:
            continue
        target = first.end_arrival
        late = _lateness(c, nodes, first.starts)
        hi = min(target, cuts[k + 1] - 1) if k + 1 < len(cuts) else target
        found = first
        while lo < hi:
            mid = (lo + hi + 1) // 2
            t = _forward(c, v, nodes, mid)
            if t is not None and t.end_arrival <= target and _lateness(c, nodes, t.starts) <= late:
                lo, found = mid, t
            else:
                hi = mid - 1
        span = found.end_arrival - found.departure
        mw = c.max_work[v]
        if mw is None or span <= mw:
            # The earliest region keeps breaks inside the day, as a dispatcher expects.
            return found
        if best is None or span < best.end_arrival - best.departure:
            best = found
    return best


def _lateness(c: Compiled, nodes: Sequence[int], starts: Sequence[int]) -> int:
    """What starting late costs: past the preferred windows' ends and the SLA due times."""
    cost = 0
    for b, start in zip(nodes, starts, strict=True):
        due = c.late_due[b]
        if due is not None and start > due:
            cost += c.late_coef[b] * (start - due)
        sla = c.sla_due[b]
        if sla is not None and start > sla:
            cost += c.sla_coef * (start - sla)
    return cost


def _fmt(t: int) -> str:
    sign = "-" if t < 0 else ""
    t = abs(t)
    return f"{sign}{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def _diagnose(c: Compiled, v: int, nodes: Sequence[int]) -> list[str]:
    """Sentences naming what breaks in an infeasible sequence (earliest times, no breaks)."""
    jobs = c.problem.jobs
    out: list[str] = []
    t = c.shift[v][0]
    prev = c.start(v)
    for b in nodes:
        arrival = t + int(c.seconds[prev, b])
        start = _window_start(c.windows[b], arrival)
        if start is None:
            close = c.windows[b][-1][1]
            out.append(
                f"job {jobs[b].id} cannot start before {_fmt(arrival)}, after its last window "
                f"closes at {_fmt(close)}"
            )
            start = arrival
        t = start + int(c.service[b])
        prev = b
    back = t + int(c.seconds[prev, c.end(v)])
    if back > c.shift[v][1]:
        out.append(
            f"back at the end place at {_fmt(back)}, after the shift ends at {_fmt(c.shift[v][1])}"
        )
    if not out:
        out.append("no place for the break(s) between jobs, windows and the shift end")
    return out


def _static_violations(c: Compiled, v: int, nodes: Sequence[int]) -> list[str]:
    tech = c.problem.technicians[v]
    jobs = c.problem.jobs
    out: list[str] = []
    seen: set[int] = set()
    for pos, b in enumerate(nodes):
        job = jobs[b]
        if b in seen:
            out.append(f"job {job.id} appears twice")
        seen.add(b)
        if not c.skill_ok[b, v]:
            out.append(f"{tech.id} lacks a skill level job {job.id} needs")
        if not c.territory_ok[b, v]:
            out.append(f"job {job.id} is in territory {job.territory}, not covered by {tech.id}")
        if not c.pin_ok[b, v]:
            out.append(f"job {job.id} is pinned to {job.pinned_to}")
        if job.locked_first and pos != 0:
            out.append(f"job {job.id} is work in progress and must be the first stop")
    max_jobs = c.max_jobs[v]
    if max_jobs is not None and len(nodes) > max_jobs:
        out.append(f"{len(nodes)} jobs, more than {tech.id}'s maximum of {max_jobs}")
    load = int(sum(int(c.load[b]) for b in nodes))
    cap = c.capacity[v]
    if cap is not None and load > cap:
        out.append(f"load {load} exceeds {tech.id}'s capacity {cap}")
    return out


def route_cost(c: Compiled, v: int, nodes: Sequence[int], t: Timing) -> int:
    """The objective terms of one route, in internal cost units (no drop penalties)."""
    arcs = c.arc_costs[c.arc_class[v]]
    path = [c.start(v), *nodes, c.end(v)]
    cost = sum(int(arcs[a, b]) for a, b in itertools.pairwise(path)) if nodes else 0
    if nodes:
        cost += c.span_coef[v] * (t.end_arrival - t.departure)
    cost += _lateness(c, nodes, t.starts)
    return cost + sum(int(c.affinity[b, v]) for b in nodes)


def evaluate_nodes(c: Compiled, v: int, nodes: Sequence[int]) -> Route:
    """The :class:`Route` of a node sequence, with violations listed when infeasible."""
    tech = c.problem.technicians[v]
    jobs = c.problem.jobs
    violations = _static_violations(c, v, nodes)
    t = timing(c, v, nodes) if nodes else None
    if nodes and t is None:
        violations += _diagnose(c, v, nodes)
    if t is None:
        # Still report the naive earliest times so a dispatcher sees where it goes wrong.
        arrivals: list[int] = []
        starts: list[int] = []
        clock = c.shift[v][0]
        prev = c.start(v)
        for b in nodes:
            arr = clock + int(c.seconds[prev, b])
            st = _window_start(c.windows[b], arr)
            st = arr if st is None else st
            arrivals.append(arr)
            starts.append(st)
            clock = st + int(c.service[b])
            prev = b
        back = clock + int(c.seconds[prev, c.end(v)]) if nodes else c.shift[v][0]
        t_rep = Timing(c.shift[v][0], tuple(arrivals), tuple(starts), (), back)
    else:
        t_rep = t
        mw = c.max_work[v]
        if mw is not None and t.end_arrival - t.departure > mw:
            violations.append(
                f"working time {_fmt(t.end_arrival - t.departure)} exceeds {tech.id}'s maximum "
                f"of {_fmt(mw)}"
            )
    stops: list[Stop] = []
    prev = c.start(v)
    wait_total = 0
    for k, b in enumerate(nodes):
        arr, st = t_rep.arrivals[k], t_rep.starts[k]
        in_gap = 0
        gap_lo = arr
        for bs, be in t_rep.breaks:
            if gap_lo <= bs < st:
                in_gap += be - bs
        wait = max(0, st - arr - in_gap)
        wait_total += wait
        stops.append(
            Stop(
                job_id=jobs[b].id,
                arrival=arr,
                wait=wait,
                start=st,
                end=st + int(c.service[b]),
                leg_metres=int(c.metres[prev, b]),
                leg_seconds=int(c.seconds[prev, b]),
            )
        )
        prev = b
    end_m = int(c.metres[prev, c.end(v)]) if nodes else 0
    end_s = int(c.seconds[prev, c.end(v)]) if nodes else 0
    cost = route_cost(c, v, nodes, t) / COST_SCALE if t is not None else 0.0
    return Route(
        technician_id=tech.id,
        stops=stops,
        start_time=t_rep.departure,
        end_time=t_rep.end_arrival,
        distance_m=sum(s.leg_metres for s in stops) + end_m,
        travel_s=sum(s.leg_seconds for s in stops) + end_s,
        service_s=int(sum(int(c.service[b]) for b in nodes)),
        wait_s=wait_total,
        load=int(sum(int(c.load[b]) for b in nodes)),
        breaks=t_rep.breaks if nodes else (),
        end_leg_metres=end_m,
        end_leg_seconds=end_s,
        cost=cost,
        violations=tuple(violations),
    )


def evaluate_route(
    problem: Problem,
    technician_id: str,
    job_ids: Sequence[str],
    matrix: TravelMatrix | Matrices,
) -> Route:
    """Times and feasibility of a fixed sequence of jobs for one technician.

    The dispatch layer calls this after a manual insertion or reordering, to show the new
    arrival, wait, start and end of every stop, where the break falls, and — instead of an
    exception — the list of broken constraints in ``Route.violations``.

    Parameters
    ----------
    problem
        The problem the technician and jobs belong to.
    technician_id
        Whose route it is.
    job_ids
        Jobs in visiting order.
    matrix
        A provider (asked only for the places involved) or ready-made ``Matrices`` over
        ``problem.locations``.

    Returns
    -------
    Route
        ``Route.feasible`` tells whether every hard constraint holds.

    Raises
    ------
    KeyError
        For an unknown technician or job id.
    """
    tech = problem.technician(technician_id)
    wanted = [problem.job(j) for j in job_ids]
    # Locked jobs of this technician matter for the check even when not listed.
    uniq = list(dict.fromkeys(wanted))
    for j in problem.jobs:
        if j.locked_first and j.pinned_to == tech.id and j not in uniq:
            uniq.append(j)
    sub = Problem((tech,), tuple(uniq), problem.weights)
    if isinstance(matrix, Matrices):
        full = problem.locations
        pos = {loc: k for k, loc in enumerate(full)}
        if matrix.size != len(full):
            raise ValueError(
                f"Matrices cover {matrix.size} places but the problem has {len(full)} "
                "distinct locations (Problem.locations)"
            )
        mats = matrix.take([pos[loc] for loc in sub.locations])
    else:
        mats = matrix.matrices(sub.locations)
    c = compile_problem(sub, mats)
    index = {j.id: i for i, j in enumerate(sub.jobs)}
    route = evaluate_nodes(c, 0, [index[j] for j in job_ids])
    missing = [
        f"work in progress {j.id} is missing from {tech.id}'s route"
        for j in uniq
        if j.locked_first and j.pinned_to == tech.id and j.id not in job_ids
    ]
    if missing:
        route = replace(route, violations=(*route.violations, *missing))
    return route
