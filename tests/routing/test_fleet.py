"""The fleet a later round searches with: the plan's vehicles and a few spare ones per
class of interchangeable vehicles, with every route mapped back to the whole fleet."""

from __future__ import annotations

import routing.solver as solver_module
from routing import Job, Problem, SolveParams, Technician, TimeWindow, solve
from routing.compiled import compile_problem, resolve_matrices
from routing.fleet import SPARE, fleet_for, whole
from routing.ortools_model import RawResult
from routing.solution import Status
from tests.routing.checker import check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld
from tests.routing.test_recombine import _windows_problem

DAY = TimeWindow(8 * HOUR, 18 * HOUR)


def _problem(vans: int, jobs: int = 12, own: bool = True) -> tuple[Problem, LineWorld]:
    """``vans`` identical vans at the depot, and (``own``) one engineer who starts at home;
    the windowed jobs of the recombination tests."""
    base, w = _windows_problem(jobs)
    techs = [Technician(id=f"van{k}", start=w.at(0), shift=DAY) for k in range(vans)]
    if own:
        techs.append(Technician(id="home", start=w.at(30), shift=DAY))
    return Problem(tuple(techs), base.jobs), w


def _compiled(p: Problem, w: LineWorld):
    return compile_problem(p, resolve_matrices(p, w.matrix()))


def test_the_plan_s_vehicles_stay_with_two_spare_ones_per_class() -> None:
    p, w = _problem(vans=8)
    c = _compiled(p, w)
    plan: list[list[int]] = [[] for _ in range(c.n_vehicles)]
    plan[1], plan[5] = [0, 1], [2]
    fleet = fleet_for(c, plan)
    # Vans 1 and 5 drive; vans 0 and 2 are the class's spare ones; the engineer who starts
    # at home is a class of one and stays.
    assert SPARE == 2
    assert fleet.vehicles == (0, 1, 2, 5, 8)
    assert fleet.compiled.n_vehicles == 5
    assert [t.id for t in fleet.compiled.problem.technicians] == [
        "van0",
        "van1",
        "van2",
        "van5",
        "home",
    ]
    assert fleet.plan(plan) == ((), (0, 1), (), (2,), ())
    # Job nodes are the same in both problems.
    assert fleet.compiled.n_jobs == c.n_jobs
    assert fleet.compiled.windows == c.windows


def test_routes_and_pool_map_back_to_the_whole_fleet() -> None:
    p, w = _problem(vans=8)
    c = _compiled(p, w)
    plan: list[list[int]] = [[] for _ in range(c.n_vehicles)]
    plan[6] = [3, 4]
    fleet = fleet_for(c, plan)
    assert fleet.vehicles == (0, 1, 6, 8)
    found = RawResult(
        routes=[[], [5], [3, 4], [7]],
        objective=10,
        status=Status.FEASIBLE,
        solutions=1,
        elapsed=0.1,
        pool=[(2, (3, 4)), (3, (7,))],
    )
    lifted = fleet.lift(found)
    expected: list[list[int]] = [[] for _ in range(c.n_vehicles)]
    expected[1], expected[6], expected[8] = [5], [3, 4], [7]
    assert lifted.routes == expected
    assert sorted(lifted.pool) == [(6, (3, 4)), (8, (7,))]
    assert lifted.objective == 10


def test_distinct_technicians_are_never_cut() -> None:
    """Each engineer with a home of their own is a class of one: nothing to leave out."""
    w = LineWorld()
    techs = tuple(Technician(id=f"t{k}", start=w.at(5 * k), shift=DAY) for k in range(5))
    p = Problem(techs, (Job(id="a", location=w.at(1), duration=10 * MIN),))
    c = _compiled(p, w)
    plan: list[list[int]] = [[0], [], [], [], []]
    fleet = fleet_for(c, plan)
    assert fleet.compiled is c
    assert fleet.vehicles == tuple(range(5))
    assert whole(c).vehicles == fleet.vehicles


def test_later_rounds_search_with_fewer_vans_and_the_plan_stays_feasible(monkeypatch) -> None:
    """Twelve vans for a day two or three can do: from the second round on the searches
    build a model with the plan's vans and two spare ones, and the plan reads in the whole
    fleet's terms (checked independently)."""
    fleets: list[tuple[int, int | None]] = []  # vehicles, and routes of the start plan
    real = solver_module._run_round

    def spy(pool, c, active, configs, deadline, progress):
        start = configs[0].initial_routes
        fleets.append((c.n_vehicles, None if start is None else sum(1 for r in start if r)))
        return real(pool, c, active, configs, deadline, progress)

    monkeypatch.setattr(solver_module, "_run_round", spy)
    p, w = _problem(vans=12, jobs=30, own=False)
    params = SolveParams(
        time_limit=60,
        solution_limit=80,
        metaheuristic="iterated_local_search",
        workers=2,
        seed=1,
        rounds=3,
    )
    s = solve(p, w.matrix(), params)
    assert len(fleets) == 3
    assert fleets[0] == (12, None)
    for vehicles, driving in fleets[1:]:
        assert driving is not None and vehicles == driving + SPARE < 12
    assert check_solution(p, w.matrices_for(p), s) == []
    assert not s.unassigned
    assert {r.technician_id for r in s.routes} <= {t.id for t in p.technicians}
