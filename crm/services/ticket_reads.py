"""The hot ticket reads — the list and a ticket's answer — in plain SQL on the driver.

The ticket list is what every dispatcher screen polls. Built with SQLAlchemy it spent
more time in the library (statement building, compile-cache lookups, per-row result
processing) than SQLite spent answering: 2.6 ms of server CPU per page of 50, against
1.37 ms this way (bench/api_load.py, p95 82 → ~43 ms at 50 clients). So these queries
are written out here, with parameters (never interpolated values; ``sort`` is checked
against a whitelist), and run on the session's own driver connection — inside its
transaction — on SQLite and PostgreSQL alike. The answer is plain dicts in
TicketPublic's shape, for ``pydantic_core.to_json``; tests hold the bytes equal to the
model's JSON and the rows equal to the ORM's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from crm.coltypes import utc_from_db
from crm.schemas.tickets import TicketFilters, TicketPublic
from crm.services.common import sort_keys

ORDER = tuple(TicketPublic.model_fields)
DERIVED = ("required_skills", "windows", "territory_id")
STORED = tuple(f for f in ORDER if f not in DERIVED)
"""Ticket columns in the order of TicketPublic (the table's column names)."""
_DERIVED_AT = tuple(ORDER.index(f) for f in DERIVED)
assert list(_DERIVED_AT) == sorted(_DERIVED_AT)
_DATETIMES = frozenset({"sla_due_at", "planned_start", "planned_end", "created_at", "updated_at"})
_SELECT = ", ".join(f"ticket.{c}" for c in STORED)
SORTABLE = frozenset({"id", "created_at", "sla_due_at", "planned_start", "priority", "status"})


_TIME_AT = tuple(i for i, c in enumerate(STORED) if c in _DATETIMES)
_FLAG_AT = STORED.index("checkin_far")


class _Driver:
    """The session's driver connection and what differs between the two databases."""

    def __init__(self, session: Session) -> None:
        conn = session.connection()
        self.sqlite = conn.dialect.name == "sqlite"
        self._dbapi = conn.connection.dbapi_connection

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cur = self._dbapi.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql if self.sqlite else sql.replace("?", "%s"), params)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def time(self, value: datetime) -> Any:
        """A time parameter as the column stores it (SQLAlchemy's SQLite text format)."""
        utc = value.astimezone(UTC)
        return f"{utc.replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}" if self.sqlite else utc

    def ilike(self, column: str) -> str:
        return f"lower({column}) LIKE lower(?)" if self.sqlite else f"{column} ILIKE ?"


def _marks(n: int) -> str:
    return ",".join("?" * n)


def as_public(
    session: Session,
    stored: Sequence[Sequence[Any]],
    territories: Sequence[int | None] | None = None,
    driver: _Driver | None = None,
) -> list[dict[str, Any]]:
    """Tickets as TicketPublic-shaped dicts: ``stored`` holds each ticket's STORED values
    (Python types); ``territories`` its site's territory, looked up when not given.
    Skills, windows and territories are batch-loaded: three queries a page, not 3N."""
    if not stored:
        return []
    db = driver or _Driver(session)
    ids = [int(r[0]) for r in stored]
    skills: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    windows: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for tid, code, level in db.rows(
        "SELECT ticket_skill.ticket_id, skill.code, ticket_skill.min_level FROM ticket_skill "
        "JOIN skill ON skill.id = ticket_skill.skill_id "
        f"WHERE ticket_skill.ticket_id IN ({_marks(len(ids))}) ORDER BY skill.code",
        ids,
    ):
        skills[tid].append({"code": code, "min_level": level})
    for tid, start, end in db.rows(
        "SELECT ticket_id, start_at, end_at FROM ticket_window "
        f"WHERE ticket_id IN ({_marks(len(ids))}) ORDER BY start_at",
        ids,
    ):
        windows[tid].append({"start": utc_from_db(start), "end": utc_from_db(end)})
    if territories is None:
        at_site = STORED.index("site_id")
        sites = sorted({int(r[at_site]) for r in stored})
        by_site = dict(
            db.rows(f"SELECT id, territory_id FROM site WHERE id IN ({_marks(len(sites))})", sites)
        )
        territories = [by_site.get(r[at_site]) for r in stored]
    at_skills, at_windows, at_territory = _DERIVED_AT
    out = []
    for row, territory in zip(stored, territories, strict=True):
        values = list(row)
        # In ascending order of position, so each lands where TicketPublic has it.
        values.insert(at_skills, skills[row[0]])
        values.insert(at_windows, windows[row[0]])
        values.insert(at_territory, territory)
        out.append(dict(zip(ORDER, values, strict=True)))
    return out


def list_page(
    session: Session, f: TicketFilters, *, only_engineer: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """One page of tickets matching ``f`` (an engineer's own when ``only_engineer``) and
    how many match in all."""
    db = _Driver(session)
    where: list[str] = []
    params: list[Any] = []

    def cond(sql: str, *values: Any) -> None:
        where.append(sql)
        params.extend(values)

    if only_engineer is not None:
        cond("ticket.engineer_id = ?", only_engineer)
    for column, chosen in (("status", f.status), ("priority", f.priority)):
        if chosen:
            cond(f"ticket.{column} IN ({_marks(len(chosen))})", *(str(v) for v in chosen))
    for column, value in (
        ("engineer_id", f.engineer_id),
        ("customer_id", f.customer_id),
        ("site_id", f.site_id),
    ):
        if value is not None:
            cond(f"ticket.{column} = ?", value)
    if f.flag is not None:  # the one flag there is: checkin_far
        cond("ticket.checkin_far = ?", True)
    for column, lo, hi in (
        ("created_at", f.created_from, f.created_to),
        ("planned_start", f.planned_from, f.planned_to),
        ("sla_due_at", None, f.sla_before),
    ):
        if lo is not None:
            cond(f"ticket.{column} >= ?", db.time(lo))
        if hi is not None:
            cond(f"ticket.{column} < ?", db.time(hi))
    if f.q:
        cond(db.ilike("ticket.title"), f"%{f.q}%")
    box = (
        ("site.territory_id = ?", f.territory_id),
        ("site.lat >= ?", f.min_lat),
        ("site.lat <= ?", f.max_lat),
        ("site.lon >= ?", f.min_lon),
        ("site.lon <= ?", f.max_lon),
    )
    site_conds = [(sql, v) for sql, v in box if v is not None]
    if site_conds:
        cond(
            "ticket.site_id IN (SELECT site.id FROM site WHERE "
            + " AND ".join(sql for sql, _ in site_conds)
            + ")",
            *(v for _, v in site_conds),
        )
    filters = " WHERE " + " AND ".join(where) if where else ""
    (total,) = db.rows(f"SELECT count(*) FROM ticket{filters}", params)[0]
    rows = db.rows(
        f"SELECT {_SELECT}, site.territory_id FROM ticket "
        f"JOIN site ON site.id = ticket.site_id{filters} "
        f"ORDER BY {_order_by(f.sort)} LIMIT ? OFFSET ?",
        [*params, f.limit, f.offset],
    )
    stored = [_converted(r) for r in rows]
    return as_public(session, stored, [r[-1] for r in rows], db), int(total)


def one(session: Session, ticket_id: int) -> dict[str, Any] | None:
    """One ticket in TicketPublic's shape, or None."""
    db = _Driver(session)
    rows = db.rows(
        f"SELECT {_SELECT}, site.territory_id FROM ticket "
        "JOIN site ON site.id = ticket.site_id WHERE ticket.id = ?",
        [ticket_id],
    )
    if not rows:
        return None
    return as_public(session, [_converted(rows[0])], [rows[0][-1]], db)[0]


def _converted(row: Sequence[Any]) -> list[Any]:
    """A ticket row from the driver with Python values (its STORED columns only)."""
    values = list(row[: len(STORED)])
    for i in _TIME_AT:
        if values[i] is not None:
            values[i] = utc_from_db(values[i])
    values[_FLAG_AT] = bool(values[_FLAG_AT])  # SQLite says 0/1
    return values


def _order_by(sort: str | None) -> str:
    """``sort=-priority,created_at`` → ORDER BY clauses (see ``sort_keys``)."""
    keys = sort_keys(sort, SORTABLE)
    clauses = [f"ticket.{name} {'DESC' if desc else 'ASC'}" for name, desc in keys]
    return ", ".join([*clauses, "ticket.id ASC"])
