"""Paged, sorted lists with a total count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, func, select

from api.deps import Paging


def order_by(sort: str | None, columns: Mapping[str, Any], default: list[Any]) -> list[Any]:
    """``sort=-priority,created_at`` → ORDER BY clauses, checked against a whitelist."""
    if not sort:
        return default
    clauses: list[ColumnElement[Any]] = []
    for part in sort.split(","):
        name = part.strip()
        desc = name.startswith("-")
        name = name.lstrip("-+")
        if name not in columns:
            raise HTTPException(
                422, f"cannot sort by {name!r}; choose from: {', '.join(sorted(columns))}"
            )
        col = columns[name]
        clauses.append(col.desc() if desc else col.asc())
    return [*clauses, *default]


def page(session: Session, stmt: Any, paging: Paging, ordering: list[Any]) -> tuple[list[Any], int]:
    total = session.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one()
    result = session.execute(stmt.order_by(*ordering).limit(paging.limit).offset(paging.offset))
    # One entity (select(Ticket)) gives objects; several columns give plain rows.
    rows = result.scalars().all() if len(stmt.column_descriptions) == 1 else result.all()
    return list(rows), int(total)


def page_counted(
    session: Session, stmt: Any, paging: Paging, ordering: list[Any]
) -> tuple[list[Any], int]:
    """``page`` in one query: ``count(*) OVER ()`` carries the total on every row.

    Only for column selects (plain rows). A page past the end has no row to
    carry the total, so that (rare) case falls back to a count query.
    """
    counted = stmt.add_columns(func.count().over().label("_total"))
    rows = session.execute(
        counted.order_by(*ordering).limit(paging.limit).offset(paging.offset)
    ).all()
    if rows:
        return list(rows), int(rows[0]._total)
    total = session.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one()
    return [], int(total)
