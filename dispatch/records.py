"""Plain snapshots of the records planning needs, read in a handful of bulk queries.

ORM rows never leave this module: everything is copied into frozen dataclasses, which
pickle across process boundaries, cannot lazy-load behind a closed session and make the
problem builder testable without a database. Every loader issues one query per table
(never one per engineer or ticket), because the nightly batch reads thousands of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.models import (
    Absence,
    Engineer,
    EngineerSkill,
    EngineerTerritory,
    Shift,
    Site,
    Skill,
    Territory,
    TerritoryRole,
    Ticket,
    TicketSkill,
    TicketStatus,
    TicketWindow,
)

__all__ = [
    "EngineerRecord",
    "ShiftRecord",
    "TerritoryRecord",
    "TicketRecord",
    "load_engineers",
    "load_territories",
    "load_tickets",
]


@dataclass(frozen=True, slots=True)
class TerritoryRecord:
    """A territory: id, name and its stored GeoJSON fence (may be empty)."""

    id: int
    name: str
    geometry: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """The territory as the solver names it: readable in reasons, unique by id."""
        return f"{self.name} #{self.id}"


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    """One working day of an engineer (UTC datetimes; places already defaulted to home)."""

    day: date
    start_at: datetime
    end_at: datetime
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    break_earliest_at: datetime | None = None
    break_latest_at: datetime | None = None
    break_minutes: int = 0


@dataclass(frozen=True, slots=True)
class EngineerRecord:
    """An engineer with what planning needs: skills, territories, shift, absences, position."""

    id: int
    name: str
    home_lat: float
    home_lon: float
    skills: tuple[tuple[str, int], ...] = ()
    primary: frozenset[int] = frozenset()
    secondary: frozenset[int] = frozenset()
    shift: ShiftRecord | None = None
    absences: tuple[tuple[datetime, datetime], ...] = ()
    max_work_minutes: int | None = None
    last_lat: float | None = None
    last_lon: float | None = None
    last_seen_at: datetime | None = None

    @property
    def key(self) -> str:
        """The engineer as the solver names it (``"Name #id"``): reasons read naturally."""
        return f"{self.name} #{self.id}"

    @property
    def territories(self) -> frozenset[int]:
        """Primary and secondary territories together."""
        return self.primary | self.secondary

    @property
    def zoned(self) -> bool:
        """Whether the engineer belongs to any territory at all."""
        return bool(self.primary or self.secondary)


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket with its site, skills and windows (UTC datetimes)."""

    id: int
    title: str
    site_id: int
    lat: float
    lon: float
    duration_min: int
    priority: str
    status: str
    territory_id: int | None = None
    sla_due_at: datetime | None = None
    skills: tuple[tuple[str, int], ...] = ()
    windows: tuple[tuple[datetime, datetime], ...] = ()
    access_start_min: int | None = None
    access_end_min: int | None = None
    engineer_id: int | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    version: int = 1


def key_id(key: str) -> int:
    """The record id inside a solver key (``"Name #12"`` → 12; ``"12"`` → 12)."""
    return int(key.rsplit("#", 1)[-1])


def load_territories(session: Session, *, with_geometry: bool = True) -> dict[int, TerritoryRecord]:
    """Every territory, by id (fences only when asked: they are big to read and parse)."""
    if not with_geometry:
        names = session.exec(select(Territory.id, Territory.name)).all()
        return {int(i): TerritoryRecord(int(i), n) for i, n in names if i is not None}
    rows = session.exec(select(Territory.id, Territory.name, Territory.geometry)).all()
    return {int(i): TerritoryRecord(int(i), n, g or {}) for i, n, g in rows if i is not None}


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    # SQLite limits bound parameters per statement; chunks keep IN lists legal everywhere.
    for k in range(0, len(ids), size):
        yield ids[k : k + size]


def load_engineers(
    session: Session,
    day: date,
    *,
    engineer_ids: Collection[int] | None = None,
    with_shift_only: bool = True,
) -> list[EngineerRecord]:
    """Active engineers with their shift on ``day``, skills, territories and absences.

    Absences are those overlapping the shift (the builder decides what they do to it).
    With ``with_shift_only`` (the default) engineers without a shift that day are left out.
    """
    q = select(Engineer).where(col(Engineer.active).is_(True))
    if engineer_ids is not None:
        q = q.where(col(Engineer.id).in_(list(engineer_ids)))
    engineers = {e.id: e for e in session.exec(q.order_by(col(Engineer.id))).all()}
    if not engineers:
        return []
    ids = [i for i in engineers if i is not None]
    shifts: dict[int, Shift] = {}
    skills: dict[int, list[tuple[str, int]]] = defaultdict(list)
    primary: dict[int, set[int]] = defaultdict(set)
    secondary: dict[int, set[int]] = defaultdict(set)
    absences: dict[int, list[Absence]] = defaultdict(list)
    for chunk in _chunks(ids):
        for s in session.exec(
            select(Shift).where(Shift.day == day, col(Shift.engineer_id).in_(chunk))
        ):
            shifts[s.engineer_id] = s
        for eid, code, level in session.exec(
            select(EngineerSkill.engineer_id, Skill.code, EngineerSkill.level)
            .join(Skill, col(Skill.id) == EngineerSkill.skill_id)
            .where(col(EngineerSkill.engineer_id).in_(chunk))
        ):
            skills[eid].append((code, int(level)))
        for eid, tid, role in session.exec(
            select(
                EngineerTerritory.engineer_id,
                EngineerTerritory.territory_id,
                EngineerTerritory.role,
            ).where(col(EngineerTerritory.engineer_id).in_(chunk))
        ):
            (primary if role == TerritoryRole.primary else secondary)[eid].add(int(tid))
        shift_ids = [eid for eid in chunk if eid in shifts]
        if shift_ids:
            lo = min(shifts[e].start_at for e in shift_ids)
            hi = max(shifts[e].end_at for e in shift_ids)
            for a in session.exec(
                select(Absence).where(
                    col(Absence.engineer_id).in_(shift_ids),
                    col(Absence.end_at) > lo,
                    col(Absence.start_at) < hi,
                )
            ):
                absences[a.engineer_id].append(a)
    out: list[EngineerRecord] = []
    for eid, e in engineers.items():
        assert eid is not None
        s = shifts.get(eid)
        if s is None and with_shift_only:
            continue
        shift = None
        own_absences: tuple[tuple[datetime, datetime], ...] = ()
        if s is not None:
            shift = ShiftRecord(
                day=s.day,
                start_at=s.start_at,
                end_at=s.end_at,
                start_lat=s.start_lat if s.start_lat is not None else e.home_lat,
                start_lon=s.start_lon if s.start_lon is not None else e.home_lon,
                end_lat=s.end_lat if s.end_lat is not None else e.home_lat,
                end_lon=s.end_lon if s.end_lon is not None else e.home_lon,
                break_earliest_at=s.break_earliest_at,
                break_latest_at=s.break_latest_at,
                break_minutes=s.break_minutes or 0,
            )
            own_absences = tuple(
                sorted(
                    (a.start_at, a.end_at)
                    for a in absences.get(eid, [])
                    if a.end_at > s.start_at and a.start_at < s.end_at
                )
            )
        out.append(
            EngineerRecord(
                id=eid,
                name=e.name,
                home_lat=e.home_lat,
                home_lon=e.home_lon,
                skills=tuple(sorted(skills.get(eid, []))),
                primary=frozenset(primary.get(eid, ())),
                secondary=frozenset(secondary.get(eid, ())) - frozenset(primary.get(eid, ())),
                shift=shift,
                absences=own_absences,
                max_work_minutes=e.max_work_minutes,
                last_lat=e.last_lat,
                last_lon=e.last_lon,
                last_seen_at=e.last_seen_at,
            )
        )
    return out


def load_tickets(
    session: Session,
    *,
    ticket_ids: Collection[int] | None = None,
    statuses: Collection[TicketStatus] | None = None,
    engineer_ids: Collection[int] | None = None,
    territory_ids: Collection[int] | None = None,
) -> list[TicketRecord]:
    """Tickets (with site position, territory, skills, windows) matching every filter given."""
    q = select(
        Ticket.id,
        Ticket.title,
        Ticket.site_id,
        Site.lat,
        Site.lon,
        Ticket.duration_min,
        Ticket.priority,
        Ticket.status,
        Site.territory_id,
        Ticket.sla_due_at,
        Site.access_start_min,
        Site.access_end_min,
        Ticket.engineer_id,
        Ticket.planned_start,
        Ticket.planned_end,
        Ticket.version,
    ).join(Site, col(Site.id) == Ticket.site_id)
    if ticket_ids is not None:
        q = q.where(col(Ticket.id).in_(list(ticket_ids)))
    if statuses is not None:
        q = q.where(col(Ticket.status).in_([TicketStatus(s) for s in statuses]))
    if engineer_ids is not None:
        q = q.where(col(Ticket.engineer_id).in_(list(engineer_ids)))
    if territory_ids is not None:
        q = q.where(col(Site.territory_id).in_(list(territory_ids)))
    rows = session.exec(q.order_by(col(Ticket.id))).all()
    ids = [int(r[0]) for r in rows]
    skills: dict[int, list[tuple[str, int]]] = defaultdict(list)
    windows: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for chunk in _chunks(ids):
        for tid, code, level in session.exec(
            select(TicketSkill.ticket_id, Skill.code, TicketSkill.min_level)
            .join(Skill, col(Skill.id) == TicketSkill.skill_id)
            .where(col(TicketSkill.ticket_id).in_(chunk))
        ):
            skills[tid].append((code, int(level)))
        for tid, start, end in session.exec(
            select(TicketWindow.ticket_id, TicketWindow.start_at, TicketWindow.end_at)
            .where(col(TicketWindow.ticket_id).in_(chunk))
            .order_by(col(TicketWindow.start_at))
        ):
            windows[tid].append((start, end))
    out = []
    for r in rows:
        tid = int(r[0])
        out.append(
            TicketRecord(
                id=tid,
                title=r[1],
                site_id=int(r[2]),
                lat=float(r[3]),
                lon=float(r[4]),
                duration_min=int(r[5]),
                priority=str(getattr(r[6], "value", r[6])),
                status=str(getattr(r[7], "value", r[7])),
                territory_id=None if r[8] is None else int(r[8]),
                sla_due_at=r[9],
                access_start_min=r[10],
                access_end_min=r[11],
                engineer_id=r[12],
                planned_start=r[13],
                planned_end=r[14],
                version=int(r[15]),
                skills=tuple(sorted(skills.get(tid, []))),
                windows=tuple(windows.get(tid, [])),
            )
        )
    return out


def count_rows(session: Session, table: Any) -> int:
    """Rows in a table (used by reports and tests)."""
    return int(session.exec(select(sa.func.count()).select_from(table)).one())
