"""The route-count probe: one search of a round tries the plans with one route fewer."""

from __future__ import annotations

from routing.compiled import compile_problem, resolve_matrices
from routing.ortools_model import RawResult, SearchConfig, run_search
from routing.reasons import precheck
from routing.route_count import Probe, RouteCountProbe
from routing.solution import Status
from tests.routing.test_recombine import _windows_problem


def _raw(routes: list[list[int]], objective: int | None) -> RawResult:
    return RawResult(
        routes=routes, objective=objective, status=Status.FEASIBLE, solutions=1, elapsed=0.1
    )


PLAN = ((1, 2, 3), (4,), (5, 6), ())  # three routes, the second the smallest


def test_the_first_meetings_remove_the_smallest_route() -> None:
    probe = RouteCountProbe()
    out = probe.next(PLAN, 1000, meeting=0)
    assert out == Probe(((1, 2, 3), (), (5, 6), ()), max_vehicles=2, eliminating=True)
    # the same number of routes is not tried twice, nor after the first meetings
    assert probe.next(PLAN, 1000, meeting=1) is None
    assert RouteCountProbe().next(PLAN, 1000, meeting=2) is None
    assert RouteCountProbe().next(((1, 2), ()), 10, meeting=0) is None  # one route left


def test_a_plan_with_fewer_routes_is_improved_while_close_to_the_best() -> None:
    probe = RouteCountProbe(tolerance=0.01)
    probe.record([_raw([[1, 2, 3, 4], [5, 6], []], 1005), _raw([list(r) for r in PLAN], 1000)])
    assert probe.best.keys() == {2, 3}
    out = probe.next(PLAN, 1000, meeting=3)
    assert out == Probe(((1, 2, 3, 4), (5, 6), ()), max_vehicles=2, eliminating=False)
    # more than 1 % above the plan everyone else starts from: no longer worth a search
    assert probe.next(PLAN, 990, meeting=3) is None


def test_only_plans_serving_every_job_count() -> None:
    """A probe that could not put back all the removed route's jobs is a worse plan, not
    a plan with fewer routes; a plan serving more jobs than any before resets the record."""
    probe = RouteCountProbe()
    probe.record([_raw([[1, 2, 3], [5, 6]], 999), _raw([[1, 2, 3], [4], [5, 6]], 1000)])
    probe.record([_raw([[1, 2, 3], [5, 6]], None)])
    assert probe.served == 6 and probe.best.keys() == {3}
    probe.record([_raw([[1, 2, 3], [4, 7], [5, 6]], 1200)])
    assert probe.served == 7 and probe.best == {3: (1200, ((1, 2, 3), (4, 7), (5, 6)))}


def test_a_search_limited_in_vehicles_puts_the_removed_route_back_elsewhere() -> None:
    """The real search: from a plan with its smallest route removed and one vehicle
    fewer, every job is served again, on fewer routes."""
    p, w = _windows_problem()
    c = compile_problem(p, resolve_matrices(p, w.matrix()))
    active = precheck(c).active
    ils = SearchConfig(metaheuristic="iterated_local_search", solution_limit=200)
    found = run_search(c, active, ils)
    n = sum(1 for r in found.routes if r)
    assert n == 3 and sum(len(r) for r in found.routes) == len(active)
    probe = RouteCountProbe().next(found.routes, found.objective or 0, meeting=0)
    assert probe is not None and probe.max_vehicles == 2
    limited = SearchConfig(
        metaheuristic="iterated_local_search",
        solution_limit=200,
        initial_routes=probe.routes,
        max_vehicles=probe.max_vehicles,
    )
    out = run_search(c, active, limited)
    assert out.warm_start_used
    assert sum(1 for r in out.routes if r) <= 2
    assert sorted(j for r in out.routes for j in r) == sorted(active)
