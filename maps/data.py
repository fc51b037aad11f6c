"""What a map is drawn from: plain, frozen records with named coordinates.

``maps`` never sees an ORM row (ARCHITECTURE.md: ``maps`` imports only
``routing`` and ``geofence``). The API's query module turns records into these
views; tests and benchmarks build them by hand. Times are timezone-aware UTC,
as everywhere in the product; the page shows them in :attr:`MapData.tz`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from geofence import LatLon

__all__ = [
    "OPEN_STATUSES",
    "EngineerStatus",
    "EngineerView",
    "LeaderRow",
    "MapData",
    "MapLinks",
    "RouteView",
    "StopView",
    "TerritoryView",
    "TicketView",
    "UnassignedView",
]

#: Ticket statuses a dispatcher can still place on a route ("find engineer").
OPEN_STATUSES = frozenset({"new", "declined"})


class EngineerStatus(StrEnum):
    """What an engineer is doing on the shown day; picks the marker icon."""

    ON_SITE = "on_site"
    TRAVELLING = "travelling"
    PLANNED = "planned"
    """Has a route with stops on this day."""
    AVAILABLE = "available"
    """On shift, nothing planned yet."""
    OFF_SHIFT = "off_shift"


@dataclass(frozen=True, slots=True)
class TerritoryView:
    """A territory: its fence as a GeoJSON geometry (``[lon, lat]`` positions)."""

    id: int
    name: str
    colour: str
    geometry: Mapping[str, Any]
    priority: int = 0


@dataclass(frozen=True, slots=True)
class EngineerView:
    """An engineer at his last known position (or home when none is known)."""

    id: int
    name: str
    colour: str
    position: LatLon
    status: EngineerStatus = EngineerStatus.AVAILABLE
    position_is_home: bool = False
    last_seen_at: datetime | None = None
    shift_start: datetime | None = None
    shift_end: datetime | None = None
    break_minutes: int = 0
    skills: tuple[str, ...] = ()
    """Human-readable skills with levels, e.g. ``"hvac 3"``."""
    territories: tuple[str, ...] = ()

    @property
    def shift_seconds(self) -> int:
        """Paid working time on the day: the shift minus its break (0 when off)."""
        if self.shift_start is None or self.shift_end is None:
            return 0
        total = int((self.shift_end - self.shift_start).total_seconds())
        return max(0, total - self.break_minutes * 60)


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket at its site, with what a dispatcher reads in its popup."""

    id: int
    title: str
    customer: str
    position: LatLon
    priority: str = "normal"
    status: str = "new"
    address: str = ""
    territory_id: int | None = None
    territory: str | None = None
    windows: tuple[tuple[datetime, datetime], ...] = ()
    sla_due: datetime | None = None
    duration_min: int = 60
    engineer_id: int | None = None
    planned_start: datetime | None = None
    skills: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        """Whether it still waits for an engineer (so "find engineer" applies)."""
        return self.status in OPEN_STATUSES

    @property
    def outside_fences(self) -> bool:
        """Its site lies outside every territory: nobody is responsible for it."""
        return self.territory_id is None


@dataclass(frozen=True, slots=True)
class StopView:
    """A ticket on a route, with its planned times."""

    seq: int
    ticket_id: int
    arrival: datetime
    start: datetime
    end: datetime
    leg_m: int = 0
    wait_s: int = 0


@dataclass(frozen=True, slots=True)
class RouteView:
    """One engineer's planned day: start place, ordered stops, end place, totals."""

    engineer_id: int
    start: LatLon
    end: LatLon
    stops: tuple[StopView, ...]
    start_at: datetime | None = None
    end_at: datetime | None = None
    distance_m: int = 0
    drive_s: int = 0
    work_s: int = 0
    wait_s: int = 0
    break_start: datetime | None = None
    break_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class UnassignedView:
    """A ticket no route takes, with the reason code and a sentence for people."""

    ticket_id: int
    reason: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """One engineer's week: completed tickets and how many met their SLA."""

    engineer_id: int
    name: str
    completed: int
    on_time: int

    @property
    def on_time_rate(self) -> float:
        """Share of completed tickets finished in time (1.0 with nothing completed)."""
        return self.on_time / self.completed if self.completed else 1.0


@dataclass(frozen=True, slots=True)
class MapLinks:
    """Where the page's buttons send requests; the API decides, ``maps`` only links.

    Every path is same-origin: the page's requests never leave the server
    that served it.
    """

    data: str = "/map/data"
    candidates: str = "/dispatch/candidates"
    assign: str = "/dispatch/assign"
    reoptimize: str = "/dispatch/reoptimize"
    page: str = "/map"
    logout: str = "/map/logout"
    engineer_page: str = "/engineers/{id}/map"
    static: str = "/static"


@dataclass(frozen=True, slots=True)
class MapData:
    """Everything one map page shows for one day."""

    day: date
    tz: str = "UTC"
    territories: tuple[TerritoryView, ...] = ()
    engineers: tuple[EngineerView, ...] = ()
    tickets: tuple[TicketView, ...] = ()
    routes: tuple[RouteView, ...] = ()
    unassigned: tuple[UnassignedView, ...] = ()
    leaderboard: tuple[LeaderRow, ...] = ()
    plan_id: int | None = None
    plan_label: str = "no plan for this day"

    def engineer(self, engineer_id: int) -> EngineerView | None:
        """The engineer with this id, if shown (a scan: for one-off lookups)."""
        for e in self.engineers:
            if e.id == engineer_id:
                return e
        return None
