"""Solver models are freed after each solve (long-running processes must not grow)."""

from __future__ import annotations

import gc

from routing import Job, Problem, SolveParams, Technician, TimeWindow, solve
from tests.routing.helpers import HOUR, MIN, LineWorld


def _live_models() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == "RoutingModel")


def test_no_routing_model_survives_its_solve() -> None:
    """After three in-process solves no OR-Tools RoutingModel is alive. A solution callback
    that referenced the model made a cycle through C++ that Python never collected: each
    model and its search memory stayed (≈ +350 MB per 30 s solve in the API's workers)."""
    world = LineWorld()
    techs = tuple(
        Technician(id=f"t{i}", start=world.at(0), shift=TimeWindow(8 * HOUR, 18 * HOUR))
        for i in range(2)
    )
    jobs = tuple(Job(id=f"j{k}", location=world.at(k + 1), duration=10 * MIN) for k in range(25))
    problem = Problem(techs, jobs)
    before = _live_models()
    for _ in range(3):
        solution = solve(problem, world.matrix(), SolveParams(time_limit=5, solution_limit=20))
        assert not solution.unassigned
    assert _live_models() == before
