"""``evaluate_route``: times of a fixed sequence, computed by hand here."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routing import Break, Job, Problem, Technician, TimeWindow, evaluate_route
from tests.routing.checker import check_route
from tests.routing.helpers import HOUR, MIN, LineWorld


def _problem(w: LineWorld, **tech_kw) -> Problem:
    tech_kw.setdefault("shift", TimeWindow(8 * HOUR, 17 * HOUR))
    t = Technician(id="t", start=w.at(0), end=w.at(0), **tech_kw)
    jobs = (
        Job(id="a", location=w.at(10), duration=30 * MIN),
        Job(
            id="b",
            location=w.at(20),
            duration=30 * MIN,
            windows=(TimeWindow(10 * HOUR, 11 * HOUR),),
        ),
        Job(id="c", location=w.at(5), duration=HOUR),
    )
    return Problem((t,), jobs)


def test_times_of_a_fixed_sequence() -> None:
    """a (10 km) then b (20 km, window from 10:00): b waits; departure delayed to cut waiting.

    Leaving at 08:00 gives a at 08:10–08:40, b reached 08:50, waits until 10:00. The latest
    departure that still starts b at 10:00 is 09:10, so a runs 09:20–09:50, b 10:00–10:30,
    back at 10:50.
    """
    w = LineWorld()
    p = _problem(w)
    r = evaluate_route(p, "t", ["a", "b"], w.matrix())
    assert r.feasible
    a, b = r.stops
    assert r.start_time == 9 * HOUR + 10 * MIN
    assert (a.arrival, a.start, a.end) == (
        9 * HOUR + 20 * MIN,
        9 * HOUR + 20 * MIN,
        9 * HOUR + 50 * MIN,
    )
    assert (b.arrival, b.wait, b.start) == (10 * HOUR, 0, 10 * HOUR)
    assert r.end_time == 10 * HOUR + 50 * MIN
    assert r.distance_m == 40_000
    assert check_route(p, w.matrices_for(p), r) == []


def test_leaving_later_never_makes_a_job_late() -> None:
    """As above, but a is due by 08:30 (SLA) or preferred by 08:45: leaving at 09:10 would
    make it late, so the departure is delayed only until a still starts on time, and b waits.
    (The solver schedules the route the same way; a later departure showed jobs late that
    the plan had on time, and cost more than the solver's objective said.)"""
    w = LineWorld()
    base = _problem(w)
    plain = evaluate_route(base, "t", ["a", "b"], w.matrix())
    cases = (
        (replace(base.jobs[0], sla_due=8 * HOUR + 30 * MIN), 8 * HOUR + 30 * MIN),
        (
            replace(
                base.jobs[0],
                preferred_window=TimeWindow(8 * HOUR, 8 * HOUR + 45 * MIN),
                lateness_penalty=10.0,
            ),
            8 * HOUR + 45 * MIN,
        ),
    )
    for a_job, a_start in cases:
        p = Problem(base.technicians, (a_job, *base.jobs[1:]))
        r = evaluate_route(p, "t", ["a", "b"], w.matrix())
        assert r.feasible
        a, b = r.stops
        assert r.start_time == a_start - 10 * MIN
        assert a.start == a_start
        assert (b.arrival, b.wait, b.start) == (
            a_start + 40 * MIN,
            10 * HOUR - a_start - 40 * MIN,
            10 * HOUR,
        )
        assert r.end_time == 10 * HOUR + 50 * MIN
        assert r.cost == pytest.approx(plain.cost)  # travel only: nothing late
        assert check_route(p, w.matrices_for(p), r) == []


def test_break_between_stops() -> None:
    """A 30 min break starting 09:00–09:05 lands between c and a and delays a by 30 min."""
    w = LineWorld()
    p = _problem(w, breaks=(Break(9 * HOUR, 9 * HOUR + 5 * MIN, 30 * MIN),))
    r = evaluate_route(p, "t", ["c", "a"], w.matrix())
    assert r.feasible, r.violations
    c, a = r.stops
    assert c.start == 8 * HOUR + 5 * MIN and c.end == 9 * HOUR + 5 * MIN
    assert r.breaks == ((9 * HOUR + 5 * MIN, 9 * HOUR + 35 * MIN),)
    assert a.start == 9 * HOUR + 40 * MIN  # 5 min drive after the break
    assert check_route(p, w.matrices_for(p), r) == []


def test_infeasible_sequence_lists_violations() -> None:
    """b's window closes at 11:00; after a 6 h job first, it cannot be met."""
    w = LineWorld()
    t = Technician(id="t", start=w.at(0), shift=TimeWindow(8 * HOUR, 17 * HOUR))
    jobs = (
        Job(id="long", location=w.at(1), duration=6 * HOUR),
        Job(id="b", location=w.at(2), windows=(TimeWindow(10 * HOUR, 11 * HOUR),)),
    )
    r = evaluate_route(Problem((t,), jobs), "t", ["long", "b"], w.matrix())
    assert not r.feasible
    assert any("b" in v and "window" in v for v in r.violations)


def test_skill_and_max_jobs_violations() -> None:
    """A manual sequence that ignores skills and max_jobs is reported, not silently fixed."""
    w = LineWorld()
    t = Technician(id="t", start=w.at(0), shift=TimeWindow(0, 10 * HOUR), max_jobs=1)
    jobs = (Job(id="x", location=w.at(1), skills={"gas": 2}), Job(id="y", location=w.at(2)))
    r = evaluate_route(Problem((t,), jobs), "t", ["x", "y"], w.matrix())
    assert len(r.violations) == 2
