"""What a solve returns: routes of timed stops, and every unassigned job with its reason.

The shape follows VROOM's answer (routes, unassigned, summary; arrival, wait, start, end per
step) and PyVRP's self-explaining result (``is_feasible()``, ``summary()``), with a
machine-readable reason and a dispatcher-readable sentence for every job left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Progress", "Reason", "Route", "Solution", "Status", "Stop", "Unassigned"]


class Reason(StrEnum):
    """Why a job is not in any route (machine-readable; the message is for people)."""

    NO_ENGINEER_WITH_SKILL = "no_engineer_with_skill"
    """Nobody holds every required skill at the required level."""
    NO_ENGINEER_IN_TERRITORY = "no_engineer_in_territory"
    """Someone has the skills, but nobody with them covers the job's territory."""
    PINNED_CONFLICT = "pinned_conflict"
    """The pin (or lock) cannot be honoured by the pinned technician."""
    EXCEEDS_CAPACITY = "exceeds_capacity"
    """The job's load is more than any eligible technician can carry, or they take no jobs."""
    NO_SHIFT_COVERS_WINDOW = "no_shift_covers_window"
    """No eligible technician's shift overlaps a window long enough to do the work."""
    EXCEEDS_WORKING_TIME = "exceeds_working_time"
    """Travel there and back plus the work is longer than any eligible max working time."""
    WINDOW_UNREACHABLE = "window_unreachable"
    """Shifts overlap the window, but travel (or a break) makes it impossible even alone."""
    OVER_CAPACITY = "over_capacity"
    """Feasible on an empty day, but every eligible technician's planned day is full."""
    TOO_COSTLY = "too_costly"
    """It fits into a route, but serving it costs more than its drop penalty."""
    SEARCH_LIMIT = "search_limit"
    """It fits into a route profitably, but the search stopped before placing it."""
    NO_SOLUTION = "no_solution"
    """The search found no solution at all within its limits."""


class Status(StrEnum):
    """Outcome of the search."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    """A solution, local search finished (time or solution limit reached)."""
    FEASIBLE_PARTIAL = "feasible_partial"
    """A solution, but the limit struck before the first local optimum."""
    NO_SOLUTION = "no_solution"
    INFEASIBLE = "infeasible"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Stop:
    """A job on a route with its times (seconds from horizon start) and the leg to it."""

    job_id: str
    arrival: int
    wait: int
    start: int
    end: int
    leg_metres: int
    leg_seconds: int


@dataclass(frozen=True, slots=True)
class Route:
    """One technician's day: ordered stops, the break, and totals.

    ``start_time`` is when the technician leaves the start place and ``end_time`` when they
    reach the end place. ``breaks`` lists every placed break as ``(start, end)``;
    ``break_start``/``break_end`` repeat the first one. ``violations`` is empty for a
    feasible route (``evaluate_route`` fills it for a manual sequence).
    """

    technician_id: str
    stops: list[Stop]
    start_time: int
    end_time: int
    distance_m: int
    travel_s: int
    service_s: int
    wait_s: int
    load: int = 0
    breaks: tuple[tuple[int, int], ...] = ()
    end_leg_metres: int = 0
    end_leg_seconds: int = 0
    cost: float = 0.0
    violations: tuple[str, ...] = ()

    @property
    def break_start(self) -> int | None:
        """Start of the first break, if any."""
        return self.breaks[0][0] if self.breaks else None

    @property
    def break_end(self) -> int | None:
        """End of the first break, if any."""
        return self.breaks[0][1] if self.breaks else None

    @property
    def duration_s(self) -> int:
        """Time from leaving the start place to reaching the end place."""
        return self.end_time - self.start_time

    @property
    def job_ids(self) -> tuple[str, ...]:
        """The job ids in visiting order."""
        return tuple(s.job_id for s in self.stops)

    @property
    def feasible(self) -> bool:
        """Whether the route breaks no hard constraint."""
        return not self.violations


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A job left out, why (``reason``) and a sentence a dispatcher understands."""

    job_id: str
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report: a new best solution was found ``elapsed`` seconds into the solve."""

    elapsed: float
    objective: float
    solutions: int


@dataclass(frozen=True, slots=True)
class Solution:
    """The result of :func:`routing.solve`.

    ``routes`` holds one route per technician who got work (technicians with nothing to do are
    left out); ``unassigned`` every job not in a route, each with its reason. ``objective`` is
    in the money units of :class:`~routing.domain.Weights` and includes drop penalties.
    """

    routes: list[Route]
    unassigned: list[Unassigned]
    objective: float
    status: Status
    elapsed: float = 0.0
    solutions_found: int = 0
    details: dict[str, object] = field(default_factory=dict)

    @property
    def distance_m(self) -> int:
        """Total metres driven."""
        return sum(r.distance_m for r in self.routes)

    @property
    def travel_s(self) -> int:
        """Total seconds driven."""
        return sum(r.travel_s for r in self.routes)

    @property
    def service_s(self) -> int:
        """Total seconds of work on site."""
        return sum(r.service_s for r in self.routes)

    @property
    def wait_s(self) -> int:
        """Total seconds waiting for windows to open."""
        return sum(r.wait_s for r in self.routes)

    @property
    def assigned(self) -> int:
        """Number of jobs in routes."""
        return sum(len(r.stops) for r in self.routes)

    def is_feasible(self) -> bool:
        """Whether a solution exists and every route satisfies every hard constraint.

        Unassigned jobs do not make a solution infeasible: leaving a job out is a decision
        with a reason, not a violation.
        """
        return self.status in (Status.OPTIMAL, Status.FEASIBLE, Status.FEASIBLE_PARTIAL) and all(
            r.feasible for r in self.routes
        )

    def route_of(self, technician_id: str) -> Route | None:
        """The route of a technician, or ``None`` if they got no work."""
        for r in self.routes:
            if r.technician_id == technician_id:
                return r
        return None

    def unassigned_reason(self, job_id: str) -> Reason | None:
        """The reason a job was left out, or ``None`` if it is in a route."""
        for u in self.unassigned:
            if u.job_id == job_id:
                return u.reason
        return None

    def summary(self) -> str:
        """A few lines for logs and the CLI: status, objective, totals, reasons."""
        lines = [
            f"status: {self.status.value}  objective: {self.objective:,.2f}  "
            f"found {self.solutions_found} solutions in {self.elapsed:.1f} s",
            f"routes: {len(self.routes)}  jobs assigned: {self.assigned}  "
            f"unassigned: {len(self.unassigned)}",
            f"distance: {self.distance_m / 1000:,.1f} km  travel: {self.travel_s / 3600:.2f} h  "
            f"service: {self.service_s / 3600:.2f} h  wait: {self.wait_s / 3600:.2f} h",
        ]
        counts: dict[Reason, int] = {}
        for u in self.unassigned:
            counts[u.reason] = counts.get(u.reason, 0) + 1
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].value)):
            lines.append(f"  {n} × {reason.value}")
        if not self.is_feasible() and self.routes:
            bad = [r.technician_id for r in self.routes if not r.feasible]
            lines.append(f"infeasible routes: {', '.join(bad)}")
        return "\n".join(lines)
