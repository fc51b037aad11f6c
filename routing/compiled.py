"""A problem turned into integer arrays over nodes: what the model and the checks share.

Node layout: jobs ``0..J-1`` (in ``Problem.jobs`` order), technician starts ``J..J+V-1``,
technician ends ``J+V..J+2V-1``. Costs are integers in :data:`COST_SCALE` units per money unit,
chosen so that a per-second coefficient of ``x`` money per hour is ``10 * x`` exactly
(0.1/hour precision) and a per-metre coefficient of ``y`` money per km is ``36 * y``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.domain import Priority, Problem, Technician
from routing.matrix import Matrices, TravelMatrix

__all__ = ["COST_SCALE", "Compiled", "compile_problem", "resolve_matrices", "restrict"]

COST_SCALE = 36_000
PER_SECOND = COST_SCALE / 3600  # internal units per (money per hour) per second
PER_METRE = COST_SCALE / 1000  # internal units per (money per km) per metre
MAX_COST = 2**62


def resolve_matrices(problem: Problem, matrix: TravelMatrix | Matrices) -> Matrices:
    """Matrices over ``problem.locations``, asking the provider exactly once.

    Raises
    ------
    ValueError
        If ready-made ``Matrices`` do not match the number of distinct locations.
    """
    locations = problem.locations
    if isinstance(matrix, Matrices):
        if matrix.size != len(locations):
            raise ValueError(
                f"Matrices cover {matrix.size} places but the problem has {len(locations)} "
                "distinct locations (Problem.locations)"
            )
        return matrix
    return matrix.matrices(locations)


@dataclass(frozen=True, slots=True, eq=False)
class Compiled:
    """Integer view of a problem over nodes; picklable so worker processes get it whole."""

    problem: Problem
    n_jobs: int
    n_vehicles: int
    metres: np.ndarray  # node x node
    seconds: np.ndarray  # node x node
    service: np.ndarray  # per node
    load: np.ndarray  # per node
    skill_ok: np.ndarray  # job x vehicle
    territory_ok: np.ndarray  # job x vehicle
    pin_ok: np.ndarray  # job x vehicle
    capacity_ok: np.ndarray  # job x vehicle
    eligible: np.ndarray  # job x vehicle
    windows: tuple[tuple[tuple[int, int], ...], ...]  # per job; () = unrestricted
    shift: tuple[tuple[int, int], ...]  # per vehicle
    breaks: tuple[tuple[tuple[int, int, int], ...], ...]  # per vehicle, sorted
    max_work: tuple[int | None, ...]
    max_jobs: tuple[int | None, ...]
    capacity: tuple[int | None, ...]
    arc_class: tuple[int, ...]  # per vehicle → index into arc_costs
    arc_costs: tuple[np.ndarray, ...]  # node x node, per distinct per-km cost
    span_coef: tuple[int, ...]  # per vehicle, per second of route duration
    late_due: tuple[int | None, ...]  # per job: preferred window end
    late_coef: tuple[int, ...]  # per job, per second late
    sla_due: tuple[int | None, ...]
    sla_coef: int
    affinity: np.ndarray  # job x vehicle extra cost
    balance_coef: int
    penalty: tuple[int, ...]  # per job drop penalty
    horizon: int
    tech_signature: tuple[int, ...]  # equal for technicians whose one-job days are alike
    place: np.ndarray  # per node: equal for nodes at the same place (a location number)

    def start(self, v: int) -> int:
        """Node of technician ``v``'s start place."""
        return self.n_jobs + v

    def end(self, v: int) -> int:
        """Node of technician ``v``'s end place."""
        return self.n_jobs + self.n_vehicles + v


def _arc_cost_matrix(metres: np.ndarray, seconds: np.ndarray, per_km: float, per_hour: float):
    cost = metres.astype(np.float64) * (per_km * PER_METRE) + seconds.astype(np.float64) * (
        per_hour * PER_SECOND
    )
    return np.rint(cost).astype(np.int64)


def compile_problem(problem: Problem, matrices: Matrices) -> Compiled:
    """Turn a problem and its matrices (over ``problem.locations``) into integer arrays.

    The eligibility tables (skills, territory, pin, capacity) are computed here once with
    the job × technician structure, so that the OR-Tools model, the pre-checks and the
    post-solve analysis agree on who may do what.
    """
    jobs = problem.jobs
    techs = problem.technicians
    w = problem.weights
    n_jobs, n_veh = len(jobs), len(techs)
    loc_index = {loc: k for k, loc in enumerate(problem.locations)}
    node_loc = [loc_index[j.location] for j in jobs]
    node_loc += [loc_index[t.start] for t in techs]
    node_loc += [loc_index[t.end_location] for t in techs]
    sub = matrices.take(node_loc)

    service = np.zeros(n_jobs + 2 * n_veh, dtype=np.int64)
    load = np.zeros(n_jobs + 2 * n_veh, dtype=np.int64)
    for i, j in enumerate(jobs):
        service[i] = j.duration
        load[i] = j.load

    def table(pred) -> np.ndarray:
        return np.array([[pred(j, t) for t in techs] for j in jobs], dtype=bool).reshape(
            n_jobs, n_veh
        )

    skill_ok = table(lambda j, t: t.skills.covers(j.skills))
    territory_ok = table(lambda j, t: t.serves_territory(j.territory))
    pin_ok = table(lambda j, t: j.pinned_to is None or j.pinned_to == t.id)
    capacity_ok = table(
        lambda j, t: (t.capacity is None or j.load <= t.capacity) and t.max_jobs != 0
    )
    eligible = skill_ok & territory_ok & pin_ok & capacity_ok

    horizon = max(
        [t.shift.end for t in techs]
        + [w_.end for j in jobs for w_ in j.windows]
        + [b.latest_start + b.duration for t in techs for b in t.breaks]
        + [1]
    )

    classes: dict[float, int] = {}
    arc_class: list[int] = []
    arc_costs: list[np.ndarray] = []
    for t in techs:
        key = float(t.cost_per_km)
        if key not in classes:
            classes[key] = len(arc_costs)
            arc_costs.append(
                _arc_cost_matrix(sub.metres, sub.seconds, w.distance_km + key, w.travel_hour)
            )
        arc_class.append(classes[key])

    affinity = np.zeros((n_jobs, n_veh), dtype=np.int64)
    sec = round(w.secondary_territory * COST_SCALE)
    pref = round(w.preferred_technician * COST_SCALE)
    for i, j in enumerate(jobs):
        for v, t in enumerate(techs):
            extra = 0
            if t.is_secondary_for(j.territory):
                extra += sec
            if j.preferred_technician is not None and j.preferred_technician != t.id:
                extra += pref
            affinity[i, v] = extra

    span_coef = tuple(round(t.cost_per_hour * PER_SECOND) for t in techs)
    late_coef = tuple(
        round(j.lateness_penalty * PER_SECOND) if j.preferred_window else 0 for j in jobs
    )
    sla_coef = round(w.sla_hour * PER_SECOND)
    balance_coef = round(w.balance_hour * PER_SECOND)

    # Urgent jobs must outweigh everything else that could ever be paid: a bound on all
    # route costs, soft costs and every non-urgent penalty together.
    other = [round((w.drop_penalty(j.priority) or 0.0) * COST_SCALE) for j in jobs]
    max_arc = max((int(m.max()) for m in arc_costs if m.size), default=0)
    bound = (
        max_arc * (n_jobs + n_veh)
        + sum(span_coef) * horizon
        + sum(late_coef) * horizon
        + sla_coef * horizon * n_jobs
        + balance_coef * horizon
        + int(affinity.max(initial=0)) * n_jobs
        + sum(other)
        + 1
    )
    n_urgent = sum(1 for j in jobs if j.priority is Priority.URGENT)
    urgent = min(bound, MAX_COST // (n_urgent + 1)) if n_urgent else 0
    penalty = tuple(
        urgent if j.priority is Priority.URGENT else p for j, p in zip(jobs, other, strict=False)
    )

    return Compiled(
        problem=problem,
        n_jobs=n_jobs,
        n_vehicles=n_veh,
        metres=sub.metres,
        seconds=sub.seconds,
        service=service,
        load=load,
        skill_ok=skill_ok,
        territory_ok=territory_ok,
        pin_ok=pin_ok,
        capacity_ok=capacity_ok,
        eligible=eligible,
        windows=tuple(tuple((w_.start, w_.end) for w_ in j.windows) for j in jobs),
        shift=tuple((t.shift.start, t.shift.end) for t in techs),
        breaks=tuple(_sorted_breaks(t) for t in techs),
        max_work=tuple(t.max_work_seconds for t in techs),
        max_jobs=tuple(t.max_jobs for t in techs),
        capacity=tuple(t.capacity for t in techs),
        arc_class=tuple(arc_class),
        arc_costs=tuple(arc_costs),
        span_coef=span_coef,
        late_due=tuple(j.preferred_window.end if j.preferred_window else None for j in jobs),
        late_coef=late_coef,
        sla_due=tuple(j.sla_due for j in jobs),
        sla_coef=sla_coef,
        affinity=affinity,
        balance_coef=balance_coef,
        penalty=penalty,
        horizon=int(horizon),
        tech_signature=_signatures(techs, node_loc[n_jobs:]),
        place=np.asarray(node_loc, dtype=np.intp),
    )


def _signatures(techs: Sequence[Technician], ends: Sequence[int]) -> tuple[int, ...]:
    """Group technicians by what decides a one-job day: places, shift, breaks, max work."""
    n = len(techs)
    seen: dict[tuple, int] = {}
    out = []
    for v, t in enumerate(techs):
        key = (ends[v], ends[n + v], t.shift, _sorted_breaks(t), t.max_work_seconds)
        out.append(seen.setdefault(key, len(seen)))
    return tuple(out)


def _sorted_breaks(t: Technician) -> tuple[tuple[int, int, int], ...]:
    return tuple(sorted((b.earliest_start, b.latest_start, b.duration) for b in t.breaks))


def job_nodes(compiled: Compiled, job_ids: Sequence[str]) -> list[int]:
    """Node indices of job ids (``KeyError`` for an unknown id)."""
    index = {j.id: i for i, j in enumerate(compiled.problem.jobs)}
    return [index[j] for j in job_ids]


def restrict(c: Compiled, jobs: Sequence[int], vehicles: Sequence[int]) -> Compiled:
    """The compiled problem over a subset of jobs and technicians (a decomposition piece).

    Every cost and penalty keeps its value, in particular the urgent penalty computed for the
    whole problem, so objectives of pieces add up to the objective of the whole.
    """
    jobs = list(jobs)
    vehicles = list(vehicles)
    nodes = np.asarray(
        [*jobs, *(c.start(v) for v in vehicles), *(c.end(v) for v in vehicles)], dtype=np.intp
    )
    grid = np.ix_(nodes, nodes)
    cells = np.ix_(jobs, vehicles)
    techs = c.problem.technicians
    sub_problem = Problem(
        tuple(techs[v] for v in vehicles),
        tuple(c.problem.jobs[j] for j in jobs),
        c.problem.weights,
    )
    return Compiled(
        problem=sub_problem,
        n_jobs=len(jobs),
        n_vehicles=len(vehicles),
        metres=c.metres[grid],
        seconds=c.seconds[grid],
        service=c.service[nodes],
        load=c.load[nodes],
        skill_ok=c.skill_ok[cells],
        territory_ok=c.territory_ok[cells],
        pin_ok=c.pin_ok[cells],
        capacity_ok=c.capacity_ok[cells],
        eligible=c.eligible[cells],
        windows=tuple(c.windows[j] for j in jobs),
        shift=tuple(c.shift[v] for v in vehicles),
        breaks=tuple(c.breaks[v] for v in vehicles),
        max_work=tuple(c.max_work[v] for v in vehicles),
        max_jobs=tuple(c.max_jobs[v] for v in vehicles),
        capacity=tuple(c.capacity[v] for v in vehicles),
        arc_class=tuple(c.arc_class[v] for v in vehicles),
        arc_costs=tuple(m[grid] for m in c.arc_costs),
        span_coef=tuple(c.span_coef[v] for v in vehicles),
        late_due=tuple(c.late_due[j] for j in jobs),
        late_coef=tuple(c.late_coef[j] for j in jobs),
        sla_due=tuple(c.sla_due[j] for j in jobs),
        sla_coef=c.sla_coef,
        affinity=c.affinity[cells],
        balance_coef=c.balance_coef,
        penalty=tuple(c.penalty[j] for j in jobs),
        horizon=c.horizon,
        tech_signature=tuple(c.tech_signature[v] for v in vehicles),
        place=c.place[nodes],
    )
