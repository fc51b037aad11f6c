"""The order in which iterated local search puts ruined jobs back: at random (SISR's
diversity) or the most valuable first (so that, when not every job fits, the better jobs
keep their places). A portfolio runs both."""

from __future__ import annotations

import pytest

import routing.solver as solver_module
from routing import Job, Priority, Problem, SolveParams, Technician, TimeWindow, solve
from routing.ortools_model import _SORT, SearchConfig, _search_parameters
from routing.solver import _reinsertion, portfolio
from tests.routing.checker import check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld
from tests.routing.test_recombine import _windows_problem

ILS = "iterated_local_search"

RANDOM = [_SORT.SORTING_PROPERTY_RANDOM]
BY_VALUE = [_SORT.SORTING_PROPERTY_PENALTY, _SORT.SORTING_PROPERTY_ALLOWED_VEHICLES]


def _recreate_order(config: SearchConfig, same_value: bool) -> list[int]:
    params = _search_parameters(config, 1.0, 10.0, same_value)
    rr = params.iterated_local_search_parameters.ruin_recreate_parameters
    lci = rr.recreate_strategy.parameters.local_cheapest_insertion
    return list(lci.insertion_sorting_properties)


@pytest.mark.parametrize(
    ("setting", "same_value", "expected"),
    [
        (None, True, RANDOM),  # nothing to protect: random
        (None, False, BY_VALUE),  # priorities differ: the valuable jobs first
        (True, False, RANDOM),  # asked for: random even with priorities
        (False, True, BY_VALUE),
    ],
)
def test_recreate_order_follows_the_setting(
    setting: bool | None, same_value: bool, expected: list[int]
) -> None:
    config = SearchConfig(metaheuristic=ILS, random_recreate=setting)
    assert _recreate_order(config, same_value) == expected


def test_the_portfolio_mixes_the_two_orders() -> None:
    """The requested search keeps the default; every extra one reinserts at random."""
    params = SolveParams(metaheuristic=ILS, workers=3)
    configs = portfolio(params, 3)
    assert [c.random_recreate for c in configs] == [None, True, True]
    assert _recreate_order(configs[0], same_value=False) == BY_VALUE
    ils = [c for c in configs[1:] if c.metaheuristic == ILS]
    assert ils  # the portfolio's second search is ILS
    assert all(_recreate_order(c, same_value=False) == RANDOM for c in ils)


def test_random_reinsertion_does_not_cost_urgent_jobs_their_places() -> None:
    """One engineer with room for about half the jobs: the urgent ones, spread along the
    road among many low-priority ones, are all served by the two-search portfolio, whose
    second search reinserts at random."""
    p, w = _tight_problem()
    params = SolveParams(time_limit=4, metaheuristic=ILS, workers=2, seed=1)
    s = solve(p, w.matrix(), params)
    assert check_solution(p, w.matrices_for(p), s) == []
    served = {j for r in s.routes for j in r.job_ids}
    urgent = {j.id for j in p.jobs if j.priority is Priority.URGENT}
    assert urgent <= served
    assert 0 < len(s.unassigned) < len(p.jobs) - len(urgent)  # tight: some low ones are left


def test_searches_after_a_meeting_follow_the_plan() -> None:
    """A plan that serves every job: everyone reinserts at random; one that leaves a job
    out: the valuable jobs go back first."""
    active = (0, 1, 2, 3)
    assert _reinsertion([[0, 1], [2, 3]], active) is True
    assert _reinsertion([[0, 1], [3]], active) is None
    assert _reinsertion([[], []], ()) is True


def _tight_problem() -> tuple[Problem, LineWorld]:
    w = LineWorld()
    tech = Technician(id="t", start=w.at(0), shift=TimeWindow(8 * HOUR, 12 * HOUR))
    jobs = tuple(
        Job(
            id=f"j{k}",
            location=w.at(float((k * 7) % 40)),
            duration=15 * MIN,
            priority=Priority.URGENT if k % 6 == 0 else Priority.LOW,
        )
        for k in range(30)
    )
    return Problem((tech,), jobs), w


@pytest.mark.parametrize("tight", [False, True])
def test_later_rounds_reinsert_at_random_only_when_everything_fits(
    monkeypatch: pytest.MonkeyPatch, tight: bool
) -> None:
    calls: list[list[SearchConfig]] = []
    real = solver_module._run_round

    def spy(pool, c, active, configs, deadline, progress):
        calls.append(list(configs))
        return real(pool, c, active, configs, deadline, progress)

    monkeypatch.setattr(solver_module, "_run_round", spy)
    if tight:
        p, w = _tight_problem()
    else:
        p, w = _windows_problem()
    params = SolveParams(
        time_limit=60, solution_limit=60, metaheuristic=ILS, workers=2, seed=1, rounds=2
    )
    s = solve(p, w.matrix(), params)
    assert check_solution(p, w.matrices_for(p), s) == []
    first, later = calls
    assert [cfg.random_recreate for cfg in first] == [None, True]
    expected = None if tight else True
    assert [cfg.random_recreate for cfg in later] == [expected, expected]
    assert bool(s.unassigned) == tight
