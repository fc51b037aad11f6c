"""Tickets (work orders), their history and status transitions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
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
from api.listing import JSONBytes, page_json
from crm.errors import NotFound
from crm.models import Role, Ticket, User
from crm.schemas.common import Page
from crm.schemas.mobile import AttachmentPublic
from crm.schemas.tickets import (
    TicketCreate,
    TicketEventPublic,
    TicketFilters,
    TicketPublic,
    TicketUpdate,
    TransitionRequest,
)
from crm.services import attachments as files
from crm.services import ticket_reads as reads
from crm.services import tickets as svc
from crm.services.tickets import CheckinPolicy

router = APIRouter(prefix="/tickets", tags=["tickets"])


def _ticket_answer(
    session: Session, ticket: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONBytes:
    """A ticket as TicketPublic JSON with its ETag (serialised once, in pydantic-core).

    An edit reads it before it commits: inside its transaction that is one more
    query, after the commit a whole new transaction. A creation reads it after,
    keeping its hold on the write lock short. (Both measured with
    bench/api_load.py; the differences are a few milliseconds of p95, near the
    run-to-run noise.)
    """
    body = svc.public_dicts(session, [ticket])[0]
    return JSONBytes(body, status, {"ETag": etag(ticket.version), **(headers or {})})


def load_visible(session: SessionDep, ticket_id: int, user: User) -> Ticket:
    """A ticket the user may see; another engineer's ticket does not exist for him."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or _hidden_from(user, ticket.engineer_id):
        raise NotFound("ticket", ticket_id)
    return ticket


def _hidden_from(user: User, engineer_id: int | None) -> bool:
    """Another engineer's ticket does not exist for an engineer."""
    return user.role == Role.engineer and engineer_id != user.engineer_id


@router.get("", response_model=Page[TicketPublic])
async def list_tickets(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[TicketFilters, Query()],
) -> JSONBytes:
    """Tickets, filtered, sorted and paged (engineers see only their own)."""
    mine = user.engineer_id if user.role == Role.engineer else None
    rows, total = reads.list_page(session, filters, only_engineer=mine)
    return page_json(rows, total, Paging(filters.limit, filters.offset))


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
    """One ticket, with its ETag."""
    found = reads.one(session, ticket_id)
    if found is None or _hidden_from(user, found["engineer_id"]):
        raise NotFound("ticket", ticket_id)
    return JSONBytes(found, headers={"ETag": etag(found["version"])})


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
        answer = _ticket_answer(session, ticket)
        session.commit()
        return answer

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
        answer = _ticket_answer(session, ticket)
        session.commit()
        return answer

    return await unit_of_work(session, work)
