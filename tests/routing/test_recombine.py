"""Recombination: the cheapest plan made of known routes, never worse, within the fleet."""

from __future__ import annotations

import time
from dataclasses import replace

from routing import Job, Priority, Problem, SolveParams, Technician, TimeWindow, Weights, solve
from routing.compiled import compile_problem, resolve_matrices
from routing.ortools_model import RawResult, SearchConfig, run_search
from routing.reasons import precheck
from routing.recombine import recombine, separable
from routing.schedule import evaluate_nodes
from routing.solution import Status
from routing.solver import _recombined
from tests.routing.checker import check_route, check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld

DAY = TimeWindow(8 * HOUR, 18 * HOUR)


def _line(techs: tuple[Technician, ...], w: LineWorld, extra: tuple[Job, ...] = (), **kw):
    """Jobs A, B west of the depot, C, D east: the best plan is one route each way."""
    jobs = tuple(
        Job(id=name, location=w.at(x), duration=10 * MIN)
        for name, x in (("A", -10), ("B", -20), ("C", 10), ("D", 20))
    )
    p = Problem(techs, jobs + extra, Weights(**kw))
    c = compile_problem(p, resolve_matrices(p, w.matrix()))
    return p, c, precheck(c).active


def _two(w: LineWorld, second_shift: TimeWindow = DAY) -> tuple[Technician, ...]:
    return (
        Technician(id="a", start=w.at(0), shift=DAY),
        Technician(id="b", start=w.at(0), shift=second_shift),
    )


def test_joins_the_good_routes_of_different_solutions() -> None:
    """Both good routes were seen on technician a; a's twin b can drive one of them."""
    w = LineWorld()
    _, c, active = _line(_two(w), w)
    a, b, cc, d = range(4)
    incumbent = [[a, cc], [b, d]]  # zig-zag across the depot twice
    pool = [(0, (a, b)), (0, (cc, d)), (1, (b, d))]
    out = recombine(c, active, pool, incumbent, time_limit=5)
    assert out is not None
    routes, cost = out
    assert sorted(tuple(r) for r in routes if r) == [(a, b), (cc, d)]
    zigzag = recombine(c, active, [], incumbent, time_limit=5)
    assert zigzag is None  # nothing better than the incumbent in its own routes
    # cost is in model units: the plan's arcs, recomputed here from the matrix
    arc = c.arc_costs[0]
    expected = sum(
        int(arc[[c.start(v), *r], [*r, c.end(v)]].sum()) for v, r in enumerate(routes) if r
    )
    assert cost == expected


def test_never_gives_a_route_to_a_technician_who_could_not_drive_it() -> None:
    """b works the morning only: a's routes are not b's, so the good pair is out of reach
    until b itself has been seen driving one half."""
    w = LineWorld()
    _, c, active = _line(_two(w, TimeWindow(8 * HOUR, 12 * HOUR)), w)
    a, b, cc, d = range(4)
    incumbent = [[a, cc], [b, d]]
    pool = [(0, (a, b)), (0, (cc, d))]
    assert recombine(c, active, pool, incumbent, time_limit=5) is None
    out = recombine(c, active, [*pool, (1, (cc, d))], incumbent, time_limit=5)
    assert out is not None
    assert out[0] == [[a, b], [cc, d]]


def test_drops_a_job_whose_detour_costs_more_than_leaving_it() -> None:
    """E is far and worth little: the plan without it is cheaper, E's penalty included."""
    w = LineWorld()
    far = Job(id="E", location=w.at(200), duration=10 * MIN, priority=Priority.LOW)
    _, c, active = _line(_two(w), w, (far,), drop_low=1.0, drop_normal=9e3, drop_high=1e4)
    a, b, cc, d, e = range(5)
    incumbent = [[a, b], [cc, d, e]]
    out = recombine(c, active, [(1, (cc, d))], incumbent, time_limit=5)
    assert out is not None
    routes, _ = out
    assert all(e not in r for r in routes)
    assert sorted(tuple(r) for r in routes if r) == [(a, b), (cc, d)]


def test_only_where_a_plan_costs_the_sum_of_its_routes() -> None:
    w = LineWorld()
    assert separable(_line(_two(w), w)[1])
    paid = tuple(replace(t, cost_per_hour=20.0) for t in _two(w))
    assert not separable(_line(paid, w)[1])  # a working hour depends on waiting
    assert not separable(_line(_two(w), w, balance_hour=5.0)[1])
    wish = TimeWindow(8 * HOUR, 9 * HOUR)
    free_wish = Job(id="E", location=w.at(5), duration=MIN, preferred_window=wish)
    assert separable(_line(_two(w), w, (free_wish,))[1])  # no lateness penalty: no cost
    late = replace(free_wish, lateness_penalty=50.0)
    assert not separable(_line(_two(w), w, (late,))[1])
    sla = Job(id="E", location=w.at(5), duration=MIN, sla_due=9 * HOUR)
    assert not separable(_line(_two(w), w, (sla,))[1])


def _windows_problem(n: int = 30) -> tuple[Problem, LineWorld]:
    w = LineWorld()
    techs = tuple(Technician(id=f"t{k}", start=w.at(0), shift=DAY) for k in range(3))
    jobs = tuple(
        Job(
            id=f"j{k}",
            location=w.at((k * 37) % 80 - 40),
            duration=15 * MIN,
            windows=(TimeWindow((8 + (k % 8)) * HOUR, (10 + (k % 8)) * HOUR),),
        )
        for k in range(n)
    )
    return Problem(techs, jobs), w


def test_every_collected_route_is_feasible_on_its_own() -> None:
    p, w = _windows_problem()
    c = compile_problem(p, resolve_matrices(p, w.matrix()))
    active = precheck(c).active
    config = SearchConfig(
        metaheuristic="iterated_local_search", solution_limit=150, collect_routes=True
    )
    found = run_search(c, active, config)
    assert len(found.pool) > len([r for r in found.routes if r])
    mats = w.matrices_for(p)
    for v, route in found.pool:
        assert check_route(p, mats, evaluate_nodes(c, v, list(route))) == []


def test_a_solve_with_recombination_is_never_worse() -> None:
    """Same searches (solution limit), same pool: choosing among its routes can only help."""
    p, w = _windows_problem()
    base = SolveParams(
        time_limit=60, solution_limit=150, metaheuristic="iterated_local_search", seed=3
    )
    with_pool = solve(p, w.matrix(), base)
    without = solve(p, w.matrix(), replace(base, recombine=False))
    assert with_pool.objective <= without.objective + 1e-9
    assert check_solution(p, w.matrices_for(p), with_pool) == []
    assert not with_pool.unassigned
    for search in with_pool.details["searches"]:  # each history reads in time order
        times = [t for t, _ in search["history"]]
        values = [v for _, v in search["history"]]
        assert times == sorted(times) and values == sorted(values, reverse=True)


def test_a_recombined_plan_keeps_its_history_in_time_order() -> None:
    """The choice among routes, then the descent from it: one history, one clock."""
    w = LineWorld()
    _, c, active = _line(_two(w), w)
    a, b, cc, d = range(4)
    zigzag = RawResult(
        routes=[[a, cc], [b, d]],
        objective=None,
        status=Status.FEASIBLE,
        solutions=1,
        elapsed=0.1,
        pool=[(0, (a, b)), (1, (cc, d))],
    )
    zigzag.objective = run_search(
        c, active, SearchConfig(initial_routes=((a, cc), (b, d)), solution_limit=1)
    ).objective
    out = _recombined(
        c, active, [zigzag], SearchConfig(solution_limit=20), time.monotonic() + 5, 1.0, None
    )
    assert out is not None and out.name == "recombined"
    assert zigzag.objective is not None and out.objective is not None
    assert out.objective < zigzag.objective
    times = [t for t, _ in out.history]
    assert times == sorted(times) and out.history[-1][1] == out.objective
    assert zigzag.pool == []  # handed over, not kept in the solution's details
