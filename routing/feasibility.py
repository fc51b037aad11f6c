"""Who could serve a job on an otherwise empty day, without solving anything.

A plan cut into parts (dispatch plans a day territory by territory) judges each job only
against the technicians of its part; an engineer elsewhere, for whom the job's territory is
secondary, may still be able to do it. Asking this of a problem made of the leftover jobs
and those engineers turns "nobody here has the skill" into the true statement about the
whole day. It runs the same pre-checks as :func:`routing.solve`, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from routing.compiled import compile_problem, resolve_matrices
from routing.domain import Problem
from routing.matrix import HaversineMatrix, Matrices, TravelMatrix
from routing.reasons import precheck
from routing.solution import Unassigned

__all__ = ["Feasibility", "feasibility"]


@dataclass(frozen=True, slots=True)
class Feasibility:
    """Per job: the technicians who could serve it alone, or why nobody can."""

    able: Mapping[str, tuple[str, ...]]
    """Job id → ids of the technicians who could do it on an otherwise empty day."""
    unservable: Mapping[str, Unassigned]
    """Job id → the reason no technician of the problem could do it (pre-check reasons)."""


def feasibility(problem: Problem, matrix: TravelMatrix | Matrices | None = None) -> Feasibility:
    """Judge every job of ``problem`` alone against every technician (skills, territory,
    shift and window, travel, working time, pins), as the solver's pre-checks do."""
    mats = resolve_matrices(problem, matrix if matrix is not None else HaversineMatrix())
    c = compile_problem(problem, mats)
    pre = precheck(c)
    techs = problem.technicians
    able = {}
    for node in pre.active:
        who = pre.able(c, node)
        able[problem.jobs[node].id] = tuple(techs[v].id for v in who)
    unservable = {problem.jobs[n].id: u for n, u in pre.unassigned.items()}
    return Feasibility(able=able, unservable=unservable)
