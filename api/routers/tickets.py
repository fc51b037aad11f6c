"""Tickets (work orders), their history and status transitions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session

from api.deps import (
    CurrentUser,
    IfMatchDep,
    Paging,
    SessionDep,
    SettingsDep,
    Staff,
    actor_of,
    etag,
    unit_of_work,
)
from api.listing import JSONBytes, order_by, page_json
from crm.errors import NotFound
from crm.models import Priority, Role, Site, Ticket, TicketStatus, User
from crm.schemas.common import Latitude, Longitude, Page
from crm.schemas.mobile import AttachmentPublic
from crm.schemas.tickets import (
    TicketCreate,
    TicketEventPublic,
    TicketPublic,
    TicketUpdate,
    TransitionRequest,
)
from crm.services import attachments as files
from crm.services import tickets as svc
from crm.services.tickets import CheckinPolicy

router = APIRouter(prefix="/tickets", tags=["tickets"])

_T: sa.Table = Ticket.__table__  # type: ignore[attr-defined]
_S: sa.Table = Site.__table__  # type: ignore[attr-defined]
_ONE = (
    sa.select(*_T.c, _S.c.territory_id)
    .join_from(_T, _S, _S.c.id == _T.c.site_id)
    .where(_T.c.id == sa.bindparam("id"))
)
SORTABLE = {
    name: _T.c[name]
    for name in ("id", "created_at", "sla_due_at", "planned_start", "priority", "status")
}


class Flag(StrEnum):
    checkin_far = "checkin_far"


def _ticket_answer(
    session: Session, ticket: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONBytes:
    """A ticket as TicketPublic JSON with its ETag (serialised once, in pydantic-core)."""
    body = svc.public_dicts(session, [ticket])[0]
    return JSONBytes(body, status, {"ETag": etag(ticket.version), **(headers or {})})


def load_visible(session: SessionDep, ticket_id: int, user: User) -> Ticket:
    """A ticket the user may see; another engineer's ticket does not exist for him."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or (user.role == Role.engineer and ticket.engineer_id != user.engineer_id):
        raise NotFound("ticket", ticket_id)
    return ticket


class TicketFilters(BaseModel):
    """The list's query parameters, validated as one model.

    One pydantic-core call instead of twenty-odd parameter validations in
    FastAPI's Python loop: that loop was a sixth of a list request's time.
    """

    status: list[TicketStatus] | None = None
    priority: list[Priority] | None = None
    engineer_id: int | None = None
    customer_id: int | None = None
    site_id: int | None = None
    territory_id: int | None = None
    flag: Flag | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None
    planned_from: AwareDatetime | None = None
    planned_to: AwareDatetime | None = None
    sla_before: AwareDatetime | None = None
    min_lat: Latitude | None = None
    min_lon: Longitude | None = None
    max_lat: Latitude | None = None
    max_lon: Longitude | None = None
    q: str | None = Field(default=None, description="Title contains.")
    sort: str | None = Field(default=None, examples=["-priority,sla_due_at"])
    limit: int = Field(default=50, ge=1, le=500, description="Page size.")
    offset: int = Field(default=0, ge=0, description="Rows to skip.")


@router.get("", response_model=Page[TicketPublic])
async def list_tickets(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[TicketFilters, Query()],
) -> JSONBytes:
    """Tickets, filtered, sorted and paged (engineers see only their own)."""
    # The hot list runs as Core statements on the session's connection: the
    # ORM's layers cost more than SQLite's work for a page of 50.
    f = filters
    where: list[Any] = []
    if user.role == Role.engineer:
        where.append(_T.c.engineer_id == user.engineer_id)
    if f.status:
        where.append(_T.c.status.in_(f.status))
    if f.priority:
        where.append(_T.c.priority.in_(f.priority))
    for column, value in (
        (_T.c.engineer_id, f.engineer_id),
        (_T.c.customer_id, f.customer_id),
        (_T.c.site_id, f.site_id),
    ):
        if value is not None:
            where.append(column == value)
    if f.flag is Flag.checkin_far:
        where.append(_T.c.checkin_far.is_(True))
    for column, lo, hi in (
        (_T.c.created_at, f.created_from, f.created_to),
        (_T.c.planned_start, f.planned_from, f.planned_to),
        (_T.c.sla_due_at, None, f.sla_before),
    ):
        if lo is not None:
            where.append(column >= lo)
        if hi is not None:
            where.append(column < hi)
    if f.q:
        where.append(_T.c.title.ilike(f"%{f.q}%"))
    box = (f.min_lat, f.min_lon, f.max_lat, f.max_lon)
    if f.territory_id is not None or any(v is not None for v in box):
        sites = sa.select(_S.c.id)
        if f.territory_id is not None:
            sites = sites.where(_S.c.territory_id == f.territory_id)
        for column, lo, hi in ((_S.c.lat, f.min_lat, f.max_lat), (_S.c.lon, f.min_lon, f.max_lon)):
            if lo is not None:
                sites = sites.where(column >= lo)
            if hi is not None:
                sites = sites.where(column <= hi)
        where.append(_T.c.site_id.in_(sites))
    conn = session.connection()
    # The count runs on the filters alone, from the index.
    total = conn.execute(sa.select(sa.func.count()).select_from(_T).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(*_T.c, _S.c.territory_id)
        .join_from(_T, _S, _S.c.id == _T.c.site_id)
        .where(*where)
        .order_by(*order_by(f.sort, SORTABLE, [_T.c.id]))
        .limit(f.limit)
        .offset(f.offset)
    ).all()
    return page_json(svc.public_dicts(session, rows), total, Paging(f.limit, f.offset))


@router.post("", response_model=TicketPublic, status_code=201)
async def create_ticket(data: TicketCreate, session: SessionDep, user: Staff) -> JSONBytes:
    """Open a ticket (status new)."""

    def work() -> JSONBytes:
        ticket = svc.create_ticket(session, data=data, actor=actor_of(user))
        session.commit()
        return _ticket_answer(session, ticket, 201, {"Location": f"/tickets/{ticket.id}"})

    return await unit_of_work(session, work)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(ticket_id: int, session: SessionDep, user: CurrentUser) -> JSONBytes:
    """One ticket, with its ETag (one Core row with its territory, as the list reads)."""
    row = session.connection().execute(_ONE, {"id": ticket_id}).first()
    if row is None or (user.role == Role.engineer and row.engineer_id != user.engineer_id):
        raise NotFound("ticket", ticket_id)
    return _ticket_answer(session, row)


@router.patch("/{ticket_id}", response_model=TicketPublic)
async def update_ticket(
    ticket_id: int,
    data: TicketUpdate,
    session: SessionDep,
    user: Staff,
    version: IfMatchDep,
) -> JSONBytes:
    """Edit a ticket's details (status changes go through /transitions); needs If-Match."""

    def work() -> JSONBytes:
        ticket = svc.update_ticket(
            session, ticket_id=ticket_id, data=data, expected_version=version, actor=actor_of(user)
        )
        session.commit()
        return _ticket_answer(session, ticket)

    return await unit_of_work(session, work)


@router.get("/{ticket_id}/events", response_model=list[TicketEventPublic])
def list_events(ticket_id: int, session: SessionDep, user: CurrentUser) -> list[TicketEventPublic]:
    """The ticket's history, oldest first."""
    load_visible(session, ticket_id, user)
    return [TicketEventPublic.model_validate(e) for e in svc.events(session, ticket_id)]


@router.get("/{ticket_id}/attachments", response_model=list[AttachmentPublic])
def list_attachments(
    ticket_id: int, session: SessionDep, user: CurrentUser
) -> list[AttachmentPublic]:
    """Photos and signatures the engineer uploaded: proof of the visit for the dispatcher."""
    load_visible(session, ticket_id, user)
    return [files.to_public(a) for a in files.for_ticket(session, ticket_id)]


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file as uploaded (JPEG, PNG or WebP)",
            "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
        }
    },
)
def get_attachment(
    ticket_id: int,
    attachment_id: int,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> FileResponse:
    """One photo or signature's bytes; immutable (named by its SHA-256), so cached long."""
    load_visible(session, ticket_id, user)
    found = files.for_ticket(session, ticket_id, [attachment_id])
    attachment = found[0] if found else None
    root = settings.var_dir.resolve()
    path = (root / attachment.path).resolve() if attachment else None
    if attachment is None or path is None or not path.is_relative_to(root) or not path.is_file():
        raise NotFound("attachment", attachment_id)
    return FileResponse(
        path,
        media_type=attachment.content_type,
        headers={
            "ETag": f'"{attachment.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{ticket_id}/transitions", response_model=TicketPublic)
async def transition(
    ticket_id: int,
    data: TransitionRequest,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: IfMatchDep,
) -> JSONBytes:
    """Move a ticket along its status machine; 409 lists the allowed moves."""

    def work() -> JSONBytes:
        ticket = svc.transition(
            session,
            ticket_id=ticket_id,
            request=data,
            actor=actor_of(user),
            expected_version=version,
            only_engineer_id=user.engineer_id if user.role == Role.engineer else None,
            checkin=CheckinPolicy(settings.checkin_radius_m, settings.checkin_accuracy_cap_m),
        )
        session.commit()
        return _ticket_answer(session, ticket)

    return await unit_of_work(session, work)
