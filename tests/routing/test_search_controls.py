"""Search controls: solution limit, strategies, warm start, progress, portfolio, pickling."""

from __future__ import annotations

import pickle

import pytest

from routing import (
    FIRST_SOLUTIONS,
    Break,
    Job,
    Location,
    Priority,
    Problem,
    Progress,
    SolveParams,
    Technician,
    TimeWindow,
    solve,
)
from routing.ortools_model import _SCHEDULING, SearchConfig, _search_parameters
from tests.routing.checker import check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld, scheduled_cost

GLOP = _SCHEDULING.SCHEDULING_GLOP
CP_SAT = _SCHEDULING.SCHEDULING_CP_SAT


def _grid_problem(w: LineWorld, n: int = 12) -> Problem:
    techs = (
        Technician(id="a", start=w.at(0), shift=TimeWindow(8 * HOUR, 18 * HOUR)),
        Technician(id="b", start=w.at(50), shift=TimeWindow(8 * HOUR, 18 * HOUR)),
    )
    jobs = tuple(Job(id=f"j{k}", location=w.at((k * 37) % 50), duration=20 * MIN) for k in range(n))
    return Problem(techs, jobs)


def test_solution_limit_makes_solves_repeatable() -> None:
    """Two solves with the same solution limit return the same routes and objective."""
    w = LineWorld()
    p = _grid_problem(w)
    params = SolveParams(time_limit=30, solution_limit=40)
    s1, s2 = solve(p, w.matrix(), params), solve(p, w.matrix(), params)
    assert [r.job_ids for r in s1.routes] == [r.job_ids for r in s2.routes]
    assert s1.objective == s2.objective


@pytest.mark.parametrize(
    "first", ["path_cheapest_arc", "parallel_cheapest_insertion", "savings", "christofides"]
)
@pytest.mark.parametrize("meta", ["guided_local_search", "iterated_local_search", "tabu_search"])
def test_strategies_are_selectable(first: str, meta: str) -> None:
    """Every pairing of construction and improvement yields a checked, complete solution."""
    assert first in FIRST_SOLUTIONS
    w = LineWorld()
    p = _grid_problem(w, 8)
    s = solve(
        p,
        w.matrix(),
        SolveParams(time_limit=30, solution_limit=15, first_solution=first, metaheuristic=meta),
    )
    assert check_solution(p, w.matrices_for(p), s) == []
    assert s.assigned == 8


def test_progress_reports_improving_objectives() -> None:
    """The callback sees strictly decreasing objectives, the last equal to the result's."""
    w = LineWorld()
    p = _grid_problem(w)
    seen: list[Progress] = []
    s = solve(p, w.matrix(), SolveParams(time_limit=30, solution_limit=60, progress=seen.append))
    assert seen
    values = [x.objective for x in seen]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    assert values[-1] == pytest.approx(s.objective)


@pytest.mark.parametrize("meta", ["guided_local_search", "iterated_local_search"])
def test_warm_start_is_used_and_not_worse(meta: str) -> None:
    """Starting from a previous plan: the search reports it used it and never ends worse
    (for iterated local search, see also tests/routing/test_ils_warm_start.py)."""
    w = LineWorld()
    p = _grid_problem(w)
    first = solve(p, w.matrix(), SolveParams(time_limit=30, solution_limit=60))
    routes = {r.technician_id: list(r.job_ids) for r in first.routes}
    warm = solve(
        p,
        w.matrix(),
        SolveParams(time_limit=30, solution_limit=5, initial_routes=routes, metaheuristic=meta),
    )
    assert warm.details["searches"][0]["warm_start_used"]  # type: ignore[index]
    assert warm.objective <= first.objective + 1e-9
    assert check_solution(p, w.matrices_for(p), warm) == []


def test_warm_start_with_stale_ids_is_tolerated() -> None:
    """Unknown job and technician ids in yesterday's plan are ignored, not fatal."""
    w = LineWorld()
    p = _grid_problem(w, 4)
    params = SolveParams(
        time_limit=30, solution_limit=10, initial_routes={"a": ["j0", "gone"], "ghost": ["j1"]}
    )
    s = solve(p, w.matrix(), params)
    assert s.assigned == 4


def test_portfolio_of_two_processes() -> None:
    """workers=2 runs two different configurations in two processes and keeps the best."""
    w = LineWorld()
    p = _grid_problem(w)
    s = solve(p, w.matrix(), SolveParams(time_limit=60, solution_limit=30, workers=2))
    searches = s.details["searches"]
    assert len(searches) == 2  # type: ignore[arg-type]
    assert s.objective == min(x["objective"] for x in searches)  # type: ignore[union-attr]
    assert check_solution(p, w.matrices_for(p), s) == []


def test_solution_pickles() -> None:
    """A Solution returned by a worker process pickles and compares equal."""
    w = LineWorld()
    p = _grid_problem(w, 5)
    s = solve(p, w.matrix(), SolveParams(time_limit=30, solution_limit=10))
    assert pickle.loads(pickle.dumps(s)) == s


def test_default_matrix_is_haversine() -> None:
    """Without a matrix argument, real coordinates are routed with the haversine default."""
    t = Technician(id="t", start=Location(lat=31.23, lon=121.47), shift=TimeWindow(0, 10 * HOUR))
    j = Job(id="j", location=Location(lat=31.25, lon=121.50), duration=600)
    s = solve(Problem((t,), (j,)), params=SolveParams(time_limit=30, solution_limit=5))
    assert s.routes[0].distance_m > 2 * 3000  # a few km each way, times the circuity


def test_decomposed_solve_is_feasible_and_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forcing decomposition on 60 jobs in pieces of 20 (three clusters, then route
    neighbourhoods) still gives routes the independent checker accepts, all jobs served."""
    monkeypatch.setattr("routing.decompose.PIECE", 20)
    w = LineWorld()
    techs = tuple(
        Technician(id=f"t{k}", start=w.at(k * 25), shift=TimeWindow(8 * HOUR, 18 * HOUR))
        for k in range(5)
    )
    jobs = tuple(
        Job(
            id=f"j{k}",
            location=w.at((k * 37) % 100),
            duration=15 * MIN,
            windows=(TimeWindow(9 * HOUR, 12 * HOUR),) if k % 4 == 0 else (),
        )
        for k in range(60)
    )
    p = Problem(techs, jobs)
    s = solve(p, w.matrix(), SolveParams(time_limit=60, solution_limit=20, decompose=True))
    assert check_solution(p, w.matrices_for(p), s) == []
    assert s.details["best"].startswith("decomposed")  # type: ignore[union-attr]
    assert s.assigned == 60


def test_iterated_local_search_with_span_costs() -> None:
    """ILS with a cost per working hour (span cost) reports progress without reading an
    unbound cost variable (which aborts OR-Tools) and returns a checked solution."""
    w = LineWorld()
    techs = tuple(
        Technician(
            id=f"t{k}", start=w.at(k * 30), shift=TimeWindow(8 * HOUR, 18 * HOUR), cost_per_hour=30
        )
        for k in range(2)
    )
    jobs = tuple(
        Job(
            id=f"j{k}",
            location=w.at((k * 37) % 60),
            duration=20 * MIN,
            windows=(TimeWindow((9 + k % 5) * HOUR, (11 + k % 5) * HOUR),),
        )
        for k in range(14)
    )
    p = Problem(techs, jobs)
    seen: list[Progress] = []
    s = solve(
        p,
        w.matrix(),
        SolveParams(
            time_limit=30,
            solution_limit=200,
            metaheuristic="iterated_local_search",
            progress=seen.append,
        ),
    )
    assert check_solution(p, w.matrices_for(p), s) == []
    assert seen and s.assigned == 14


@pytest.mark.parametrize(
    ("meta", "improved_by"),
    [("iterated_local_search", "iterated_local_search"), ("guided_local_search",) * 2],
)
def test_decomposed_pieces_improve_with_the_solves_metaheuristic(
    monkeypatch: pytest.MonkeyPatch, meta: str, improved_by: str
) -> None:
    """After the build (greedy descent), pieces start from their current routes: with
    iterated local search, as a cool ILS from those routes; otherwise guided local search."""
    import routing.decompose as decompose
    from routing.ortools_model import WARM_HEAT

    monkeypatch.setattr(decompose, "PIECE", 20)
    seen: list[SearchConfig] = []
    real = decompose.run_search

    def spy(c, active, config, progress=None, deadline=None):
        seen.append(config)
        return real(c, active, config, progress, deadline)

    monkeypatch.setattr(decompose, "run_search", spy)
    w = LineWorld()
    techs = tuple(
        Technician(id=f"t{k}", start=w.at(k * 25), shift=TimeWindow(8 * HOUR, 18 * HOUR))
        for k in range(5)
    )
    jobs = tuple(
        Job(id=f"j{k}", location=w.at((k * 37) % 100), duration=15 * MIN) for k in range(60)
    )
    p = Problem(techs, jobs)
    params = SolveParams(time_limit=60, solution_limit=20, decompose=True, metaheuristic=meta)
    s = solve(p, w.matrix(), params)
    assert check_solution(p, w.matrices_for(p), s) == [] and s.assigned == 60
    improving = [cfg for cfg in seen if cfg.initial_routes is not None]
    assert improving
    assert {cfg.metaheuristic for cfg in improving} == {improved_by}
    if improved_by == "iterated_local_search":
        assert {cfg.heat for cfg in improving} == {WARM_HEAT}


def test_routes_with_breaks_are_costed_by_the_relaxation_unless_told() -> None:
    exact = SearchConfig(exact_scheduling=True)
    assert _search_parameters(SearchConfig(), 1.0).mixed_integer_scheduling_solver == GLOP
    assert _search_parameters(exact, 1.0).mixed_integer_scheduling_solver == CP_SAT


@pytest.mark.parametrize("meta", ["iterated_local_search", "guided_local_search"])
def test_lunch_breaks_split_windows_and_sla_keep_their_costs(meta: str) -> None:
    """The case the relaxation serves (breaks, windows with a hole, SLA due times, a cost
    per hour): every route passes the checker, and the objective is what the returned
    schedules cost plus the penalties of the jobs left out."""
    w = LineWorld()
    lunch = Break(12 * HOUR, 13 * HOUR, 45 * MIN)
    techs = tuple(
        Technician(
            id=f"t{k}",
            start=w.at(k * 20),
            shift=TimeWindow(8 * HOUR, 17 * HOUR),
            breaks=(lunch,),
            cost_per_hour=20.0 * (k % 2),
        )
        for k in range(3)
    )
    jobs = []
    for k in range(30):
        windows: tuple[TimeWindow, ...] = ()
        if k % 3 == 0:  # morning or afternoon, not lunch time
            windows = (TimeWindow(9 * HOUR, 11 * HOUR), TimeWindow(14 * HOUR, 16 * HOUR))
        jobs.append(
            Job(
                id=f"j{k}",
                location=w.at((k * 37) % 60),
                duration=(20 + 5 * (k % 4)) * MIN,
                windows=windows,
                sla_due=(10 + k % 6) * HOUR if k % 2 else None,
                priority=(Priority.URGENT, Priority.NORMAL, Priority.LOW)[k % 3],
            )
        )
    p = Problem(techs, tuple(jobs))
    params = SolveParams(time_limit=30, solution_limit=300, metaheuristic=meta)
    s = solve(p, w.matrix(), params)
    assert check_solution(p, w.matrices_for(p), s) == []
    assert any(r.breaks for r in s.routes) and s.assigned >= 20
    assert s.objective == pytest.approx(scheduled_cost(p, w.matrix(), s))
