"""One small, hand-checkable case per constraint of the routing model.

Places lie on a line (``LineWorld``): x km from the origin, 1 km per minute. Each solve is
bounded by a solution limit, never by wall-clock time, so results do not depend on the
machine. Every solution is also passed through the independent checker.
"""

from __future__ import annotations

import pytest

from routing import (
    Break,
    Job,
    Priority,
    Problem,
    Reason,
    Solution,
    SolveParams,
    Technician,
    TimeWindow,
    Weights,
    solve,
)
from tests.routing.checker import check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld

DAY = TimeWindow(8 * HOUR, 18 * HOUR)
LIMIT = SolveParams(time_limit=20, solution_limit=200)


def run(world: LineWorld, problem: Problem, params: SolveParams = LIMIT) -> Solution:
    solution = solve(problem, world.matrix(), params)
    assert check_solution(problem, world.matrices_for(problem), solution) == []
    assert solution.is_feasible()
    return solution


def tech(world: LineWorld, id: str, x: float = 0, **kw) -> Technician:
    kw.setdefault("shift", DAY)
    return Technician(id=id, start=world.at(x), **kw)


def job(world: LineWorld, id: str, x: float, **kw) -> Job:
    kw.setdefault("duration", 10 * MIN)
    return Job(id=id, location=world.at(x), **kw)


def where(solution: Solution, job_id: str) -> str | None:
    for r in solution.routes:
        if job_id in r.job_ids:
            return r.technician_id
    return None


def test_skill_goes_to_the_technician_who_has_it() -> None:
    """A job needing elec goes to the far technician with elec, not the near one without."""
    w = LineWorld()
    p = Problem(
        (tech(w, "near", 10, skills={"gas": 5}), tech(w, "far", 0, skills={"elec": 1})),
        (job(w, "j", 10, skills={"elec": 1}),),
    )
    assert where(run(w, p), "j") == "far"


def test_skill_level_must_reach_the_minimum() -> None:
    """Level 2 is not enough for a job needing level 3; level 4 is."""
    w = LineWorld()
    p = Problem(
        (tech(w, "l2", 10, skills={"elec": 2}), tech(w, "l4", 0, skills={"elec": 4})),
        (job(w, "j", 10, skills={"elec": 3}),),
    )
    assert where(run(w, p), "j") == "l4"


def test_time_window_orders_the_route() -> None:
    """Windows force visiting x=20 (early window) before x=10 (late window)."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0),),
        (
            job(w, "late", 10, windows=(TimeWindow(11 * HOUR, 12 * HOUR),)),
            job(w, "early", 20, windows=(TimeWindow(8 * HOUR, 9 * HOUR),)),
        ),
    )
    s = run(w, p)
    assert s.routes[0].job_ids == ("early", "late")
    early, late = s.routes[0].stops
    assert 8 * HOUR <= early.start <= 9 * HOUR
    assert late.start == 11 * HOUR  # arrives earlier and waits for the window
    assert late.wait > 0


def test_several_windows_use_the_one_that_fits() -> None:
    """With windows 08:00–08:05 and 10:00–11:00, a job after a 1 h job uses the second."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0),),
        (
            job(w, "first", 5, duration=HOUR, windows=(TimeWindow(8 * HOUR, 8 * HOUR + 10 * MIN),)),
            job(
                w,
                "two",
                5,
                windows=(
                    TimeWindow(8 * HOUR, 8 * HOUR + 5 * MIN),
                    TimeWindow(10 * HOUR, 11 * HOUR),
                ),
            ),
        ),
    )
    s = run(w, p)
    stops = {st.job_id: st for st in s.routes[0].stops}
    assert stops["two"].start == 10 * HOUR


def test_break_is_placed_in_its_window_and_never_over_service() -> None:
    """A 30 min lunch with start in 12:00–12:30 sits between two jobs that span noon."""
    w = LineWorld()
    lunch = Break(12 * HOUR, 12 * HOUR + 30 * MIN, 30 * MIN)
    p = Problem(
        (tech(w, "t", 0, breaks=(lunch,)),),
        (
            job(w, "am", 5, duration=2 * HOUR, windows=(TimeWindow(10 * HOUR, 10 * HOUR),)),
            job(w, "pm", 5, duration=HOUR, windows=(TimeWindow(12 * HOUR, 13 * HOUR),)),
        ),
    )
    s = run(w, p)
    r = s.routes[0]
    assert r.break_start is not None and 12 * HOUR <= r.break_start <= 12 * HOUR + 30 * MIN
    pm = r.stops[1]
    # The am job ends at 12:00, the break takes 30 min, so pm starts at 12:30 at the earliest.
    assert pm.start >= r.break_end >= 12 * HOUR + 30 * MIN


def test_shift_end_forces_a_drop() -> None:
    """A 2 h shift fits one 90 min job, not two: the lower priority one is dropped."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0, shift=TimeWindow(8 * HOUR, 10 * HOUR)),),
        (
            job(w, "low", 1, duration=90 * MIN, priority=Priority.LOW),
            job(w, "high", 1, duration=90 * MIN, priority=Priority.HIGH),
        ),
    )
    s = run(w, p)
    assert s.routes[0].job_ids == ("high",)
    assert s.routes[0].end_time <= 10 * HOUR
    assert s.unassigned_reason("low") is Reason.OVER_CAPACITY


def test_different_start_and_end_places() -> None:
    """Start at x=0, end at x=30, one job at x=10: 30 km driven, 10 + 20 minutes of legs."""
    w = LineWorld()
    p = Problem((tech(w, "t", 0, end=w.at(30)),), (job(w, "j", 10),))
    s = run(w, p)
    r = s.routes[0]
    assert r.distance_m == 30_000
    assert r.stops[0].leg_seconds == 10 * MIN
    assert r.end_leg_seconds == 20 * MIN
    assert r.end_time - r.start_time == 30 * MIN + 10 * MIN


def test_pin_overrides_geography() -> None:
    """A job next to technician A but pinned to B (far away) goes to B."""
    w = LineWorld()
    p = Problem((tech(w, "A", 10), tech(w, "B", 100)), (job(w, "j", 10, pinned_to="B"),))
    assert where(run(w, p), "j") == "B"


def test_locked_job_is_the_first_stop() -> None:
    """Work in progress at x=30 is first even though x=10 and x=20 are on the way."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0),),
        (
            job(w, "a", 10),
            job(w, "b", 20),
            job(w, "wip", 30, pinned_to="t", locked_first=True),
        ),
    )
    s = run(w, p)
    assert s.routes[0].job_ids[0] == "wip"
    assert set(s.routes[0].job_ids) == {"a", "b", "wip"}


def test_territory_is_hard_and_secondary_costs_extra() -> None:
    """North jobs go to the north technician; a secondary territory is used only if cheaper."""
    w = LineWorld()
    north = tech(w, "N", 0, territories=frozenset({"north"}))
    south = tech(
        w, "S", 0, territories=frozenset({"south"}), secondary_territories=frozenset({"north"})
    )
    p = Problem(
        (north, south), (job(w, "n1", 5, territory="north"), job(w, "s1", 5, territory="south"))
    )
    s = run(w, p)
    assert where(s, "s1") == "S"
    # Same place and cost either way, so the secondary surcharge decides: N takes n1.
    assert where(s, "n1") == "N"


def test_territory_nobody_covers() -> None:
    """A job in a territory no skilled technician covers is unassigned with that reason."""
    w = LineWorld()
    p = Problem(
        (tech(w, "N", 0, territories=frozenset({"north"})),), (job(w, "e", 5, territory="east"),)
    )
    s = run(w, p)
    assert s.unassigned_reason("e") is Reason.NO_ENGINEER_IN_TERRITORY


@pytest.mark.parametrize(
    ("kept", "dropped"),
    [
        (Priority.NORMAL, Priority.LOW),
        (Priority.HIGH, Priority.NORMAL),
        (Priority.URGENT, Priority.HIGH),
    ],
)
def test_priority_drop_order(kept: Priority, dropped: Priority) -> None:
    """Room for one of two jobs: the lower priority goes, even when it is the nearer one."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0, shift=TimeWindow(8 * HOUR, 10 * HOUR)),),
        (
            job(w, "near", 1, duration=90 * MIN, priority=dropped),
            job(w, "far", 10, duration=90 * MIN, priority=kept),
        ),
    )
    s = run(w, p)
    assert s.routes[0].job_ids == ("far",)
    assert s.unassigned_reason("near") is Reason.OVER_CAPACITY


def test_urgent_job_is_served_whatever_the_detour() -> None:
    """An urgent job 200 km away is served even though a normal drop would be far cheaper."""
    w = LineWorld()
    weights = Weights(travel_hour=1000.0, distance_km=100.0)
    p = Problem((tech(w, "t", 0),), (job(w, "u", 200, priority=Priority.URGENT),), weights)
    s = run(w, p)
    assert where(s, "u") == "t"
    # The same job at normal priority is not worth 400 km: too_costly, with the numbers.
    p2 = Problem((tech(w, "t", 0),), (job(w, "u", 200),), weights)
    s2 = run(w, p2)
    assert s2.unassigned_reason("u") is Reason.TOO_COSTLY


def test_soft_preferred_window_is_met_when_cheap() -> None:
    """Two jobs at the same place; the one preferring the morning is served first."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0),),
        (
            job(w, "any", 5, duration=2 * HOUR),
            job(
                w,
                "morning",
                5,
                duration=HOUR,
                preferred_window=TimeWindow(8 * HOUR, 9 * HOUR),
                lateness_penalty=100.0,
            ),
        ),
    )
    s = run(w, p)
    assert s.routes[0].job_ids == ("morning", "any")


def test_sla_due_pulls_a_job_forward() -> None:
    """An SLA due at 09:00 puts that job first although geography says otherwise."""
    w = LineWorld()
    p = Problem(
        (tech(w, "t", 0),),
        (
            job(w, "near", 5, duration=2 * HOUR),
            job(w, "sla", 10, duration=HOUR, sla_due=9 * HOUR),
        ),
    )
    s = run(w, p)
    assert s.routes[0].job_ids[0] == "sla"


def test_capacity_limits_the_load() -> None:
    """Capacity 10 holds loads 6 and 4 but not a third of 5: it goes to the other technician."""
    w = LineWorld()
    p = Problem(
        (tech(w, "a", 0, capacity=10), tech(w, "b", 50, capacity=10)),
        tuple(job(w, f"j{k}", 1, load=ld) for k, ld in enumerate((6, 4, 5))),
    )
    s = run(w, p)
    for r in s.routes:
        assert r.load <= 10
    assert s.assigned == 3


def test_max_jobs_caps_the_route() -> None:
    """Three jobs, two technicians at the same place with max_jobs=2: both must work."""
    w = LineWorld()
    p = Problem(
        (tech(w, "a", 0, max_jobs=2), tech(w, "b", 0, max_jobs=2)),
        tuple(job(w, f"j{k}", 1) for k in range(3)),
    )
    s = run(w, p)
    assert sorted(len(r.stops) for r in s.routes) == [1, 2]


def test_max_work_time_caps_the_day() -> None:
    """With at most 2 h of work (travel included), three 50 min jobs do not fit in one day."""
    w = LineWorld()
    p = Problem(
        (tech(w, "a", 0, max_work_seconds=2 * HOUR),),
        tuple(job(w, f"j{k}", 1, duration=50 * MIN) for k in range(3)),
    )
    s = run(w, p)
    r = s.routes[0]
    assert len(r.stops) == 2
    assert r.end_time - r.start_time <= 2 * HOUR
    assert len(s.unassigned) == 1


def test_preferred_technician_is_a_soft_wish() -> None:
    """At equal cost the preferred technician gets the job."""
    w = LineWorld()
    p = Problem(
        (tech(w, "a", 0), tech(w, "b", 0)),
        (job(w, "j", 5, preferred_technician="b"),),
    )
    assert where(run(w, p), "j") == "b"


def test_workload_balance_spreads_jobs() -> None:
    """Without balance one technician does all four jobs; with it, both work."""
    w = LineWorld()
    jobs = tuple(job(w, f"j{k}", 1, duration=HOUR) for k in range(4))
    techs = (tech(w, "a", 0), tech(w, "b", 0))
    plain = run(w, Problem(techs, jobs))
    assert len(plain.routes) == 1
    balanced = run(w, Problem(techs, jobs, Weights(balance_hour=100.0)))
    assert sorted(len(r.stops) for r in balanced.routes) == [2, 2]
