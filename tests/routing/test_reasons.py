"""Every unassigned job carries the true reason, and nothing is silently dropped."""

from __future__ import annotations

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
    feasibility,
    solve,
)
from tests.routing.checker import check_solution
from tests.routing.helpers import HOUR, MIN, LineWorld

DAY = TimeWindow(8 * HOUR, 17 * HOUR)
LIMIT = SolveParams(time_limit=20, solution_limit=100)


def run(world: LineWorld, problem: Problem) -> Solution:
    solution = solve(problem, world.matrix(), LIMIT)
    assert check_solution(problem, world.matrices_for(problem), solution) == []
    return solution


def the_tech(w: LineWorld, **kw) -> Technician:
    kw.setdefault("shift", DAY)
    kw.setdefault("skills", {"elec": 3})
    return Technician(id=kw.pop("id", "t"), start=w.at(0), **kw)


def test_no_engineer_with_skill() -> None:
    """A job needing a skill nobody has: no_engineer_with_skill, naming the skill."""
    w = LineWorld()
    p = Problem((the_tech(w),), (Job(id="j", location=w.at(5), skills={"gas": 1}),))
    s = run(w, p)
    (u,) = s.unassigned
    assert u.reason is Reason.NO_ENGINEER_WITH_SKILL
    assert "gas" in u.message


def test_skill_level_too_low_is_no_engineer_with_skill() -> None:
    """Holding the skill below the minimum level counts as not having it."""
    w = LineWorld()
    p = Problem((the_tech(w),), (Job(id="j", location=w.at(5), skills={"elec": 4}),))
    assert run(w, p).unassigned_reason("j") is Reason.NO_ENGINEER_WITH_SKILL


def test_no_engineer_in_territory() -> None:
    """Skilled technicians exist, but none covers the territory."""
    w = LineWorld()
    p = Problem(
        (the_tech(w, territories=frozenset({"north"})),),
        (Job(id="j", location=w.at(5), territory="south"),),
    )
    s = run(w, p)
    assert s.unassigned_reason("j") is Reason.NO_ENGINEER_IN_TERRITORY
    assert "south" in s.unassigned[0].message


def test_no_shift_covers_window() -> None:
    """A window at 20:00 while every shift ends at 17:00."""
    w = LineWorld()
    p = Problem(
        (the_tech(w),),
        (Job(id="j", location=w.at(5), windows=(TimeWindow(20 * HOUR, 21 * HOUR),)),),
    )
    assert run(w, p).unassigned_reason("j") is Reason.NO_SHIFT_COVERS_WINDOW


def test_window_unreachable() -> None:
    """The window opens with the shift, but the job is 30 min away and closes after 10 min."""
    w = LineWorld()
    p = Problem(
        (the_tech(w),),
        (Job(id="j", location=w.at(30), windows=(TimeWindow(8 * HOUR, 8 * HOUR + 10 * MIN),)),),
    )
    assert run(w, p).unassigned_reason("j") is Reason.WINDOW_UNREACHABLE


def test_break_makes_window_unreachable() -> None:
    """A 1 h break fixed at 08:00 means a job that must start by 08:30 cannot be reached."""
    w = LineWorld()
    p = Problem(
        (the_tech(w, breaks=(Break(8 * HOUR, 8 * HOUR, HOUR),)),),
        (Job(id="j", location=w.at(5), windows=(TimeWindow(8 * HOUR, 8 * HOUR + 30 * MIN),)),),
    )
    assert run(w, p).unassigned_reason("j") is Reason.WINDOW_UNREACHABLE


def test_exceeds_working_time() -> None:
    """1 h there, 1 h back and 1 h of work do not fit a 2 h maximum working time."""
    w = LineWorld()
    p = Problem(
        (the_tech(w, max_work_seconds=2 * HOUR),),
        (Job(id="j", location=w.at(60), duration=HOUR),),
    )
    assert run(w, p).unassigned_reason("j") is Reason.EXCEEDS_WORKING_TIME


def test_exceeds_capacity() -> None:
    """A load of 12 for technicians who carry at most 10."""
    w = LineWorld()
    p = Problem((the_tech(w, capacity=10),), (Job(id="j", location=w.at(5), load=12),))
    s = run(w, p)
    assert s.unassigned_reason("j") is Reason.EXCEEDS_CAPACITY
    assert "10" in s.unassigned[0].message


def test_over_capacity_means_day_full() -> None:
    """Two 5 h jobs for one 9 h shift: each is feasible alone, one does not fit: over_capacity."""
    w = LineWorld()
    p = Problem(
        (the_tech(w),),
        (
            Job(id="a", location=w.at(1), duration=5 * HOUR, priority=Priority.HIGH),
            Job(id="b", location=w.at(1), duration=5 * HOUR),
        ),
    )
    s = run(w, p)
    assert s.unassigned_reason("b") is Reason.OVER_CAPACITY
    assert "t" in s.unassigned[0].message


def test_pinned_to_absent_technician() -> None:
    """Pinned to someone not in the plan, while another technician could do it."""
    w = LineWorld()
    p = Problem((the_tech(w),), (Job(id="j", location=w.at(5), pinned_to="ghost"),))
    s = run(w, p)
    assert s.unassigned_reason("j") is Reason.PINNED_CONFLICT
    assert "ghost" in s.unassigned[0].message


def test_pinned_to_technician_without_skill() -> None:
    """Pinned to a technician lacking the skill while another has it: pinned_conflict."""
    w = LineWorld()
    p = Problem(
        (the_tech(w, id="a"), the_tech(w, id="b", skills={"gas": 1})),
        (Job(id="j", location=w.at(5), skills={"elec": 1}, pinned_to="b"),),
    )
    assert run(w, p).unassigned_reason("j") is Reason.PINNED_CONFLICT


def test_pin_does_not_hide_the_real_cause() -> None:
    """Pinned, but nobody at all has the skill: the reason is the skill, not the pin."""
    w = LineWorld()
    p = Problem(
        (the_tech(w),),
        (Job(id="j", location=w.at(5), skills={"gas": 1}, pinned_to="t"),),
    )
    assert run(w, p).unassigned_reason("j") is Reason.NO_ENGINEER_WITH_SKILL


def test_two_locked_jobs_for_one_technician() -> None:
    """Only one job can be in progress as the first stop; the second is a pinned_conflict."""
    w = LineWorld()
    p = Problem(
        (the_tech(w),),
        (
            Job(id="a", location=w.at(5), pinned_to="t", locked_first=True),
            Job(id="b", location=w.at(6), pinned_to="t", locked_first=True),
        ),
    )
    s = run(w, p)
    assert s.route_of("t").job_ids == ("a",)  # type: ignore[union-attr]
    assert s.unassigned_reason("b") is Reason.PINNED_CONFLICT


def test_no_technicians_at_all() -> None:
    """With nobody working, every job is explained rather than dropped silently."""
    w = LineWorld()
    p = Problem((), (Job(id="j", location=w.at(5)),))
    s = solve(p, w.matrix(), LIMIT)
    assert s.unassigned_reason("j") is Reason.NO_ENGINEER_WITH_SKILL
    assert "no technicians" in s.unassigned[0].message


def test_every_job_is_routed_or_explained() -> None:
    """A mixed bag: the union of routed and unassigned jobs is exactly the input."""
    w = LineWorld()
    jobs = (
        Job(id="ok", location=w.at(2)),
        Job(id="skill", location=w.at(2), skills={"x": 1}),
        Job(id="late", location=w.at(2), windows=(TimeWindow(23 * HOUR, 23 * HOUR),)),
        Job(id="far", location=w.at(400), windows=(TimeWindow(8 * HOUR, 9 * HOUR),)),
    )
    s = run(w, Problem((the_tech(w),), jobs))
    assert s.route_of("t").job_ids == ("ok",)  # type: ignore[union-attr]
    assert {u.job_id: u.reason for u in s.unassigned} == {
        "skill": Reason.NO_ENGINEER_WITH_SKILL,
        "late": Reason.NO_SHIFT_COVERS_WINDOW,
        "far": Reason.WINDOW_UNREACHABLE,
    }


def test_feasibility_names_who_could_do_each_job_alone_and_agrees_with_solve() -> None:
    """Without a search: who could serve each job on an empty day, and the pre-check reason
    for the others — the same reasons ``solve`` gives."""
    w = LineWorld()
    near = the_tech(w, id="near")
    short = the_tech(w, id="short", shift=TimeWindow(8 * HOUR, 8 * HOUR + 20 * MIN))
    jobs = (
        Job(id="both", location=w.at(2), duration=5 * MIN),
        Job(id="far", location=w.at(30), duration=30 * MIN),  # 60 min there and back
        Job(id="gas", location=w.at(5), skills={"gas": 1}),
        Job(id="late", location=w.at(5), windows=(TimeWindow(18 * HOUR, 19 * HOUR),)),
    )
    p = Problem((near, short), jobs)
    verdict = feasibility(p, w.matrix())
    assert verdict.able == {"both": ("near", "short"), "far": ("near",)}
    assert {k: u.reason for k, u in verdict.unservable.items()} == {
        "gas": Reason.NO_ENGINEER_WITH_SKILL,
        "late": Reason.NO_SHIFT_COVERS_WINDOW,
    }
    solved = run(w, p)
    for job_id, u in verdict.unservable.items():
        assert solved.unassigned_reason(job_id) is u.reason
