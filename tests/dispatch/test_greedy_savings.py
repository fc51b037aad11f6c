"""The greedy baseline on hand-checkable cases, and the savings report against it."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from crm.settings import Settings
from dispatch.batch import plan_day
from dispatch.greedy import greedy_dispatch
from dispatch.savings import savings_report
from routing import Job, Location, Priority, Problem, Technician, TimeWindow
from tests.dispatch.world import DAY, TZ, World

H = 3600


def tech(tid: str, lon: float, **kw: object) -> Technician:
    return Technician(
        id=tid,
        start=Location(lat=31.2, lon=lon),
        shift=TimeWindow(8 * H, 17 * H),
        skills={"hvac": 2},
        **kw,  # type: ignore[arg-type]
    )


def job(jid: str, lon: float, **kw: object) -> Job:
    fields: dict[str, object] = {"duration": 1800, "skills": {"hvac": 1}, **kw}
    return Job(id=jid, location=Location(lat=31.2, lon=lon), **fields)  # type: ignore[arg-type]


def test_each_ticket_goes_to_the_nearest_engineer_who_can_take_it() -> None:
    """West jobs to the west engineer, east to east; a level-3 job to nobody."""
    p = Problem(
        (tech("west", 121.30), tech("east", 121.60)),
        (
            job("a", 121.31),
            job("b", 121.59),
            job("c", 121.32),
            job("d", 121.45, skills={"hvac": 3}),
        ),
    )
    g = greedy_dispatch(p)
    assert g.routes == {"west": ["a", "c"], "east": ["b"]}
    assert g.unassigned == ["d"]
    assert all(r.feasible for r in g.evaluated.values())


def test_priority_order_and_appending_without_reordering() -> None:
    """Urgent first even when far: the route is the order of arrival, not the best order."""
    p = Problem(
        (tech("t", 121.30),),
        (
            job("near", 121.31, priority=Priority.LOW),
            job("far", 121.50, priority=Priority.URGENT),
        ),
    )
    assert greedy_dispatch(p).routes == {"t": ["far", "near"]}


def test_full_day_and_windows_are_respected() -> None:
    """A shift of three 30-minute jobs' room takes three; a window already closed, none."""
    short = Technician(
        id="t",
        start=Location(lat=31.2, lon=121.30),
        shift=TimeWindow(8 * H, 9 * H + 40 * 60),
        skills={"hvac": 2},
    )
    jobs = tuple(job(f"j{k}", 121.30 + k * 0.001) for k in range(5))
    g = greedy_dispatch(Problem((short,), jobs))
    assert len(g.routes["t"]) == 3
    late = job("late", 121.30, windows=(TimeWindow(7 * H, 7 * H + 60),))
    assert greedy_dispatch(Problem((tech("t", 121.30),), (late,))).unassigned == ["late"]


def test_savings_report_compares_plan_and_greedy_on_the_same_tickets(engine: Engine) -> None:
    """The optimiser needs fewer km per served ticket than greedy on a scattered day; the
    JSON has exactly the agreed keys."""
    w = World(engine).setup()
    w.territory("North", lat=31.20, lon=121.40, size=0.1)
    w.engineer("Ann", lat=31.21, lon=121.41, primary=["North"])
    w.engineer("Bob", lat=31.29, lon=121.49, primary=["North"])
    w.scatter(14, territory="North", lat=31.20, size=0.1, priority="normal")
    w.scatter(4, territory="North", lat=31.22, size=0.06, priority="high", sla=12)
    settings = Settings(timezone=TZ)
    result = plan_day(engine, DAY, time_limit=20, solution_limit=60, settings=settings)
    report = savings_report(engine, DAY, settings=settings)
    assert report.plan_id == result.plan_id
    assert report.tickets == 18 and report.engineers == 2
    assert report.optimised.served == result.totals["assigned"]
    assert report.optimised.km == result.totals["km"]
    assert report.greedy.served > 0
    ratio = report.ratio_km_per_served
    assert ratio is not None and ratio < 1.0
    body = report.as_json()
    assert set(body) == {"optimised", "greedy", "ratio_km_per_served"}
    assert (
        set(body["optimised"])
        == set(body["greedy"])
        == {
            "km",
            "drive_hours",
            "served",
            "sla_met",
            "km_per_served",
        }
    )
