"""Records → technicians and jobs: shifts minus absences, lunch, windows, access, SLA."""

from __future__ import annotations

from datetime import date

from dispatch.clock import DayClock, parse_day
from dispatch.problem_builder import job_for, technician_for, working_day
from dispatch.records import EngineerRecord, ShiftRecord, TicketRecord
from routing import Break, Priority, TimeWindow
from tests.dispatch.world import DAY, TZ, local

CLOCK = DayClock.of(DAY, TZ)
H = 3600


def engineer(
    absences: list[tuple[float, float]] = (),  # type: ignore[assignment]
    lunch: tuple[float, float, int] | None = (12, 13, 30),
    max_work_minutes: int | None = None,
) -> EngineerRecord:
    shift = ShiftRecord(
        day=DAY,
        start_at=local(8),
        end_at=local(17),
        start_lat=31.2,
        start_lon=121.4,
        end_lat=31.3,
        end_lon=121.5,
        break_earliest_at=local(lunch[0]) if lunch else None,
        break_latest_at=local(lunch[1]) if lunch else None,
        break_minutes=lunch[2] if lunch else 0,
    )
    return EngineerRecord(
        id=7,
        name="Ann",
        home_lat=31.2,
        home_lon=121.4,
        skills=(("hvac", 3),),
        shift=shift,
        absences=tuple((local(a), local(b)) for a, b in absences),
        max_work_minutes=max_work_minutes,
    )


def ticket(**kw: object) -> TicketRecord:
    base: dict[str, object] = {
        "id": 5,
        "title": "Fix",
        "site_id": 1,
        "lat": 31.25,
        "lon": 121.45,
        "duration_min": 45,
        "priority": "high",
        "status": "new",
    }
    base.update(kw)
    return TicketRecord(**base)  # type: ignore[arg-type]


def test_clock_counts_seconds_from_local_midnight() -> None:
    """08:00 in Shanghai is 28,800 s into the horizon; 'tomorrow' follows the company zone."""
    assert CLOCK.seconds(local(8)) == 8 * H
    assert CLOCK.at(8 * H) == local(8)
    now = local(23.5)  # 23:30 on DAY in Shanghai is still DAY there (15:30 UTC)
    assert parse_day("tomorrow", TZ, now=now) == date(2026, 12, 2)
    assert parse_day("2026-05-04", TZ) == date(2026, 5, 4)


def test_plain_shift_with_lunch() -> None:
    """No absence: the shift as is, lunch as a break with latest *start* 13:00."""
    day = working_day(engineer(), CLOCK)
    assert day is not None
    assert (day.start, day.end) == (8 * H, 17 * H)
    assert day.breaks == (Break(12 * H, 13 * H, 1800),)


def test_absence_at_start_or_end_shortens_the_shift() -> None:
    """A doctor's visit 07:00–10:00 starts the day at 10:00; leave 15:00–18:00 ends it at 15."""
    day = working_day(engineer(absences=[(7, 10), (15, 18)]), CLOCK)
    assert day is not None
    assert (day.start, day.end) == (10 * H, 15 * H)
    assert day.absence_blocks == ()


def test_absence_in_the_middle_is_a_fixed_break_and_does_not_count_as_work() -> None:
    """09:30–10:30 away: a fixed break, and the maximum working time grows by an hour."""
    day = working_day(engineer(absences=[(9.5, 10.5)], max_work_minutes=480), CLOCK)
    assert day is not None
    assert Break(int(9.5 * H), int(9.5 * H), H) in day.breaks
    assert day.max_work_seconds == 9 * H
    assert day.lunch == Break(12 * H, 13 * H, 1800)


def test_long_absence_over_lunch_replaces_the_lunch_break() -> None:
    """Away 11:30–13:30 covers lunchtime: no separate lunch break."""
    day = working_day(engineer(absences=[(11.5, 13.5)]), CLOCK)
    assert day is not None
    assert day.lunch is None
    assert day.breaks == (Break(int(11.5 * H), int(11.5 * H), 2 * H),)


def test_short_absence_in_the_lunch_window_pushes_lunch_after_it() -> None:
    """Away 12:00–12:20 (shorter than lunch): lunch starts between 12:20 and 13:00."""
    day = working_day(engineer(absences=[(12, 12 + 1 / 3)]), CLOCK)
    assert day is not None
    assert day.lunch == Break(12 * H + 1200, 13 * H, 1800)


def test_absence_covering_the_shift_means_off() -> None:
    """A full-day absence: no technician."""
    assert working_day(engineer(absences=[(0, 24)]), CLOCK) is None
    assert technician_for(engineer(absences=[(7, 18)]), CLOCK) is None


def test_technician_keeps_places_territories_and_in_day_start() -> None:
    """Start/end places from the shift; in-day planning starts no earlier than 'now'."""
    t = technician_for(
        engineer(), CLOCK, territories=["North #1"], secondary=["South #2"], not_before=11 * H
    )
    assert t is not None
    assert t.id == "Ann #7"
    assert (t.start.lat, t.end_location.lat) == (31.2, 31.3)
    assert t.shift == TimeWindow(11 * H, 17 * H)
    assert t.territories == {"North #1"} and t.secondary_territories == {"South #2"}
    late = technician_for(engineer(), CLOCK, not_before=int(13.5 * H))
    assert late is not None and late.breaks == ()  # lunch's latest start has passed


def test_job_windows_are_clipped_to_the_day() -> None:
    """Windows are for the start of service; those on other days are dropped."""
    j = job_for(
        ticket(
            windows=((local(9), local(11)), (local(10, DAY.replace(day=2)), local(12))),
            sla_due_at=local(14),
        ),
        CLOCK,
        horizon_end=24 * H,
        territory="North #1",
    )
    assert j is not None
    assert j.windows == (TimeWindow(9 * H, 11 * H),)
    assert j.sla_due == 14 * H
    assert j.priority is Priority.HIGH
    assert j.duration == 45 * 60
    assert j.territory == "North #1"
    other_day = ticket(windows=((local(9, date(2026, 12, 3)), local(11, date(2026, 12, 3))),))
    assert job_for(other_day, CLOCK, horizon_end=24 * H) is None


def test_site_access_window_applies_when_the_ticket_has_none() -> None:
    """Access 08:00–12:00 and 45 minutes of work: start between 08:00 and 11:15."""
    j = job_for(ticket(access_start_min=480, access_end_min=720), CLOCK, horizon_end=24 * H)
    assert j is not None
    assert j.windows == (TimeWindow(8 * H, 11 * H + 15 * 60),)
    overdue = job_for(ticket(sla_due_at=local(-30)), CLOCK, horizon_end=24 * H)
    assert overdue is not None and overdue.sla_due == 0
