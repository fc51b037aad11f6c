"""Records → the solver's plain types (``routing.Technician``, ``routing.Job``).

Decisions the issue left open, made here (and repeated in ``docs/operations.md``):

* **Ticket windows** are windows for the *start* of service (an appointment "we arrive
  between 9 and 12"), clipped to the planned day; a ticket whose windows all lie on other
  days is not servable that day. A ticket without windows uses its site's daily access
  window (``Site.access_start_min``–``access_end_min``), read as "the work must be done
  inside it", so its latest start is the access end minus the duration.
* **SLA** is a soft deadline for the start of service (``Weights.sla_hour`` per hour
  late); an SLA already passed counts from the start of the day.
* **Absences** cut the shift: one covering the start or the end shortens it, one in the
  middle becomes a fixed break (no travel and no work during it; the engineer resumes
  from where he was) and does not count against the maximum working time. The lunch break
  is dropped when an absence of at least its length overlaps its window (the absence is the
  break) or when the absence leaves no room for it; a shorter absence pushes it after.
  A shift fully covered by absences leaves the engineer off that day.
* **Shift break**: ``break_latest_at`` is the latest *start* of the break (the form the
  shift API validates against the shift).
* **Territories**: a technician's primary and secondary territories are the ones the
  caller puts in scope; serving a secondary territory costs ``Weights.secondary_territory``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dispatch.clock import DayClock
from dispatch.records import EngineerRecord, TicketRecord
from routing import Break, Job, Location, Priority, Problem, Technician, TimeWindow, Weights

__all__ = ["WorkingDay", "day_problem", "job_for", "technician_for", "working_day"]


@dataclass(frozen=True, slots=True)
class WorkingDay:
    """An engineer's usable day in solver seconds, after absences and the clock."""

    start: int
    end: int
    breaks: tuple[Break, ...]
    max_work_seconds: int | None
    absence_blocks: tuple[tuple[int, int], ...] = ()
    lunch: Break | None = None


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def working_day(
    engineer: EngineerRecord, clock: DayClock, *, not_before: int | None = None
) -> WorkingDay | None:
    """The engineer's shift on ``clock.day`` minus absences, or ``None`` when he is off.

    ``not_before`` (seconds) starts the day no earlier than that moment: the in-day
    re-optimisation and real-time insertion plan only the rest of today.
    """
    shift = engineer.shift
    if shift is None:
        return None
    s = max(0, clock.seconds_up(shift.start_at))
    e = clock.seconds(shift.end_at)
    if not_before is not None:
        s = max(s, not_before)
    if e <= s:
        return None
    blocks = _merge(
        (max(clock.seconds(a), s), min(clock.seconds_up(b), e)) for a, b in engineer.absences
    )
    middle: list[tuple[int, int]] = []
    for a, b in blocks:
        if b <= s or a >= e:
            continue
        if a <= s:
            s = max(s, b)
        elif b >= e:
            e = min(e, a)
        else:
            middle.append((a, b))
    middle = [(a, b) for a, b in middle if s < a and b < e]
    if e <= s:
        return None

    lunch: Break | None = None
    if shift.break_minutes and shift.break_earliest_at and shift.break_latest_at:
        d = shift.break_minutes * 60
        le = max(clock.seconds(shift.break_earliest_at), s)
        ll = min(clock.seconds(shift.break_latest_at), e - d)
        covered = any(b - a >= d and a < ll + d and b > le for a, b in middle)
        if not covered:
            for a, b in middle:
                if a < ll + d and b > le:  # a short absence inside the lunch window
                    if max(le, b) <= ll:
                        le = max(le, b)
                    elif le + d <= a:
                        ll = min(ll, a - d)
                    else:
                        le = ll + 1  # no room: dropped below
            if le <= ll:
                lunch = Break(le, ll, d)

    fixed = [Break(a, a, b - a) for a, b in middle]
    breaks = tuple(sorted([*fixed, *([lunch] if lunch else [])], key=lambda b: b.earliest_start))
    max_work = None
    if engineer.max_work_minutes:
        max_work = engineer.max_work_minutes * 60 + sum(b - a for a, b in middle)
    return WorkingDay(
        start=s,
        end=e,
        breaks=breaks,
        max_work_seconds=max_work,
        absence_blocks=tuple(middle),
        lunch=lunch,
    )


def technician_for(
    engineer: EngineerRecord,
    clock: DayClock,
    *,
    territories: Iterable[str] = (),
    secondary: Iterable[str] = (),
    start: Location | None = None,
    not_before: int | None = None,
    cost_per_hour: float = 0.0,
) -> Technician | None:
    """The engineer as a technician for one day, or ``None`` when he does not work.

    ``start`` replaces the shift's start place (in-day: his current position);
    ``territories``/``secondary`` are solver territory keys in scope for this problem.
    """
    day = working_day(engineer, clock, not_before=not_before)
    if day is None or engineer.shift is None:
        return None
    sh = engineer.shift
    primary = frozenset(territories)
    return Technician(
        id=engineer.key,
        start=start or Location(lat=sh.start_lat, lon=sh.start_lon),
        end=Location(lat=sh.end_lat, lon=sh.end_lon),
        shift=TimeWindow(day.start, day.end),
        skills=dict(engineer.skills),
        breaks=day.breaks,
        max_work_seconds=day.max_work_seconds,
        cost_per_hour=cost_per_hour,
        territories=primary,
        secondary_territories=frozenset(secondary) - primary,
    )


def ticket_windows(
    ticket: TicketRecord, clock: DayClock, horizon_end: int
) -> tuple[TimeWindow, ...] | None:
    """Start-of-service windows on this day; ``()`` = any time; ``None`` = not this day."""
    duration = ticket.duration_min * 60
    if ticket.windows:
        spans = _merge(
            (max(0, clock.seconds_up(a)), min(horizon_end, clock.seconds(b)) + 1)
            for a, b in ticket.windows
        )
        out = tuple(TimeWindow(a, b - 1) for a, b in spans if b - 1 >= a)
        return out or None
    if ticket.access_start_min is not None and ticket.access_end_min is not None:
        lo = clock.local_minute(ticket.access_start_min)
        hi = clock.local_minute(ticket.access_end_min) - duration
        if hi < lo:
            return None
        return (TimeWindow(max(0, lo), max(0, hi)),)
    return ()


def job_for(
    ticket: TicketRecord,
    clock: DayClock,
    *,
    horizon_end: int,
    territory: str | None = None,
    pinned_to: str | None = None,
    locked_first: bool = False,
    preferred_technician: str | None = None,
    priority: Priority | None = None,
) -> Job | None:
    """The ticket as a job on ``clock.day``, or ``None`` when it cannot be served that day."""
    windows = ticket_windows(ticket, clock, horizon_end)
    if windows is None:
        return None
    sla = None if ticket.sla_due_at is None else max(0, clock.seconds(ticket.sla_due_at))
    return Job(
        id=str(ticket.id),
        location=Location(lat=ticket.lat, lon=ticket.lon),
        duration=ticket.duration_min * 60,
        skills=dict(ticket.skills),
        windows=windows,
        priority=priority or Priority(ticket.priority),
        sla_due=sla,
        territory=territory,
        pinned_to=pinned_to,
        locked_first=locked_first,
        preferred_technician=preferred_technician,
    )


def day_problem(
    engineers: Iterable[EngineerRecord],
    tickets: Iterable[TicketRecord],
    clock: DayClock,
    *,
    territory_keys: Mapping[int, str],
    weights: Weights | None = None,
) -> tuple[Problem, list[int]]:
    """Every engineer and ticket of a day in one problem, with all their territories.

    Returns the problem and the ids of tickets that cannot be served that day. Used where
    the whole day is looked at at once (the greedy baseline); the batch cuts it into parts.
    """
    engineers = list(engineers)
    horizon_end = max(
        [clock.length] + [clock.seconds(e.shift.end_at) for e in engineers if e.shift]
    )
    techs = []
    for e in engineers:
        t = technician_for(
            e,
            clock,
            territories=[territory_keys[i] for i in e.primary if i in territory_keys],
            secondary=[territory_keys[i] for i in e.secondary if i in territory_keys],
        )
        if t is not None:
            techs.append(t)
    jobs, skipped = [], []
    for tk in tickets:
        key = None if tk.territory_id is None else territory_keys.get(tk.territory_id)
        job = job_for(tk, clock, horizon_end=horizon_end, territory=key)
        if job is None:
            skipped.append(tk.id)
        else:
            jobs.append(job)
    return Problem(tuple(techs), tuple(jobs), weights or Weights()), skipped
