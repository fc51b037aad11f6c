"""Tickets: creation, edits, the status machine and the event trail."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from geopy.distance import geodesic
from sqlmodel import Session, col, delete, select

from crm.coltypes import utcnow
from crm.errors import IllegalTransition, InvalidInput, NotFound, PreconditionFailed
from crm.models import (
    Customer,
    Engineer,
    Site,
    Ticket,
    TicketEvent,
    TicketSkill,
    TicketStatus,
    TicketWindow,
)
from crm.schemas.common import Window
from crm.schemas.tickets import (
    RequiredSkill,
    TicketCreate,
    TicketPublic,
    TicketUpdate,
    TransitionRequest,
)
from crm.services import ticket_reads as reads
from crm.services.common import Actor, apply_changes, flush_versioned, get_or_404, require_version
from crm.services.engineers import skill_ids_by_code
from crm.status import allowed_from

S = TicketStatus


@dataclass(frozen=True)
class CheckinPolicy:
    """How far from the site a GPS check-in may be before a dispatcher looks.

    The reported accuracy widens the radius (a phone indoors reports 50-100 m)
    but only up to a cap, so "accuracy 5 km" cannot launder a fake check-in.
    """

    radius_m: float = 200.0
    accuracy_cap_m: float = 300.0

    def threshold(self, accuracy_m: float | None) -> float:
        return self.radius_m + min(accuracy_m or 0.0, self.accuracy_cap_m)


CHECKIN_STATUSES = frozenset({S.on_site, S.completed})


def record_event(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    kind: str,
    from_status: str | None = None,
    to_status: str | None = None,
    payload: dict[str, Any] | None = None,
    lat: float | None = None,
    lon: float | None = None,
    accuracy_m: float | None = None,
    distance_m: float | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id or 0,
        actor=actor.name,
        actor_user_id=actor.user_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        payload=payload or {},
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        distance_m=distance_m,
    )
    session.add(event)
    return event


def _check_site(session: Session, customer_id: int, site_id: int) -> None:
    # One indexed read, not an ORM load: it is on every ticket's creation.
    owner = session.execute(_SITE_OWNER, {"id": site_id}).scalar()
    if owner == customer_id:
        return  # the site's customer exists (foreign key)
    get_or_404(session, Customer, customer_id)  # name the right fault
    if owner is None:
        raise NotFound("site", site_id)
    raise InvalidInput(
        f"site {site_id} belongs to customer {owner}, not {customer_id}",
        [{"loc": ["body", "site_id"], "msg": "site of another customer"}],
    )


_SITE_OWNER = sa.select(Site.__table__.c.customer_id).where(  # type: ignore[attr-defined]
    Site.__table__.c.id == sa.bindparam("id")  # type: ignore[attr-defined]
)


def _set_skills(
    session: Session, ticket_id: int, skills: list[RequiredSkill], *, new: bool = False
) -> None:
    codes = [s.code for s in skills]
    if len(codes) != len(set(codes)):
        raise InvalidInput(
            "a required skill is listed twice",
            [{"loc": ["body", "required_skills"], "msg": "duplicate skill"}],
        )
    ids = skill_ids_by_code(session, codes, "required_skills")
    if not new:
        session.exec(delete(TicketSkill).where(col(TicketSkill.ticket_id) == ticket_id))
    for s in skills:
        session.add(TicketSkill(ticket_id=ticket_id, skill_id=ids[s.code], min_level=s.min_level))


def _set_windows(
    session: Session, ticket_id: int, windows: list[Window], *, new: bool = False
) -> None:
    ordered = sorted(windows, key=lambda w: w.start)
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise InvalidInput(
                "time windows overlap; merge them into one",
                [{"loc": ["body", "windows"], "msg": "overlapping windows"}],
            )
    if not new:
        session.exec(delete(TicketWindow).where(col(TicketWindow.ticket_id) == ticket_id))
    for w in ordered:
        session.add(TicketWindow(ticket_id=ticket_id, start_at=w.start, end_at=w.end))


def create_ticket(session: Session, *, data: TicketCreate, actor: Actor) -> Ticket:
    _check_site(session, data.customer_id, data.site_id)
    ticket = Ticket(**data.model_dump(exclude={"required_skills", "windows"}))
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    _set_skills(session, ticket.id, data.required_skills, new=True)
    _set_windows(session, ticket.id, data.windows, new=True)
    record_event(
        session,
        ticket,
        actor=actor,
        kind="created",
        to_status=S.new,
        payload={"priority": ticket.priority, "title": ticket.title},
    )
    session.flush()
    return ticket


def update_ticket(
    session: Session,
    *,
    ticket_id: int,
    data: TicketUpdate,
    expected_version: int | None,
    actor: Actor,
) -> Ticket | SimpleNamespace:
    changes = data.model_dump(exclude_unset=True)
    if not changes.keys() & {"required_skills", "windows", "site_id"}:
        return _update_fields(session, ticket_id, changes, expected_version, actor)
    ticket = get_or_404(session, Ticket, ticket_id)
    _check_editable(ticket, changes, expected_version)
    if "site_id" in changes:
        _check_site(session, ticket.customer_id, changes["site_id"])
    skills = changes.pop("required_skills", None)
    windows = changes.pop("windows", None)
    if skills is not None:
        _set_skills(session, ticket_id, data.required_skills or [])
    if windows is not None:
        _set_windows(session, ticket_id, data.windows or [])
    before = {k: getattr(ticket, k) for k in changes}
    changed = apply_changes(ticket, changes)
    if not changed and (skills is not None or windows is not None):
        ticket.updated_at = utcnow()
    payload = {
        k: [_jsonable(before[k]), _jsonable(getattr(ticket, k))]
        for k in changes
        if before[k] != getattr(ticket, k)
    }
    if skills is not None:
        payload["required_skills"] = skills
    if windows is not None:
        payload["windows"] = [[_jsonable(w["start"]), _jsonable(w["end"])] for w in windows]
    record_event(session, ticket, actor=actor, kind="updated", payload=payload)
    flush_versioned(session, ticket, "ticket")
    return ticket


def _check_editable(ticket: Any, changes: dict[str, Any], expected_version: int | None) -> None:
    require_version(ticket, expected_version, "ticket")
    if ticket.status in (S.completed, S.cancelled):
        raise IllegalTransition(ticket.status, "edited", [])
    for key in ("title", "description", "duration_min", "priority", "site_id"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be null", [{"loc": ["body", key], "msg": "null"}])


def _update_fields(
    session: Session,
    ticket_id: int,
    changes: dict[str, Any],
    expected_version: int | None,
    actor: Actor,
) -> SimpleNamespace:
    """An edit of the ticket's own columns (the common one) in three Core statements.

    Same rules, versioning and event as the ORM path in ``update_ticket``, which
    handles skills, windows and a new site; the ORM's load and unit of work were
    most of an edit's time holding SQLite's write lock. Returns the ticket's
    values (what the answer is built from), not an ORM object.
    """
    conn = session.connection()
    row = conn.execute(_TICKET_BY_ID, {"id": ticket_id}).first()
    if row is None:
        raise NotFound("ticket", ticket_id)
    ticket = SimpleNamespace(**row._mapping)
    _check_editable(ticket, changes, expected_version)
    payload = {
        k: [_jsonable(getattr(ticket, k)), _jsonable(v)]
        for k, v in changes.items()
        if getattr(ticket, k) != v
    }
    if payload:
        now = utcnow()
        done = conn.execute(
            sa.update(_TICKETS)
            .where(_TICKETS.c.id == ticket_id, _TICKETS.c.version == ticket.version)
            .values(**changes, updated_at=now, version=ticket.version + 1)
        )
        if done.rowcount != 1:  # changed between our read and our write (not on SQLite)
            session.rollback()
            raise PreconditionFailed(
                f"ticket {ticket_id} was changed by someone else while you were saving; "
                "reload and apply your change again"
            )
        for key, value in changes.items():
            setattr(ticket, key, value)
        ticket.updated_at, ticket.version = now, ticket.version + 1
    conn.execute(
        sa.insert(_EVENTS).values(
            ticket_id=ticket_id,
            at=utcnow(),
            actor=actor.name,
            actor_user_id=actor.user_id,
            kind="updated",
            payload=payload,
        )
    )
    return ticket


_TICKETS: sa.Table = Ticket.__table__  # type: ignore[attr-defined]
_EVENTS: sa.Table = TicketEvent.__table__  # type: ignore[attr-defined]
_TICKET_BY_ID = sa.select(*_TICKETS.c).where(_TICKETS.c.id == sa.bindparam("id"))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def transition(
    session: Session,
    *,
    ticket_id: int,
    request: TransitionRequest,
    actor: Actor,
    expected_version: int | None = None,
    only_engineer_id: int | None = None,
    checkin: CheckinPolicy | None = None,
) -> Ticket:
    """Move a ticket along the status machine, recording who, when and where.

    ``only_engineer_id`` restricts the move to that engineer's own tickets;
    anyone else's ticket is reported as not found (no existence leak).
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or (only_engineer_id is not None and ticket.engineer_id != only_engineer_id):
        raise NotFound("ticket", ticket_id)
    if expected_version is not None:
        require_version(ticket, expected_version, "ticket")
    current = S(ticket.status)
    wanted = request.to
    allowed = allowed_from(current, ticket.held_from)
    if wanted not in allowed:
        raise IllegalTransition(current, wanted, allowed)
    if wanted is S.declined and not request.reason:
        raise InvalidInput(
            "declining a ticket needs a reason",
            [{"loc": ["body", "reason"], "msg": "required when declining"}],
        )
    if (request.lat is None) != (request.lon is None):
        raise InvalidInput(
            "give both lat and lon, or neither",
            [{"loc": ["body", "lat"], "msg": "lat and lon go together"}],
        )

    payload = dict(request.payload)
    if request.reason:
        payload["reason"] = request.reason

    if wanted in (S.scheduled, S.dispatched):
        engineer_id = request.engineer_id or ticket.engineer_id
        if engineer_id is None:
            raise InvalidInput(
                f"a {wanted} ticket needs an engineer: give engineer_id",
                [{"loc": ["body", "engineer_id"], "msg": "required"}],
            )
        engineer = session.get(Engineer, engineer_id)
        if engineer is None or not engineer.active:
            raise InvalidInput(
                f"engineer {engineer_id} does not exist or is inactive",
                [{"loc": ["body", "engineer_id"], "msg": "unknown or inactive engineer"}],
            )
        if ticket.engineer_id != engineer_id:
            payload["engineer"] = [ticket.engineer_id, engineer_id]
        ticket.engineer_id = engineer_id
    elif request.engineer_id is not None and request.engineer_id != ticket.engineer_id:
        raise InvalidInput(
            "engineer_id can only be set when scheduling or dispatching",
            [{"loc": ["body", "engineer_id"], "msg": "not allowed for this transition"}],
        )

    distance = None
    if request.lat is not None and request.lon is not None and wanted in CHECKIN_STATUSES:
        site = session.get(Site, ticket.site_id)
        assert site is not None
        distance = geodesic((request.lat, request.lon), (site.lat, site.lon)).meters
        policy = checkin or CheckinPolicy()
        ticket.checkin_distance_m = round(distance, 1)
        if distance > policy.threshold(request.accuracy_m):
            ticket.checkin_far = True
            payload["checkin_far"] = True
            payload["threshold_m"] = round(policy.threshold(request.accuracy_m), 1)

    record_event(
        session,
        ticket,
        actor=actor,
        kind="transition",
        from_status=current,
        to_status=wanted,
        payload=payload,
        lat=request.lat,
        lon=request.lon,
        accuracy_m=request.accuracy_m,
        distance_m=None if distance is None else round(distance, 1),
    )
    if wanted is S.declined:
        # Back to the pool: the decline stays in the history, the ticket is new.
        declined_by = ticket.engineer_id
        _unassign(ticket)
        record_event(
            session,
            ticket,
            actor=actor,
            kind="returned_to_pool",
            from_status=S.declined,
            to_status=S.new,
            payload={"declined_by": declined_by},
        )
        wanted = S.new
    elif wanted is S.on_hold:
        ticket.held_from = current
    elif current is S.on_hold:
        ticket.held_from = None
    if wanted is S.new:
        _unassign(ticket)
    if wanted is S.completed:
        ticket.completed_at = utcnow()
    ticket.status = wanted
    ticket.updated_at = utcnow()
    flush_versioned(session, ticket, "ticket")
    return ticket


def _unassign(ticket: Ticket) -> None:
    ticket.engineer_id = None
    ticket.planned_start = None
    ticket.planned_end = None


def events(session: Session, ticket_id: int) -> Sequence[TicketEvent]:
    return session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    ).all()


def public_dicts(session: Session, tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """Tickets as plain dicts shaped like TicketPublic, for ``pydantic_core.to_json``
    (building a model per ticket and having FastAPI re-validate it cost more than the
    queries did); see crm.services.ticket_reads."""
    return reads.as_public(session, [_stored_values(t) for t in tickets])


def to_public(session: Session, tickets: Sequence[Any]) -> list[TicketPublic]:
    """The same tickets as models, for code that works with them (writes, CSV)."""
    return [TicketPublic.model_validate(d) for d in public_dicts(session, tickets)]


_stored_values = operator.attrgetter(*reads.STORED)
