"""Technicians who share a start or end place share one model node (OR-Tools copies the
whole transit matrix at every route check, so fewer nodes is a faster search), and routes
stay right when starts and ends cross."""

from __future__ import annotations

from routing import Job, Problem, SolveParams, Technician, TimeWindow, solve
from routing.compiled import compile_problem, resolve_matrices
from routing.ortools_model import _shared_places
from tests.routing.checker import check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld

SHIFT = TimeWindow(8 * HOUR, 18 * HOUR)


def _places(p: Problem, w: LineWorld):
    c = compile_problem(p, resolve_matrices(p, w.matrix()))
    return _shared_places(c, list(range(c.n_jobs)))


def test_a_common_depot_is_one_node() -> None:
    w = LineWorld()
    techs = tuple(Technician(id=f"t{k}", start=w.at(0), shift=SHIFT) for k in range(25))
    jobs = tuple(Job(id=f"j{k}", location=w.at(k + 1), duration=10 * MIN) for k in range(10))
    nodes, starts, ends = _places(Problem(techs, jobs), w)
    assert len(nodes) == 11
    assert set(starts) == set(ends) == {10}


def test_homes_are_one_node_each_and_a_different_end_is_its_own() -> None:
    w = LineWorld()
    techs = (
        Technician(id="a", start=w.at(0), shift=SHIFT),
        Technician(id="b", start=w.at(40), shift=SHIFT),
        Technician(id="c", start=w.at(0), end=w.at(60), shift=SHIFT),
    )
    jobs = (Job(id="j", location=w.at(20), duration=10 * MIN),)
    nodes, starts, ends = _places(Problem(techs, jobs), w)
    assert len(nodes) == 4  # the job, home 0, home 40, the depot at 60
    assert starts[0] == starts[2] == ends[0] and starts[1] == ends[1]
    assert ends[2] not in starts


def test_crossed_starts_and_ends_give_checked_routes() -> None:
    """a goes 0 → 60 and b goes 60 → 0: the two places serve as a start for one and an end
    for the other; travel out and back is counted, and an idle technician costs nothing."""
    w = LineWorld()
    techs = (
        Technician(id="a", start=w.at(0), end=w.at(60), shift=SHIFT),
        Technician(id="b", start=w.at(60), end=w.at(0), shift=SHIFT),
        Technician(id="idle", start=w.at(0), end=w.at(60), shift=TimeWindow(8 * HOUR, 9 * HOUR)),
    )
    jobs = tuple(Job(id=f"j{k}", location=w.at(5 * k + 5), duration=30 * MIN) for k in range(10))
    p = Problem(techs, jobs)
    s = solve(p, w.matrix(), SolveParams(time_limit=10, solution_limit=50))
    assert check_solution(p, w.matrices_for(p), s) == []
    assert s.assigned == 10
    assert s.routes and all(r.distance_m >= 60_000 for r in s.routes)  # 0 → 60 or 60 → 0
    assert "idle" not in {r.technician_id for r in s.routes}
