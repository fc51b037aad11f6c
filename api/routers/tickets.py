"""Tickets (work orders), their history and status transitions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import AwareDatetime
from sqlmodel import col, select

from api.deps import (
    CurrentUser,
    IfMatchDep,
    PagingDep,
    SessionDep,
    SettingsDep,
    Staff,
    actor_of,
    etag,
    set_etag,
)
from api.listing import JSONBytes, order_by, page, page_json
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

SORTABLE = {
    "id": Ticket.id,
    "created_at": Ticket.created_at,
    "sla_due_at": Ticket.sla_due_at,
    "planned_start": Ticket.planned_start,
    "priority": Ticket.priority,
    "status": Ticket.status,
}


class Flag(StrEnum):
    checkin_far = "checkin_far"


def load_visible(session: SessionDep, ticket_id: int, user: User) -> Ticket:
    """A ticket the user may see; another engineer's ticket does not exist for him."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or (user.role == Role.engineer and ticket.engineer_id != user.engineer_id):
        raise NotFound("ticket", ticket_id)
    return ticket


@router.get("", response_model=Page[TicketPublic])
async def list_tickets(
    session: SessionDep,
    user: CurrentUser,
    paging: PagingDep,
    status: Annotated[list[TicketStatus] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    engineer_id: int | None = None,
    customer_id: int | None = None,
    site_id: int | None = None,
    territory_id: int | None = None,
    flag: Flag | None = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    planned_from: AwareDatetime | None = None,
    planned_to: AwareDatetime | None = None,
    sla_before: AwareDatetime | None = None,
    min_lat: Latitude | None = None,
    min_lon: Longitude | None = None,
    max_lat: Latitude | None = None,
    max_lon: Longitude | None = None,
    q: Annotated[str | None, Query(description="Title contains.")] = None,
    sort: Annotated[str | None, Query(examples=["-priority,sla_due_at"])] = None,
) -> JSONBytes:
    """Tickets, filtered, sorted and paged (engineers see only their own)."""
    stmt = select(Ticket)
    if user.role == Role.engineer:
        stmt = stmt.where(Ticket.engineer_id == user.engineer_id)
    if status:
        stmt = stmt.where(col(Ticket.status).in_(status))
    if priority:
        stmt = stmt.where(col(Ticket.priority).in_(priority))
    for column, value in (
        (Ticket.engineer_id, engineer_id),
        (Ticket.customer_id, customer_id),
        (Ticket.site_id, site_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if flag is Flag.checkin_far:
        stmt = stmt.where(col(Ticket.checkin_far).is_(True))
    ranges: list[tuple[object, datetime | None, datetime | None]] = [
        (Ticket.created_at, created_from, created_to),
        (Ticket.planned_start, planned_from, planned_to),
    ]
    for column, lo, hi in ranges:
        if lo is not None:
            stmt = stmt.where(column >= lo)  # type: ignore[operator]
        if hi is not None:
            stmt = stmt.where(column < hi)  # type: ignore[operator]
    if sla_before is not None:
        stmt = stmt.where(col(Ticket.sla_due_at) < sla_before)
    if q:
        stmt = stmt.where(col(Ticket.title).ilike(f"%{q}%"))
    box = (min_lat, min_lon, max_lat, max_lon)
    if territory_id is not None or any(v is not None for v in box):
        sites = select(Site.id)
        if territory_id is not None:
            sites = sites.where(Site.territory_id == territory_id)
        if min_lat is not None:
            sites = sites.where(Site.lat >= min_lat)
        if max_lat is not None:
            sites = sites.where(Site.lat <= max_lat)
        if min_lon is not None:
            sites = sites.where(Site.lon >= min_lon)
        if max_lon is not None:
            sites = sites.where(Site.lon <= max_lon)
        stmt = stmt.where(col(Ticket.site_id).in_(sites))
    # The hot list: plain rows (no ORM objects) with the site's territory joined in;
    # the count runs on the filters alone, from the index.
    rows_stmt = stmt.join(Site, col(Site.id) == Ticket.site_id).with_only_columns(
        *Ticket.__table__.columns,  # type: ignore[attr-defined]
        col(Site.territory_id).label("territory_id"),
    )
    ordering = order_by(sort, SORTABLE, [Ticket.id])
    rows, total = page(session, rows_stmt, paging, ordering, count_stmt=stmt)
    return page_json(svc.public_dicts(session, rows), total, paging)


@router.post("", response_model=TicketPublic, status_code=201)
def create_ticket(
    data: TicketCreate, session: SessionDep, user: Staff, response: Response
) -> TicketPublic:
    """Open a ticket (status new)."""
    ticket = svc.create_ticket(session, data=data, actor=actor_of(user))
    session.commit()
    set_etag(response, ticket.version)
    response.headers["Location"] = f"/tickets/{ticket.id}"
    return svc.to_public(session, [ticket])[0]


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(ticket_id: int, session: SessionDep, user: CurrentUser) -> JSONBytes:
    """One ticket, with its ETag."""
    ticket = load_visible(session, ticket_id, user)
    return JSONBytes(svc.public_dicts(session, [ticket])[0], headers={"ETag": etag(ticket.version)})


@router.patch("/{ticket_id}", response_model=TicketPublic)
def update_ticket(
    ticket_id: int,
    data: TicketUpdate,
    session: SessionDep,
    user: Staff,
    version: IfMatchDep,
    response: Response,
) -> TicketPublic:
    """Edit a ticket's details (status changes go through /transitions); needs If-Match."""
    ticket = svc.update_ticket(
        session, ticket_id=ticket_id, data=data, expected_version=version, actor=actor_of(user)
    )
    session.commit()
    set_etag(response, ticket.version)
    return svc.to_public(session, [ticket])[0]


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
def transition(
    ticket_id: int,
    data: TransitionRequest,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: IfMatchDep,
    response: Response,
) -> TicketPublic:
    """Move a ticket along its status machine; 409 lists the allowed moves."""
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
    set_etag(response, ticket.version)
    return svc.to_public(session, [ticket])[0]
