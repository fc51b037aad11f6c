"""Paged, sorted lists with a total count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Response
from pydantic_core import to_json
from sqlmodel import Session, func, select

from api.deps import Paging
from crm.errors import InvalidInput
from crm.services.common import sort_keys


def order_by(sort: str | None, columns: Mapping[str, Any], default: list[Any]) -> list[Any]:
    """``sort=-priority,created_at`` → ORDER BY clauses, checked against a whitelist."""
    try:
        keys = sort_keys(sort, columns)
    except InvalidInput as exc:
        raise HTTPException(422, exc.detail) from exc
    if not keys:
        return default
    clauses = [columns[name].desc() if desc else columns[name].asc() for name, desc in keys]
    return [*clauses, *default]


def page(
    session: Session,
    stmt: Any,
    paging: Paging,
    ordering: list[Any],
    *,
    count_stmt: Any | None = None,
) -> tuple[list[Any], int]:
    """One page of ``stmt`` and the total; ``count_stmt`` counts instead when the page's
    query joins tables the count does not need."""
    counted = (count_stmt if count_stmt is not None else stmt).order_by(None).subquery()
    total = session.exec(select(func.count()).select_from(counted)).one()
    result = session.execute(stmt.order_by(*ordering).limit(paging.limit).offset(paging.offset))
    # One entity (select(Ticket)) gives objects; several columns give plain rows.
    rows = result.scalars().all() if len(stmt.column_descriptions) == 1 else result.all()
    return list(rows), int(total)


class JSONBytes(Response):
    """JSON serialised in pydantic-core (Rust), handed to the client as is.

    A route that returns one of these keeps its ``response_model`` for the
    OpenAPI schema, but FastAPI neither re-validates nor re-encodes the body:
    on the ticket list that was a third of a request's CPU. Producers build
    the payload in the response model's shape; tests check they agree.
    """

    media_type = "application/json"

    def __init__(self, payload: Any, status_code: int = 200, headers: dict[str, str] | None = None):
        super().__init__(to_json(payload), status_code=status_code, headers=headers)


def page_json(rows: list[dict[str, Any]], total: int, paging: Paging) -> JSONBytes:
    """A `Page` as JSON bytes (see JSONBytes)."""
    return JSONBytes({"data": rows, "count": total, "limit": paging.limit, "offset": paging.offset})
