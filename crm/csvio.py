"""CSV import and export for customers, sites, engineers and tickets.

An import is all or nothing: every row is checked (types, then the same
business rules as the API, inside a savepoint so checking can go on after a
bad row), every problem is reported with its row number, and the transaction
commits only when there is none. A file with one bad row imports nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm.errors import DomainError
from crm.models import Customer, Engineer, Site, Ticket
from crm.schemas.customers import CustomerCreate, SiteCreate
from crm.schemas.engineers import EngineerCreate
from crm.schemas.tickets import TicketCreate
from crm.services import customers, engineers, tickets
from crm.services.common import SYSTEM, Actor
from crm.services.territories import FenceCache

KINDS = ("customers", "sites", "engineers", "tickets")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line number in the file, the header being line 1
    field: str
    message: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- cell parsers -------------------------------------------------------------
def _none_if_blank(value: str | None) -> str | None:
    return None if value is None or not value.strip() else value.strip()


def _pairs(text: str | None, key: str, value_key: str) -> list[dict[str, Any]]:
    """``hvac:3;electrical:2`` → ``[{code: hvac, level: 3}, ...]``."""
    out = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        code, _, level = part.partition(":")
        out.append({key: code.strip(), value_key: int(level) if level.strip() else 1})
    return out


def _windows(text: str | None) -> list[dict[str, str]]:
    """``start/end;start/end`` with ISO 8601 times."""
    out = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        start, sep, end = part.partition("/")
        if not sep:
            raise ValueError(f"window {part!r} is not start/end")
        out.append({"start": start.strip(), "end": end.strip()})
    return out


def _minutes(text: str | None) -> int | None:
    """``08:30`` → 510."""
    text = _none_if_blank(text)
    if text is None:
        return None
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def _hhmm(minutes: int | None) -> str:
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- per-kind row builders ------------------------------------------------------
def _customer(row: dict[str, str]) -> CustomerCreate:
    return CustomerCreate(
        name=row.get("name", ""),
        phone=_none_if_blank(row.get("phone")),
        licence_no=_none_if_blank(row.get("licence_no")),
        tier=_none_if_blank(row.get("tier")) or "B",
        notes=row.get("notes") or "",
    )


def _site(row: dict[str, str]) -> SiteCreate:
    return SiteCreate(
        customer_id=row.get("customer_id"),
        name=row.get("name") or "",
        address=row.get("address") or "",
        lat=_none_if_blank(row.get("lat")),
        lon=_none_if_blank(row.get("lon")),
        access_start_min=_minutes(row.get("access_start")),
        access_end_min=_minutes(row.get("access_end")),
        notes=row.get("notes") or "",
    )


def _engineer(row: dict[str, str]) -> EngineerCreate:
    active = (_none_if_blank(row.get("active")) or "true").lower()
    return EngineerCreate(
        name=row.get("name", ""),
        phone=_none_if_blank(row.get("phone")),
        home_lat=row.get("home_lat"),
        home_lon=row.get("home_lon"),
        active=active in ("1", "true", "yes", "y"),
        colour=_none_if_blank(row.get("colour")),
        max_work_minutes=_none_if_blank(row.get("max_work_minutes")),
        skills=_pairs(row.get("skills"), "code", "level"),
    )


def _ticket(row: dict[str, str]) -> TicketCreate:
    return TicketCreate(
        customer_id=row.get("customer_id"),
        site_id=row.get("site_id"),
        title=row.get("title", ""),
        description=row.get("description") or "",
        duration_min=row.get("duration_min"),
        priority=_none_if_blank(row.get("priority")) or "normal",
        required_skills=_pairs(row.get("required_skills"), "code", "min_level"),
        windows=_windows(row.get("windows")),
        sla_due_at=_none_if_blank(row.get("sla_due_at")),
    )


def _create(kind: str, session: Session, data: BaseModel, actor: Actor, fences: FenceCache) -> None:
    if kind == "customers":
        customers.create_customer(session, data=data)  # type: ignore[arg-type]
    elif kind == "sites":
        assert isinstance(data, SiteCreate)
        if data.lat is None or data.lon is None:
            raise DomainError("coordinates required (geocoding is disabled)")
        customers.create_site(session, data=data, lat=data.lat, lon=data.lon, fences=fences)
    elif kind == "engineers":
        engineers.create_engineer(session, data=data)  # type: ignore[arg-type]
    else:
        tickets.create_ticket(session, data=data, actor=actor)  # type: ignore[arg-type]


BUILDERS: dict[str, Callable[[dict[str, str]], BaseModel]] = {
    "customers": _customer,
    "sites": _site,
    "engineers": _engineer,
    "tickets": _ticket,
}
REQUIRED = {
    "customers": {"name"},
    "sites": {"customer_id", "lat", "lon"},
    "engineers": {"name", "home_lat", "home_lon"},
    "tickets": {"customer_id", "site_id", "title", "duration_min"},
}


def import_rows(
    session: Session,
    kind: str,
    content: bytes,
    *,
    actor: Actor = SYSTEM,
    after_create: Callable[[Session], None] | None = None,
) -> ImportReport:
    """Check every row, then create them all in one transaction or none.

    Commits the session when every row is good, rolls it back otherwise.
    """
    report = ImportReport(kind=kind)
    if kind not in BUILDERS:
        report.errors.append(RowError(0, "kind", f"unknown kind {kind!r}"))
        return report
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(RowError(1, "file", "the file is not UTF-8 text"))
        return report
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or [])
    missing = REQUIRED[kind] - header
    if missing:
        report.errors.append(
            RowError(1, ",".join(sorted(missing)), "missing column(s) in the header row")
        )
        return report
    fences = FenceCache()
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.errors.append(RowError(line, "file", f"more than {MAX_ROWS} rows"))
            break
        if None in row:
            report.errors.append(RowError(line, "row", "more cells than header columns"))
            continue
        try:
            data = BUILDERS[kind](row)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "row"
                report.errors.append(RowError(line, where, err["msg"]))
            continue
        except ValueError as exc:
            report.errors.append(RowError(line, "row", str(exc)))
            continue
        savepoint = session.begin_nested()
        try:
            _create(kind, session, data, actor, fences)
            savepoint.commit()
            report.created += 1
        except DomainError as exc:
            savepoint.rollback()
            errors = exc.extra.get("errors") or []
            fld = ".".join(str(p) for p in errors[0]["loc"][1:]) if errors else "row"
            report.errors.append(RowError(line, fld or "row", exc.detail))
    if report.errors:
        session.rollback()
        report.created = 0
        return report
    if after_create is not None:
        after_create(session)
    session.commit()
    return report


# --- export -----------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def export_rows(engine: Engine, kind: str) -> str:
    """CSV in the importer's columns, plus ``id`` first (ignored on import)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    with Session(engine) as session:
        for row in _export(session, kind):
            writer.writerow([_fmt(v) for v in row])
    return buf.getvalue()


def _export(session: Session, kind: str) -> Iterable[list[Any]]:
    if kind == "customers":
        yield ["id", "name", "phone", "licence_no", "tier", "notes"]
        for c in session.exec(select(Customer).order_by(col(Customer.id))):
            yield [c.id, c.name, c.phone, c.licence_no, c.tier, c.notes]
    elif kind == "sites":
        yield [
            "id",
            "customer_id",
            "name",
            "address",
            "lat",
            "lon",
            "access_start",
            "access_end",
            "notes",
            "territory_id",
        ]
        for s in session.exec(select(Site).order_by(col(Site.id))):
            yield [
                s.id,
                s.customer_id,
                s.name,
                s.address,
                s.lat,
                s.lon,
                _hhmm(s.access_start_min),
                _hhmm(s.access_end_min),
                s.notes,
                s.territory_id,
            ]
    elif kind == "engineers":
        yield [
            "id",
            "name",
            "phone",
            "home_lat",
            "home_lon",
            "active",
            "colour",
            "max_work_minutes",
            "skills",
        ]
        rows = session.exec(select(Engineer).order_by(col(Engineer.id))).all()
        skills = engineers.engineer_skills(session, [e.id for e in rows if e.id is not None])
        for e in rows:
            codes = ";".join(f"{s.code}:{s.level}" for s in skills.get(e.id or 0, []))
            yield [
                e.id,
                e.name,
                e.phone,
                e.home_lat,
                e.home_lon,
                str(e.active).lower(),
                e.colour,
                e.max_work_minutes,
                codes,
            ]
    elif kind == "tickets":
        yield [
            "id",
            "customer_id",
            "site_id",
            "title",
            "description",
            "duration_min",
            "priority",
            "required_skills",
            "windows",
            "sla_due_at",
            "status",
            "engineer_id",
        ]
        rows = session.exec(select(Ticket).order_by(col(Ticket.id))).all()
        for start in range(0, len(rows), 500):
            for t in tickets.to_public(session, rows[start : start + 500]):
                skills_txt = ";".join(f"{s.code}:{s.min_level}" for s in t.required_skills)
                windows_txt = ";".join(
                    f"{w.start.isoformat()}/{w.end.isoformat()}" for w in t.windows
                )
                yield [
                    t.id,
                    t.customer_id,
                    t.site_id,
                    t.title,
                    t.description,
                    t.duration_min,
                    t.priority,
                    skills_txt,
                    windows_txt,
                    t.sla_due_at,
                    t.status,
                    t.engineer_id,
                ]
    else:
        raise ValueError(f"unknown kind {kind!r}")
