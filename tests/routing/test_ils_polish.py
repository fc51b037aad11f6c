"""The descent that ends an iterated local search: it only ever improves, and says so."""

from __future__ import annotations

import time

from routing import Job, Problem, Technician, TimeWindow
from routing.compiled import compile_problem, resolve_matrices
from routing.ortools_model import RawResult, SearchConfig, _polish_seconds, _polished, run_search
from routing.reasons import precheck
from routing.solution import Status
from tests.routing.helpers import HOUR, MIN, LineWorld


def _compiled(n: int = 16):
    w = LineWorld()
    techs = tuple(
        Technician(id=t, start=w.at(x), shift=TimeWindow(8 * HOUR, 18 * HOUR))
        for t, x in (("a", 0), ("b", 60))
    )
    jobs = tuple(Job(id=f"j{k}", location=w.at((k * 37) % 60), duration=15 * MIN) for k in range(n))
    p = Problem(techs, jobs)
    c = compile_problem(p, resolve_matrices(p, w.matrix()))
    return c, precheck(c).active


def test_polish_improves_a_poor_ils_result_and_keeps_its_history() -> None:
    """Handed a zig-zag plan, the descent returns a cheaper one whose history continues the
    ILS history (later, lower) and whose name is still the ILS search's."""
    c, active = _compiled()
    zigzag = [list(active[0::2]), list(active[1::2])]
    config = SearchConfig(metaheuristic="iterated_local_search", solution_limit=50, name="0:ils")
    start = run_search(
        c, active, SearchConfig(initial_routes=tuple(map(tuple, zigzag)), solution_limit=1)
    )
    assert start.objective is not None
    found = RawResult(
        routes=start.routes,
        objective=start.objective,
        status=Status.FEASIBLE,
        solutions=7,
        elapsed=0.1,
        history=[(0.05, start.objective + 10), (0.1, start.objective)],
        name="0:ils",
    )
    t0 = time.monotonic() - found.elapsed  # the ILS began 0.1 s ago
    better = _polished(c, active, config, found, None, t0 + 10, t0)
    assert better.objective is not None and better.objective < found.objective
    assert better.name == "0:ils" and not better.warm_start_used
    assert better.solutions > 7
    values = [v for _, v in better.history]
    times = [t for t, _ in better.history]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    assert times == sorted(times) and values[-1] == better.objective


def test_polish_keeps_the_ils_result_when_it_cannot_improve() -> None:
    """A plan that is already a local optimum comes back unchanged (routes, history)."""
    c, active = _compiled()
    best = run_search(c, active, SearchConfig(solution_limit=200))
    assert best.objective is not None
    found = _with_history(best)
    t0 = time.monotonic()
    out = _polished(
        c, active, SearchConfig(metaheuristic="iterated_local_search"), found, None, t0 + 2, t0
    )
    assert out.objective == best.objective and out.routes == best.routes
    assert out.history == found.history


def _with_history(r: RawResult) -> RawResult:
    return RawResult(
        r.routes, r.objective, r.status, r.solutions, r.elapsed, [(0.0, r.objective or 0)], "x"
    )


def test_ils_with_a_solution_limit_is_repeatable() -> None:
    """The polish phase keeps ILS deterministic under a solution limit."""
    c, active = _compiled()
    config = SearchConfig(metaheuristic="iterated_local_search", solution_limit=60, time_limit=30)
    r1, r2 = run_search(c, active, config), run_search(c, active, config)
    assert r1.routes == r2.routes and r1.objective == r2.objective


def test_polish_time_is_a_small_share_of_the_budget() -> None:
    """Half a second plus 5 ms a job, never more than 5 % of the budget."""
    assert _polish_seconds(100, 30) == 1.0
    assert _polish_seconds(100, 4) == 0.2
    assert _polish_seconds(1000, 600) == 5.5
