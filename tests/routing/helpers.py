"""Tiny hand-checkable worlds for routing tests.

``LineWorld`` puts places on a straight road: place ``x`` is ``x`` km from the origin, and one
km takes one minute (60 s). A route's distance and times can then be checked on paper.
"""

from __future__ import annotations

import numpy as np

from routing import ExplicitMatrix, Location, Matrices, Problem, Solution, TravelMatrix
from routing.compiled import COST_SCALE, compile_problem, resolve_matrices
from routing.reasons import precheck

MIN = 60
HOUR = 3600


class LineWorld:
    """Places on a line with an explicit matrix: 1 km = 1000 m = 60 s."""

    def __init__(self) -> None:
        self.xs: list[float] = []

    def at(self, x: float) -> Location:
        """The location ``x`` km along the road (created on first use)."""
        if x not in self.xs:
            self.xs.append(x)
        k = self.xs.index(x)
        return Location(lat=0.0, lon=min(179.0, k * 0.001), index=k)

    def matrix(self) -> ExplicitMatrix:
        """The explicit matrix over every place created so far."""
        xs = np.array(self.xs, dtype=float)
        km = np.abs(xs[:, None] - xs[None, :])
        return ExplicitMatrix(
            np.rint(km * 1000).astype(np.int64), np.rint(km * 60).astype(np.int64)
        )

    def matrices_for(self, problem: Problem) -> Matrices:
        """Matrices over ``problem.locations`` (what the checker needs)."""
        return self.matrix().matrices(problem.locations)


def scheduled_cost(problem: Problem, matrix: TravelMatrix, solution: Solution) -> float:
    """What ``solution``'s returned schedules cost, plus the drop penalties of the jobs it
    left out that passed the pre-checks: the objective the solver should report."""
    c = compile_problem(problem, resolve_matrices(problem, matrix))
    active = {problem.jobs[n].id for n in precheck(c).active}
    penalty = {j.id: c.penalty[n] / COST_SCALE for n, j in enumerate(problem.jobs)}
    left = sum(penalty[u.job_id] for u in solution.unassigned if u.job_id in active)
    return sum(r.cost for r in solution.routes) + left
