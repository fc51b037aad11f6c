"""The portfolio in rounds: the searches meet, recombine their routes, and go on from the
recombined plan. Solution limits keep every round reproducible."""

from __future__ import annotations

from dataclasses import replace

import pytest

import routing.solver as solver_module
from routing import SolveParams, solve
from routing.compiled import COST_SCALE
from routing.ortools_model import WARM_HEAT, RawResult
from routing.solution import Progress, Status
from routing.solver import _chain, _rounds
from tests.routing.checker import check_solution
from tests.routing.test_recombine import _windows_problem

ILS = "iterated_local_search"


def _params(**kw) -> SolveParams:
    base = dict(time_limit=60, solution_limit=80, metaheuristic=ILS, workers=2, seed=1)
    return SolveParams(**{**base, **kw})


def test_each_round_starts_from_the_plan_of_the_last_meeting(monkeypatch) -> None:
    """Round two's searches all start from one plan, cooler, each with a seed of its own;
    the result is feasible and no worse than the best search of any round."""
    calls: list[list] = []
    real = solver_module._run_round

    def spy(pool, c, active, configs, deadline, progress):
        calls.append(list(configs))
        out = real(pool, c, active, configs, deadline, progress)
        calls[-1].append([r.objective for r in out])
        return out

    monkeypatch.setattr(solver_module, "_run_round", spy)
    p, w = _windows_problem()
    s = solve(p, w.matrix(), _params(rounds=3))
    assert len(calls) == 3
    first, *later = calls
    assert all(cfg.initial_routes is None for cfg in first[:-1])
    for round_configs in later:
        configs = round_configs[:-1]
        plans = {cfg.initial_routes for cfg in configs}
        assert len(plans) == 1 and None not in plans
        assert all(cfg.heat == WARM_HEAT for cfg in configs)
        assert len({cfg.seed for cfg in configs}) == len(configs)
    seeds = [cfg.seed for r in calls for cfg in r[:-1]]
    assert len(set(seeds)) == len(seeds)
    best_search = min(v for r in calls for v in r[-1] if v is not None)
    assert s.objective <= best_search / COST_SCALE + 1e-9
    assert check_solution(p, w.matrices_for(p), s) == []
    assert not s.unassigned


def test_rounds_read_as_one_search_per_configuration() -> None:
    """details: one entry per configuration (plus the recombined one), its solutions
    summed over the rounds, its history improving and in time order."""
    p, w = _windows_problem()
    one = solve(p, w.matrix(), _params(rounds=1))
    three = solve(p, w.matrix(), _params(rounds=3))
    names = [x["name"] for x in three.details["searches"]]
    assert names[:2] == [x["name"] for x in one.details["searches"]][:2]
    for search in three.details["searches"][:2]:
        times = [t for t, _ in search["history"]]
        values = [v for _, v in search["history"]]
        assert times == sorted(times)
        assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    first_round = sum(x["solutions"] for x in one.details["searches"][:2])
    assert sum(x["solutions"] for x in three.details["searches"][:2]) > first_round


def test_the_number_of_rounds() -> None:
    def rounds(**kw) -> int:
        params = SolveParams(**{"workers": 2, "metaheuristic": ILS, **kw})
        return _rounds(params, params.workers)

    assert rounds(time_limit=30) == 5
    assert rounds(time_limit=13) == 2
    assert rounds(time_limit=5) == 1
    assert rounds(time_limit=600) == 8
    assert rounds(time_limit=30, workers=1) == 1
    assert rounds(time_limit=30, metaheuristic="guided_local_search") == 1
    # a solution limit asks for one reproducible search per worker, unless told otherwise
    assert rounds(time_limit=30, solution_limit=9) == 1
    assert rounds(time_limit=30, solution_limit=9, rounds=2) == 2


def test_rounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rounds"):
        SolveParams(rounds=0)


def _raw(objective: int | None, history, solutions: int, name: str = "") -> RawResult:
    return RawResult(
        routes=[[1, 2]],
        objective=objective,
        status=Status.FEASIBLE,
        solutions=solutions,
        elapsed=1.0,
        history=history,
        name=name,
    )


def test_chaining_two_rounds() -> None:
    before = _raw(100, [(0.1, 120), (0.9, 100)], 50, "0:pci+ils")
    after = replace(_raw(90, [(0.0, 98), (0.5, 90)], 40, "0:pci+ils"), routes=[[2, 1]])
    out = _chain(before, after, offset=1.0)
    assert out.objective == 90 and out.routes == [[2, 1]]
    assert out.solutions == 90 and out.name == "0:pci+ils"
    assert out.history == [(0.1, 120), (0.9, 100), (1.0, 98), (1.5, 90)]
    # a later round that ended worse (it could not use the plan) does not replace the first
    worse = _chain(before, _raw(130, [(0.0, 130)], 5), offset=1.0)
    assert worse.objective == 100 and worse.solutions == 55 and worse.history == before.history


def test_a_watcher_sees_one_search_improving_across_rounds() -> None:
    """Every round's watched search starts from the plan of the meeting, at an objective
    already reported: the watcher still sees strictly improving values, solutions counted on."""
    seen: list[Progress] = []
    p, w = _windows_problem()
    s = solve(p, w.matrix(), _params(rounds=3, progress=seen.append))
    values = [x.objective for x in seen]
    counts = [x.solutions for x in seen]
    assert len(values) >= 2
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    assert counts == sorted(counts)
    assert s.objective <= values[-1] + 1e-9


_REAL_RUN_SEARCH = solver_module.run_search
_DESCENTS: list = []


def _spy_run_search(c, active, config, progress=None, deadline=None):
    """Module level: the pool pickles the search function by name."""
    if config.name == "descended":
        _DESCENTS.append(config)
    return _REAL_RUN_SEARCH(c, active, config, progress, deadline)


def test_the_last_seconds_keep_both_cores_searching(monkeypatch) -> None:
    """While the final recombination runs in this process, one more search goes on from the
    best plan in the pool; and when the recombination finds nothing better, the descent
    starts from the best search instead of leaving the time unused."""
    _DESCENTS.clear()
    monkeypatch.setattr(solver_module, "run_search", _spy_run_search)
    monkeypatch.setattr(solver_module, "recombine", lambda *a, **k: None)
    p, w = _windows_problem()
    s = solve(p, w.matrix(), SolveParams(time_limit=3, metaheuristic=ILS, workers=2, seed=1))
    names = [x["name"] for x in s.details["searches"]]
    assert any(n.endswith("(last seconds)") for n in names)
    assert len(_DESCENTS) == 1 and _DESCENTS[0].metaheuristic == "guided_local_search"
    searches = [x for x in s.details["searches"] if x["objective"] is not None]
    assert s.objective <= min(x["objective"] for x in searches) + 1e-9
    assert check_solution(p, w.matrices_for(p), s) == []
