"""Recombination: the best plan that can be assembled from routes the searches already found.

Independent searches (the portfolio's processes, and one search over time) pass through
many good solutions, and each of those solutions holds routes that are feasible on their
own. When a plan's cost is the sum of its routes' costs (arc costs and drop penalties
only), picking the cheapest set of known routes that visits every job at most once is a
set-partitioning problem, which SCIP (shipped with OR-Tools) solves in about a second for a
few thousand routes.
The answer is never worse than the best search, because the best search's routes are in the
pool; it is often better, because it joins the good routes of different searches (the
"ILS + set partitioning" recombination of Subramanian, Uchoa and Ochi, 2013).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from ortools.linear_solver import pywraplp

from routing.compiled import Compiled

__all__ = ["Pool", "recombine", "separable", "vehicle_classes"]

Pool = list[tuple[int, tuple[int, ...]]]
"""(vehicle, job nodes in visiting order) pairs, as searches collect them."""

MAX_COLUMNS = 50_000
"""Routes beyond this many are left out (the cheapest per visit kept): SCIP's time and the
model's memory grow with the pool, and a 30 s Solomon search collects 2,000-4,000."""


def separable(c: Compiled) -> bool:
    """Whether a plan's cost is the sum of its routes' costs plus drop penalties, a route's
    cost being its arcs plus its jobs' technician costs (preferred technician, secondary
    territory).

    Span costs (cost per working hour), soft windows, SLA lateness and workload balance
    depend on the schedule or on other routes, so a route's cost is not known from its
    visits alone.
    """
    return (
        not any(c.span_coef)
        and not any(k for d, k in zip(c.late_due, c.late_coef, strict=True) if d is not None)
        and not (c.sla_coef and any(d is not None for d in c.sla_due))
        and not c.balance_coef
    )


def vehicle_classes(c: Compiled) -> list[int]:
    """Vehicles that can drive each other's routes at the same cost share a class."""
    seen: dict[tuple, int] = {}
    out = []
    for v in range(c.n_vehicles):
        key = (
            int(c.place[c.start(v)]),
            int(c.place[c.end(v)]),
            c.shift[v],
            c.breaks[v],
            c.max_work[v],
            c.max_jobs[v],
            c.capacity[v],
            c.arc_class[v],
            c.eligible[:, v].tobytes(),
            c.affinity[:, v].tobytes(),
        )
        out.append(seen.setdefault(key, len(seen)))
    return out


def recombine(
    c: Compiled,
    active: Sequence[int],
    pool: Pool,
    incumbent: Sequence[Sequence[int]],
    time_limit: float,
) -> tuple[list[list[int]], int] | None:
    """The cheapest plan made of routes from ``pool``, or None if none beats ``incumbent``.

    Parameters
    ----------
    c
        The compiled problem; must be :func:`separable`.
    active
        The job nodes the searches planned (pre-checks removed the others).
    pool
        Routes the searches saw, each with the vehicle that drove it.
    incumbent
        The best plan found, job nodes per vehicle (its routes are added to the pool).
    time_limit
        Seconds for the whole step (SCIP gets what model building leaves).

    Returns
    -------
    tuple or None
        Job nodes per vehicle and the plan's cost in model units, when strictly cheaper
        than the incumbent.
    """
    t0 = time.monotonic()
    klass = vehicle_classes(c)
    driven = [(v, tuple(r)) for v, r in enumerate(incumbent) if r]
    incumbent_cols = [(klass[v], r) for v, r in driven]
    columns: dict[tuple[int, tuple[int, ...]], int] = {}
    for v, route in [*pool, *driven]:
        key = (klass[v], route)
        if key not in columns:
            arc = c.arc_costs[c.arc_class[v]]
            path = np.asarray([c.start(v), *route, c.end(v)], dtype=np.intp)
            jobs = np.asarray(route, dtype=np.intp)
            columns[key] = int(arc[path[:-1], path[1:]].sum() + c.affinity[jobs, v].sum())
    if len(columns) > MAX_COLUMNS:
        keep = sorted(columns, key=lambda k: columns[k] / len(k[1]))[:MAX_COLUMNS]
        columns = {k: columns[k] for k in {*keep, *incumbent_cols}}
    active_set = set(active)
    penalty = {j: int(c.penalty[j]) for j in active}

    def plan_cost(routes: Sequence[tuple[int, tuple[int, ...]]]) -> int:
        served = {j for _, r in routes for j in r}
        return sum(columns[k] for k in routes) + sum(
            p for j, p in penalty.items() if j not in served
        )

    incumbent_cost = plan_cost(incumbent_cols)

    # A MIP solver, not CP-SAT: set partitioning lives on its LP relaxation, which SCIP's
    # branch-and-bound uses and which closes most pools to optimality in under a second
    # (CP-SAT, two workers, 3 s: no better plan, a bound 20 % below).
    mip = pywraplp.Solver.CreateSolver("SCIP")
    if mip is None:  # an OR-Tools build without SCIP
        return None
    keys = [k for k in columns if active_set.issuperset(k[1])]
    x = [mip.BoolVar("") for _ in keys]
    covering: dict[int, list] = {j: [] for j in active}
    per_class: dict[int, list] = {}
    for var, (k, route) in zip(x, keys, strict=True):
        for j in route:
            covering[j].append(var)
        per_class.setdefault(k, []).append(var)
    capacity = np.bincount(klass, minlength=max(klass) + 1)
    for k, vars_ in per_class.items():
        if len(vars_) > capacity[k]:
            mip.Add(mip.Sum(vars_) <= int(capacity[k]))
    objective = mip.Objective()
    for var, key in zip(x, keys, strict=True):
        objective.SetCoefficient(var, float(columns[key]))
    # Drop penalties can be far larger than every route together (urgent jobs); any value
    # above that keeps the same order between plans, and keeps the LP well scaled.
    cap = float(sum(columns[k] for k in keys) + 1)
    hint_vars, hint_values = [], []
    served = {j for _, r in incumbent_cols for j in r}
    for j, vars_ in covering.items():
        if not vars_:
            continue  # no known route serves j: it stays dropped whatever the choice
        dropped = mip.BoolVar("")
        mip.Add(mip.Sum([*vars_, dropped]) == 1)
        objective.SetCoefficient(dropped, min(float(penalty[j]), cap))
        hint_vars.append(dropped)
        hint_values.append(0.0 if j in served else 1.0)
    objective.SetMinimization()
    chosen = set(incumbent_cols)
    hint_vars += x
    hint_values += [1.0 if key in chosen else 0.0 for key in keys]
    mip.SetHint(hint_vars, hint_values)
    mip.SetTimeLimit(max(50, int(1000 * (time_limit - (time.monotonic() - t0)))))
    status = mip.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return None
    picked = [key for var, key in zip(x, keys, strict=True) if var.solution_value() > 0.5]
    cost = plan_cost(picked)
    if cost >= incumbent_cost:
        return None
    routes: list[list[int]] = [[] for _ in range(c.n_vehicles)]
    free: dict[int, list[int]] = {}
    for v, k in enumerate(klass):
        free.setdefault(k, []).append(v)
    for k, route in picked:
        routes[free[k].pop(0)] = list(route)
    return routes, cost
