"""Plain domain types of the solver: what a dispatcher knows, in integer seconds and metres.

Everything here is a frozen dataclass validated at construction, so a bad value fails where it
is written rather than deep inside the solver, and every object pickles (the dispatch layer runs
solves in worker processes). Times are integer seconds from the start of the planning horizon.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Break",
    "Job",
    "Location",
    "Priority",
    "Problem",
    "ProblemBuilder",
    "SkillLevels",
    "Technician",
    "TimeWindow",
    "Weights",
]

MIN_LEVEL = 1
MAX_LEVEL = 5


class Priority(StrEnum):
    """How much leaving a job unassigned hurts; lower priorities are dropped first."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent: the order in which jobs are worth keeping."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer number of seconds/units, got {value!r}")
    return value


def _require_finite(name: str, value: float, *, minimum: float | None = 0.0) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Location:
    """A place in WGS 84, with an optional row/column ``index`` into an explicit matrix.

    Parameters
    ----------
    lat, lon
        Latitude and longitude in degrees. Named, never a bare tuple, so nobody guesses the order.
    index
        Row of this place in an :class:`~routing.matrix.ExplicitMatrix`; benchmark instances
        and tests that bring their own matrix use it, geographic providers ignore it.
    """

    lat: float
    lon: float
    index: int | None = None

    def __post_init__(self) -> None:
        _require_finite("Location.lat", self.lat, minimum=None)
        _require_finite("Location.lon", self.lon, minimum=None)
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"Location.lat must be within [-90, 90], got {self.lat}")
        if not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"Location.lon must be within [-180, 180], got {self.lon}")
        if self.index is not None and (_require_int("Location.index", self.index) < 0):
            raise ValueError(f"Location.index must be >= 0, got {self.index}")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval ``[start, end]`` of integer seconds from the horizon start.

    For a job, the *start of service* must fall inside the window (the Solomon convention);
    for a shift, the technician leaves no earlier than ``start`` and is back by ``end``.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        _require_int("TimeWindow.start", self.start)
        _require_int("TimeWindow.end", self.end)
        if self.start < 0:
            raise ValueError(f"TimeWindow.start must be >= 0, got {self.start}")
        if self.end < self.start:
            raise ValueError(f"TimeWindow.end ({self.end}) is before its start ({self.start})")

    def contains(self, t: int) -> bool:
        """Whether ``t`` lies in the window, both ends included."""
        return self.start <= t <= self.end


@dataclass(frozen=True, slots=True)
class Break:
    """A break the solver places: it starts in ``[earliest_start, latest_start]``.

    A break never overlaps a job's service; it may be taken between two jobs (the travel is
    then split around it), before the first job or after the technician is back.
    """

    earliest_start: int
    latest_start: int
    duration: int

    def __post_init__(self) -> None:
        _require_int("Break.earliest_start", self.earliest_start)
        _require_int("Break.latest_start", self.latest_start)
        _require_int("Break.duration", self.duration)
        if self.earliest_start < 0:
            raise ValueError(f"Break.earliest_start must be >= 0, got {self.earliest_start}")
        if self.latest_start < self.earliest_start:
            raise ValueError(
                f"Break.latest_start ({self.latest_start}) is before its earliest start "
                f"({self.earliest_start})"
            )
        if self.duration < 0:
            raise ValueError(f"Break.duration must be >= 0, got {self.duration}")


class SkillLevels(Mapping[str, int]):
    """An immutable, hashable ``skill code → level (1–5)`` mapping.

    Frozen dataclasses hash their fields; a plain ``dict`` would make ``Job`` unhashable and
    could be mutated behind the solver's back, so skills are copied into this.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> None:
        data = dict(items.items() if isinstance(items, Mapping) else items)
        for code, level in data.items():
            if not isinstance(code, str) or not code:
                raise ValueError(f"skill codes must be non-empty strings, got {code!r}")
            if isinstance(level, bool) or not isinstance(level, int):
                raise ValueError(f"skill {code!r}: level must be an integer, got {level!r}")
            if not MIN_LEVEL <= level <= MAX_LEVEL:
                raise ValueError(
                    f"skill {code!r}: level must be within {MIN_LEVEL}–{MAX_LEVEL}, got {level}"
                )
        self._items: tuple[tuple[str, int], ...] = tuple(sorted(data.items()))

    def __getitem__(self, key: str) -> int:
        for code, level in self._items:
            if code == key:
                return level
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (code for code, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"SkillLevels({dict(self._items)!r})"

    def __reduce__(self) -> tuple[type[SkillLevels], tuple[tuple[tuple[str, int], ...]]]:
        return (SkillLevels, (self._items,))

    def covers(self, required: Mapping[str, int]) -> bool:
        """Whether every required skill is held at or above its minimum level."""
        return all(self.get(code, 0) >= level for code, level in required.items())


def _skills(value: Mapping[str, int] | SkillLevels) -> SkillLevels:
    return value if isinstance(value, SkillLevels) else SkillLevels(value)


@dataclass(frozen=True, slots=True)
class Technician:
    """An engineer as the solver sees it: one shift, its places, skills and costs.

    Parameters
    ----------
    id
        Unique identifier, echoed in routes.
    skills
        Skill code → level 1–5. A job is allowed only if every skill it needs is held at
        its minimum level or above.
    start, end
        Where the shift begins and ends (home or depot; they may differ). ``end`` defaults
        to ``start``.
    shift
        Leave ``start`` no earlier than ``shift.start``, be at ``end`` by ``shift.end``.
    breaks
        Breaks placed by the solver (e.g. lunch).
    max_work_seconds
        Upper bound on the time from leaving ``start`` to reaching ``end``, breaks and waiting
        included.
    max_jobs
        Upper bound on the number of jobs in the route.
    cost_per_km
        Money per km driven, on top of ``Weights.distance_km`` (vehicle running costs).
    cost_per_hour
        Money per hour of paid time, leaving ``start`` to reaching ``end`` (wages): it also
        makes the solver avoid idle waiting.
    territories, secondary_territories
        A job with a territory goes only to a technician listing it here; serving it from a
        secondary territory costs ``Weights.secondary_territory`` extra. A technician with both
        sets empty may serve every territory.
    capacity
        Upper bound on the sum of ``Job.load`` in the route; ``None`` is unlimited.
    """

    id: str
    start: Location
    shift: TimeWindow
    skills: Mapping[str, int] = field(default_factory=SkillLevels)
    end: Location | None = None
    breaks: tuple[Break, ...] = ()
    max_work_seconds: int | None = None
    max_jobs: int | None = None
    cost_per_km: float = 0.0
    cost_per_hour: float = 0.0
    territories: frozenset[str] = frozenset()
    secondary_territories: frozenset[str] = frozenset()
    capacity: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Technician.id must be a non-empty string, got {self.id!r}")
        where = f"technician {self.id!r}"
        object.__setattr__(self, "skills", _skills(self.skills))
        if self.end is None:
            object.__setattr__(self, "end", self.start)
        if not isinstance(self.start, Location) or not isinstance(self.end, Location):
            raise ValueError(f"{where}: start and end must be Location objects")
        if not isinstance(self.shift, TimeWindow):
            raise ValueError(f"{where}: shift must be a TimeWindow")
        object.__setattr__(self, "breaks", tuple(self.breaks))
        for b in self.breaks:
            if not isinstance(b, Break):
                raise ValueError(f"{where}: breaks must be Break objects, got {b!r}")
        if (
            self.max_work_seconds is not None
            and _require_int(f"{where}: max_work_seconds", self.max_work_seconds) <= 0
        ):
            raise ValueError(f"{where}: max_work_seconds must be > 0")
        if self.max_jobs is not None and _require_int(f"{where}: max_jobs", self.max_jobs) < 0:
            raise ValueError(f"{where}: max_jobs must be >= 0")
        if self.capacity is not None and _require_int(f"{where}: capacity", self.capacity) < 0:
            raise ValueError(f"{where}: capacity must be >= 0")
        _require_finite(f"{where}: cost_per_km", self.cost_per_km)
        _require_finite(f"{where}: cost_per_hour", self.cost_per_hour)
        object.__setattr__(self, "territories", frozenset(self.territories))
        object.__setattr__(self, "secondary_territories", frozenset(self.secondary_territories))
        overlap = self.territories & self.secondary_territories
        if overlap:
            raise ValueError(
                f"{where}: territories {sorted(overlap)} are both primary and secondary"
            )

    @property
    def end_location(self) -> Location:
        """The end place (``end`` after defaulting), typed as a plain ``Location``."""
        assert self.end is not None
        return self.end

    def serves_territory(self, territory: str | None) -> bool:
        """Whether this technician may take a job in ``territory`` (primary or secondary)."""
        if territory is None or not (self.territories or self.secondary_territories):
            return True
        return territory in self.territories or territory in self.secondary_territories

    def is_secondary_for(self, territory: str | None) -> bool:
        """Whether a job in ``territory`` would be served from a secondary territory."""
        return territory is not None and territory in self.secondary_territories


@dataclass(frozen=True, slots=True)
class Job:
    """A ticket as the solver sees it.

    Parameters
    ----------
    id
        Unique identifier.
    location
        Where the work happens.
    duration
        Service time in seconds.
    skills
        Skill code → minimum level.
    windows
        Hard windows for the *start* of service; one of them is used. Empty means any time
        in a technician's shift.
    preferred_window
        Soft window (the customer's wish): starting after its end costs
        ``lateness_penalty`` per hour. Only lateness is penalised: being early is avoided for
        free by waiting.
    lateness_penalty
        Money per hour late past the end of ``preferred_window``.
    priority
        Drop order: ``low`` is dropped first; ``urgent`` is never dropped while a feasible
        assignment exists.
    sla_due
        Soft deadline for the start of service; each hour later costs ``Weights.sla_hour``.
    territory
        The territory the job lies in (``None``: anyone may go).
    pinned_to
        Technician id that must do the job.
    locked_first
        Work already started: it must be ``pinned_to``'s first stop.
    preferred_technician
        Soft wish (customer relationship); another technician costs
        ``Weights.preferred_technician``.
    load
        Units of the technician's capacity used (parts, volume).
    """

    id: str
    location: Location
    duration: int = 0
    skills: Mapping[str, int] = field(default_factory=SkillLevels)
    windows: tuple[TimeWindow, ...] = ()
    preferred_window: TimeWindow | None = None
    lateness_penalty: float = 0.0
    priority: Priority = Priority.NORMAL
    sla_due: int | None = None
    territory: str | None = None
    pinned_to: str | None = None
    locked_first: bool = False
    preferred_technician: str | None = None
    load: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Job.id must be a non-empty string, got {self.id!r}")
        where = f"job {self.id!r}"
        if not isinstance(self.location, Location):
            raise ValueError(f"{where}: location must be a Location")
        if _require_int(f"{where}: duration", self.duration) < 0:
            raise ValueError(f"{where}: duration must be >= 0")
        object.__setattr__(self, "skills", _skills(self.skills))
        windows = tuple(sorted(self.windows, key=lambda w: (w.start, w.end)))
        for w in windows:
            if not isinstance(w, TimeWindow):
                raise ValueError(f"{where}: windows must be TimeWindow objects, got {w!r}")
        for a, b in itertools.pairwise(windows):
            if b.start <= a.end:
                raise ValueError(
                    f"{where}: time windows [{a.start}, {a.end}] and [{b.start}, {b.end}] "
                    "overlap; merge them"
                )
        object.__setattr__(self, "windows", windows)
        if self.preferred_window is not None and not isinstance(self.preferred_window, TimeWindow):
            raise ValueError(f"{where}: preferred_window must be a TimeWindow")
        _require_finite(f"{where}: lateness_penalty", self.lateness_penalty)
        try:
            object.__setattr__(self, "priority", Priority(self.priority))
        except ValueError:
            raise ValueError(
                f"{where}: priority must be one of {[p.value for p in Priority]}, "
                f"got {self.priority!r}"
            ) from None
        if self.sla_due is not None and _require_int(f"{where}: sla_due", self.sla_due) < 0:
            raise ValueError(f"{where}: sla_due must be >= 0")
        if self.locked_first and self.pinned_to is None:
            raise ValueError(f"{where}: locked_first needs pinned_to (whose first stop is it?)")
        if _require_int(f"{where}: load", self.load) < 0:
            raise ValueError(f"{where}: load must be >= 0")


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective weights, in money units (the objective is reported in the same unit).

    Parameters
    ----------
    travel_hour
        Cost of one hour of driving, every technician (fuel-independent time cost).
    distance_km
        Cost of one km driven, every technician (added to ``Technician.cost_per_km``).
    sla_hour
        Cost per hour a job starts after its ``sla_due``.
    drop_low, drop_normal, drop_high
        Cost of leaving a job of that priority unassigned. They must be increasing so that
        lower priorities are dropped first. Urgent jobs get a penalty computed per problem
        that exceeds every other possible cost, so an urgent job is only dropped when no
        feasible assignment is found.
    balance_hour
        Cost per hour of the busiest technician's working time (travel plus service). It
        spreads work across technicians; 0 switches it off.
    secondary_territory
        Extra cost when a job is served from a technician's secondary territory.
    preferred_technician
        Cost when a job with a preferred technician is served by someone else.
    """

    travel_hour: float = 30.0
    distance_km: float = 0.3
    sla_hour: float = 100.0
    drop_low: float = 1_000.0
    drop_normal: float = 5_000.0
    drop_high: float = 25_000.0
    balance_hour: float = 0.0
    secondary_territory: float = 20.0
    preferred_technician: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "travel_hour",
            "distance_km",
            "sla_hour",
            "drop_low",
            "drop_normal",
            "drop_high",
            "balance_hour",
            "secondary_territory",
            "preferred_technician",
        ):
            _require_finite(f"Weights.{name}", getattr(self, name))
        if not self.drop_low < self.drop_normal < self.drop_high:
            raise ValueError(
                "Weights: drop penalties must increase low < normal < high so that lower "
                f"priorities are dropped first (got {self.drop_low}, {self.drop_normal}, "
                f"{self.drop_high})"
            )

    def drop_penalty(self, priority: Priority) -> float | None:
        """The configured penalty, or ``None`` for urgent (computed to dominate per problem)."""
        return {
            Priority.LOW: self.drop_low,
            Priority.NORMAL: self.drop_normal,
            Priority.HIGH: self.drop_high,
        }.get(priority)


@dataclass(frozen=True, slots=True)
class Problem:
    """A validated, immutable routing problem: technicians, jobs and objective weights.

    Identifiers must be unique. References to technicians that do not exist (a pin, a
    preferred technician) are *not* errors: the dispatch layer may pin a ticket to an engineer
    who is off today, and the job then comes back unassigned with reason ``pinned_conflict``.
    """

    technicians: tuple[Technician, ...]
    jobs: tuple[Job, ...]
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self) -> None:
        object.__setattr__(self, "technicians", tuple(self.technicians))
        object.__setattr__(self, "jobs", tuple(self.jobs))
        if not isinstance(self.weights, Weights):
            raise ValueError("Problem.weights must be a Weights object")
        seen: set[str] = set()
        for t in self.technicians:
            if not isinstance(t, Technician):
                raise ValueError(f"Problem.technicians must hold Technician objects, got {t!r}")
            if t.id in seen:
                raise ValueError(f"duplicate technician id {t.id!r}")
            seen.add(t.id)
        seen = set()
        for j in self.jobs:
            if not isinstance(j, Job):
                raise ValueError(f"Problem.jobs must hold Job objects, got {j!r}")
            if j.id in seen:
                raise ValueError(f"duplicate job id {j.id!r}")
            seen.add(j.id)

    @property
    def locations(self) -> tuple[Location, ...]:
        """Distinct places in a fixed order: jobs, then technician starts, then ends.

        A :class:`~routing.matrix.Matrices` passed straight to ``solve`` must be over exactly
        this sequence.
        """
        out: dict[Location, None] = {}
        for j in self.jobs:
            out.setdefault(j.location)
        for t in self.technicians:
            out.setdefault(t.start)
        for t in self.technicians:
            out.setdefault(t.end_location)
        return tuple(out)

    def technician(self, technician_id: str) -> Technician:
        """The technician with this id (``KeyError`` if absent)."""
        for t in self.technicians:
            if t.id == technician_id:
                return t
        raise KeyError(technician_id)

    def job(self, job_id: str) -> Job:
        """The job with this id (``KeyError`` if absent)."""
        for j in self.jobs:
            if j.id == job_id:
                return j
        raise KeyError(job_id)


class ProblemBuilder:
    """Mutable builder that assembles a :class:`Problem` step by step (PyVRP's ``Model``).

    Examples
    --------
    >>> b = ProblemBuilder()
    >>> home = Location(lat=51.5, lon=-0.1)
    >>> _ = b.add_technician(Technician(id="t1", start=home, shift=TimeWindow(0, 28_800)))
    >>> _ = b.add_job(Job(id="j1", location=Location(lat=51.51, lon=-0.12), duration=1_800))
    >>> problem = b.build()
    """

    def __init__(self, weights: Weights | None = None) -> None:
        self.technicians: list[Technician] = []
        self.jobs: list[Job] = []
        self.weights = weights or Weights()

    def add_technician(self, technician: Technician) -> Technician:
        """Append a technician and return it."""
        self.technicians.append(technician)
        return technician

    def add_job(self, job: Job) -> Job:
        """Append a job and return it."""
        self.jobs.append(job)
        return job

    def build(self) -> Problem:
        """Validate and freeze the collected data into a :class:`Problem`."""
        return Problem(tuple(self.technicians), tuple(self.jobs), self.weights)
