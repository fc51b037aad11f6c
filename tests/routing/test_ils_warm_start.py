"""Iterated local search from a warm start: OR-Tools' ILS only starts from its own first
solution, so the construction is steered to rebuild the given plan, arc for arc."""

from __future__ import annotations

from routing import Job, Problem, Technician, TimeWindow
from routing.compiled import compile_problem, resolve_matrices
from routing.ortools_model import SearchConfig, run_search
from routing.reasons import precheck
from tests.routing.helpers import HOUR, MIN, LineWorld


def _compiled(n: int = 12, shift_end: int = 18 * HOUR):
    w = LineWorld()
    techs = tuple(
        Technician(id=t, start=w.at(x), shift=TimeWindow(8 * HOUR, shift_end))
        for t, x in (("a", 0), ("b", 60))
    )
    jobs = tuple(Job(id=f"j{k}", location=w.at((k * 37) % 60), duration=15 * MIN) for k in range(n))
    p = Problem(techs, jobs)
    c = compile_problem(p, resolve_matrices(p, w.matrix()))
    return c, list(precheck(c).active)


def _ils(**kw) -> SearchConfig:
    return SearchConfig(metaheuristic="iterated_local_search", **kw)


def test_first_solution_is_the_warm_plan() -> None:
    """With one solution allowed, the search hands back exactly the plan it was given: a
    deliberately poor zig-zag that no construction heuristic would build."""
    c, active = _compiled()
    zigzag = (tuple(active[0::2]), tuple(active[1::2]))
    for seed in (0, 3):  # a seed shuffles the model's indices; the plan must survive it
        out = run_search(c, active, _ils(initial_routes=zigzag, solution_limit=1, seed=seed))
        assert out.warm_start_used
        assert tuple(map(tuple, out.routes)) == zigzag


def test_a_job_left_out_of_the_plan_stays_out_of_the_first_solution() -> None:
    c, active = _compiled()
    plan = (tuple(active[:5]), tuple(active[5:-1]))
    out = run_search(c, active, _ils(initial_routes=plan, solution_limit=1))
    assert tuple(map(tuple, out.routes)) == plan


def test_search_from_the_plan_improves_on_it_and_never_ends_worse() -> None:
    c, active = _compiled()
    zigzag = (tuple(active[0::2]), tuple(active[1::2]))
    start = run_search(c, active, _ils(initial_routes=zigzag, solution_limit=1))
    better = run_search(c, active, _ils(initial_routes=zigzag, solution_limit=200))
    assert start.objective is not None and better.objective is not None
    assert better.objective < start.objective
    assert better.history[0][1] == start.objective  # it started from the plan
    assert [v for _, v in better.history] == sorted((v for _, v in better.history), reverse=True)


def test_an_infeasible_plan_falls_back_to_a_fresh_construction() -> None:
    """Every job on one technician cannot fit a two-hour shift: the plan is rejected, the
    search still runs with the requested construction and says it did not use the plan."""
    c, active = _compiled(shift_end=10 * HOUR)
    plan = (tuple(active), ())
    out = run_search(c, active, _ils(initial_routes=plan, solution_limit=50))
    assert not out.warm_start_used
    assert out.objective is not None
    assert sum(map(len, out.routes)) >= 1


def test_the_warm_search_is_iterated_local_search(monkeypatch) -> None:
    """The plan is not handed to guided local search instead (what OR-Tools would need for
    a warm start from an assignment): the search that runs is ILS, built from the plan."""
    from ortools.constraint_solver import routing_enums_pb2

    import routing.ortools_model as om

    seen = []
    real = om._search_parameters

    def spy(*args, **kwargs):
        params = real(*args, **kwargs)
        seen.append(params)
        return params

    monkeypatch.setattr(om, "_search_parameters", spy)
    c, active = _compiled()
    zigzag = (tuple(active[0::2]), tuple(active[1::2]))
    run_search(c, active, _ils(initial_routes=zigzag, solution_limit=20))
    first = seen[0]  # later ones belong to the closing descent
    assert first.use_iterated_local_search
    assert (
        first.first_solution_strategy == routing_enums_pb2.FirstSolutionStrategy.EVALUATOR_STRATEGY
    )
