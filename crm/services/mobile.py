"""The engineer's side of a ticket: my day, and the actions a phone sends.

Each action is one or two moves of the status machine (``crm.status``) made
through ``crm.services.tickets.transition``, so the event trail, the decline
→ back-to-pool rule and the GPS check-in distance live in one place.

Decisions the issue left open, made here:

* **accept / decline a scheduled ticket.** Publishing a plan makes its
  tickets ``scheduled`` with an engineer; that published route is what the
  phone shows. Accepting (or declining) such a ticket first records the
  implied ``scheduled → dispatched`` move (payload ``implied_by``), then the
  engineer's own move. Two events, nothing invented.
* **arrive or complete without a position** (no GPS fix indoors) is accepted
  — refusing would stop the work, not the fraud — but never trusted: the
  ticket is flagged ``checkin_far`` (it shows in ``GET /tickets?flag=
  checkin_far``) with ``checkin_distance_m`` left empty and the event
  payload saying ``checkin_missing: true``.
* **unable to complete** puts the ticket ``on_hold`` with the reason (from
  accepted, travelling or on site). It stays with the engineer; the
  dispatcher resumes it (back to where it was held) or returns it to the
  pool. Cancelling is a dispatcher's decision, not the phone's.
* **a ticket that was his and is not any more** (declined, reassigned) is a
  409 ``ticket_reassigned``, because he knew it; a ticket that never was his
  is 404 like any id he might guess.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from crm.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from crm.models import (
    Contact,
    Customer,
    Engineer,
    Plan,
    PlanStatus,
    Route,
    Site,
    Skill,
    Stop,
    Ticket,
    TicketEvent,
    TicketSkill,
    TicketStatus,
    TicketWindow,
)
from crm.schemas.mobile import (
    Action,
    CompleteBody,
    DayContact,
    DaySite,
    DaySkill,
    DayStop,
    DayWindow,
    DevicePosition,
    MyDay,
    TicketState,
)
from crm.schemas.tickets import TransitionRequest
from crm.services import attachments as files
from crm.services.common import Actor
from crm.services.tickets import CheckinPolicy, transition

S = TicketStatus

# Which statuses each action starts from, and where it goes.
MOVES: dict[Action, tuple[frozenset[S], S]] = {
    Action.accept: (frozenset({S.scheduled, S.dispatched}), S.accepted),
    Action.decline: (frozenset({S.scheduled, S.dispatched, S.accepted}), S.declined),
    Action.start_travel: (frozenset({S.accepted}), S.travelling),
    Action.arrive: (frozenset({S.travelling}), S.on_site),
    Action.complete: (frozenset({S.on_site}), S.completed),
    Action.unable_to_complete: (frozenset({S.accepted, S.travelling, S.on_site}), S.on_hold),
}
CHECKIN_ACTIONS = frozenset({Action.arrive, Action.complete})


def allowed_actions(status: S) -> list[Action]:
    """What the phone may offer for a ticket in this status."""
    return [a for a, (sources, _) in MOVES.items() if status in sources]


@dataclass
class ActionContext:
    """Who acts, with which rules; one per request."""

    actor: Actor
    engineer_id: int
    policy: CheckinPolicy
    var_dir: Path
    upload_max_bytes: int
    extra_payload: dict[str, Any] = field(default_factory=dict)


class TicketReassigned(Conflict):
    code = "ticket_reassigned"


def load_own_ticket(
    session: Session, *, engineer_id: int, ticket_id: int, refresh: bool = True
) -> Ticket:
    """The engineer's ticket, locked for the rest of the transaction.

    ``refresh`` re-reads (``populate_existing``) a row the session may hold
    from before the transaction took its lock, so the version we update is
    current; ``lock_batch`` callers have just done that for a whole batch.
    """
    if refresh:
        ticket = session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    else:
        ticket = session.get(Ticket, ticket_id)
    if ticket is not None and ticket.engineer_id == engineer_id:
        return ticket
    if ticket is not None and _was_his(session, engineer_id=engineer_id, ticket_id=ticket_id):
        raise TicketReassigned(
            f"ticket {ticket_id} is no longer assigned to you (it was declined or reassigned); "
            "drop the queued action and refresh your day",
            ticket_id=ticket_id,
        )
    raise NotFound("ticket", ticket_id)


def _was_his(session: Session, *, engineer_id: int, ticket_id: int) -> bool:
    """Did the engineer know this ticket: on a route he was shown, or assigned to him once?

    Only then may a refusal say "no longer yours" (409); draft plans he never
    saw do not count, or a 409 would reveal tickets he never had.
    """
    on_route = session.exec(
        select(Stop.id)
        .join(Route, col(Route.id) == Stop.route_id)
        .join(Plan, col(Plan.id) == Route.plan_id)
        .where(
            Stop.ticket_id == ticket_id,
            Route.engineer_id == engineer_id,
            col(Plan.status).in_([PlanStatus.published, PlanStatus.superseded]),
        )
        .limit(1)
    ).first()
    if on_route is not None:
        return True
    for payload in session.exec(
        select(TicketEvent.payload).where(
            TicketEvent.ticket_id == ticket_id,
            col(TicketEvent.kind).in_(["transition", "returned_to_pool"]),
        )
    ):
        if payload.get("declined_by") == engineer_id:
            return True
        pair = payload.get("engineer")
        if isinstance(pair, list) and engineer_id in pair:
            return True
    return False


def perform(
    session: Session,
    *,
    ctx: ActionContext,
    ticket_id: int,
    action: Action,
    body: DevicePosition,
    uploads: Sequence[files.Upload] = (),
    refresh: bool = True,
) -> TicketState:
    """Apply one action to the engineer's own ticket; raises a DomainError on refusal.

    The caller owns the transaction (and a savepoint, for all-or-nothing).
    """
    ticket = load_own_ticket(
        session, engineer_id=ctx.engineer_id, ticket_id=ticket_id, refresh=refresh
    )
    sources, target = MOVES[action]
    current = S(ticket.status)
    if current not in sources:
        raise _illegal(action, current, target)
    for upload in uploads:
        files.check(upload, max_bytes=ctx.upload_max_bytes)
    attached = []
    if isinstance(body, CompleteBody) and body.attachment_ids:
        attached = files.for_ticket(session, ticket.id or 0, body.attachment_ids)
        missing = sorted(set(body.attachment_ids) - {a.id for a in attached})
        if missing:
            raise InvalidInput(
                f"attachment(s) {missing} are not attachments of ticket {ticket_id}",
                [{"loc": ["body", "attachment_ids"], "msg": "unknown attachment"}],
            )

    payload = _payload(action, body) | ctx.extra_payload
    if action in CHECKIN_ACTIONS and not body.has_position:
        ticket.checkin_far = True
        payload["checkin_missing"] = True
    if current is S.scheduled:
        _move(session, ctx, ticket, S.dispatched, {"implied_by": action.value} | ctx.extra_payload)
    reason = getattr(body, "reason", None)
    _move(session, ctx, ticket, target, payload, reason=reason, position=body)

    for upload in uploads:
        attached.append(
            files.store(
                session,
                ticket=ticket,
                upload=upload,
                var_dir=ctx.var_dir,
                max_bytes=ctx.upload_max_bytes,
                actor=ctx.actor,
            )
        )
    session.flush()
    return ticket_state(ticket, attached)


def lock_batch(session: Session, engineer_id: int, ticket_ids: Iterable[int]) -> list[object]:
    """Load (fresh) and lock a batch of the engineer's tickets and their sites.

    Ids that are not his are not touched here (``load_own_ticket`` answers
    them one by one, without locking anyone else's row).

    Rows are locked in id order, so two batches over the same tickets cannot
    deadlock on PostgreSQL; on SQLite the transaction's write lock covers them.
    The session's identity map holds rows weakly: keep the returned list
    alive while working on the batch, or the rows are dropped and re-read.
    """
    ids = sorted(set(ticket_ids))
    if not ids:
        return []
    tickets = session.exec(
        select(Ticket)
        .where(col(Ticket.id).in_(ids), Ticket.engineer_id == engineer_id)
        .order_by(col(Ticket.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    site_ids = sorted({t.site_id for t in tickets})
    sites = session.exec(select(Site).where(col(Site.id).in_(site_ids))).all()
    return [*tickets, *sites]


def _illegal(action: Action, current: S, target: S) -> IllegalTransition:
    """409 in the phone's words: the action refused and the actions that are possible."""
    possible = allowed_actions(current)
    exc = IllegalTransition(current, target, [MOVES[a][1] for a in possible])
    names = ", ".join(a.value for a in possible) or "none"
    exc.detail = (
        f"cannot {action.value.replace('_', ' ')} ticket in status {current}; "
        f"possible actions now: {names}"
    )
    exc.extra["action"] = action.value
    exc.extra["allowed_actions"] = [a.value for a in possible]
    return exc


def _move(
    session: Session,
    ctx: ActionContext,
    ticket: Ticket,
    to: S,
    payload: dict[str, Any],
    *,
    reason: str | None = None,
    position: DevicePosition | None = None,
) -> None:
    pos = position or DevicePosition()
    transition(
        session,
        ticket_id=ticket.id or 0,
        request=TransitionRequest(
            to=to,
            reason=reason,
            lat=pos.lat,
            lon=pos.lon,
            accuracy_m=pos.accuracy_m,
            payload=payload,
        ),
        actor=ctx.actor,
        only_engineer_id=ctx.engineer_id,
        checkin=ctx.policy,
    )


def _payload(action: Action, body: DevicePosition) -> dict[str, Any]:
    """The event payload: the body minus what TransitionRequest carries itself."""
    data = body.model_dump(mode="json", exclude={"lat", "lon", "accuracy_m", "reason"})
    data = {k: v for k, v in data.items() if v not in (None, "", [])}
    return {"via": "mobile", "action": action.value, **data}


def ticket_state(ticket: Ticket, attached: Iterable[Any] = ()) -> TicketState:
    status = S(ticket.status)
    return TicketState(
        id=ticket.id or 0,
        status=status,
        version=ticket.version,
        engineer_id=ticket.engineer_id,
        checkin_far=ticket.checkin_far,
        checkin_distance_m=ticket.checkin_distance_m,
        allowed_actions=allowed_actions(status),
        attachments=[files.to_public(a) for a in attached],
    )


# --- my day ------------------------------------------------------------------------------
def my_day(session: Session, *, engineer_id: int, day: date) -> MyDay:
    """The engineer's route in the published plan for ``day``, stops in order.

    Stops whose ticket is no longer his (declined, reassigned since the plan
    was published) are left out: he can do nothing with them and they are
    someone else's business now.
    """
    found = session.exec(
        select(Route, Plan)
        .join(Plan, col(Plan.id) == Route.plan_id)
        .where(
            Route.engineer_id == engineer_id,
            Route.day == day,
            Plan.status == PlanStatus.published,
        )
        .order_by(col(Plan.published_at).desc(), col(Plan.id).desc())
        .limit(1)
    ).first()
    if found is None:
        return MyDay(
            date=day,
            engineer_id=engineer_id,
            note=f"no published route for you on {day.isoformat()}: nothing is planned yet",
        )
    route, plan = found
    rows = session.exec(
        select(Stop, Ticket, Customer, Site)
        .join(Ticket, col(Ticket.id) == Stop.ticket_id)
        .join(Customer, col(Customer.id) == Ticket.customer_id)
        .join(Site, col(Site.id) == Ticket.site_id)
        .where(Stop.route_id == route.id, Ticket.engineer_id == engineer_id)
        .order_by(col(Stop.seq))
    ).all()
    ticket_ids = [t.id for _, t, _, _ in rows]
    skills = _skills(session, ticket_ids)
    windows = _windows(session, ticket_ids)
    contacts = _contacts(session, {c.id for _, _, c, _ in rows}, {s.id for _, _, _, s in rows})
    stops = [
        DayStop(
            seq=stop.seq,
            ticket_id=ticket.id or 0,
            title=ticket.title,
            description=ticket.description,
            status=S(ticket.status),
            priority=ticket.priority,
            duration_min=ticket.duration_min,
            customer_name=customer.name,
            customer_phone=customer.phone,
            site=DaySite(
                id=site.id or 0,
                name=site.name,
                address=site.address,
                lat=site.lat,
                lon=site.lon,
                notes=site.notes,
            ),
            contact=contacts.get(("site", site.id)) or contacts.get(("customer", customer.id)),
            windows=windows.get(ticket.id or 0, []),
            planned_arrival=stop.arrival_at,
            planned_start=stop.start_at,
            planned_end=stop.end_at,
            sla_due_at=ticket.sla_due_at,
            required_skills=skills.get(ticket.id or 0, []),
            allowed_actions=allowed_actions(S(ticket.status)),
            version=ticket.version,
        )
        for stop, ticket, customer, site in rows
    ]
    return MyDay(
        date=day,
        engineer_id=engineer_id,
        plan_id=plan.id,
        route_id=route.id,
        published_at=plan.published_at,
        start_at=route.start_at,
        end_at=route.end_at,
        break_start_at=route.break_start_at,
        break_end_at=route.break_end_at,
        distance_m=route.distance_m,
        drive_s=route.drive_s,
        stops=stops,
        note=None if stops else "your published route has no stops left for you",
    )


def _skills(session: Session, ticket_ids: list[int | None]) -> dict[int, list[DaySkill]]:
    out: dict[int, list[DaySkill]] = {}
    if not ticket_ids:
        return out
    for tid, code, name, level in session.exec(
        select(TicketSkill.ticket_id, Skill.code, Skill.name, TicketSkill.min_level)
        .join(Skill, col(Skill.id) == TicketSkill.skill_id)
        .where(col(TicketSkill.ticket_id).in_(ticket_ids))
        .order_by(col(Skill.code))
    ):
        out.setdefault(tid, []).append(DaySkill(code=code, name=name, min_level=level))
    return out


def _windows(session: Session, ticket_ids: list[int | None]) -> dict[int, list[DayWindow]]:
    out: dict[int, list[DayWindow]] = {}
    if not ticket_ids:
        return out
    for w in session.exec(
        select(TicketWindow)
        .where(col(TicketWindow.ticket_id).in_(ticket_ids))
        .order_by(col(TicketWindow.start_at))
    ):
        out.setdefault(w.ticket_id, []).append(DayWindow(start=w.start_at, end=w.end_at))
    return out


def _contacts(
    session: Session, customer_ids: set[int | None], site_ids: set[int | None]
) -> dict[tuple[str, int | None], DayContact]:
    """The first contact of each site, and of each customer (site-less contacts)."""
    out: dict[tuple[str, int | None], DayContact] = {}
    if not customer_ids and not site_ids:
        return out
    for c in session.exec(
        select(Contact)
        .where(
            col(Contact.site_id).in_(site_ids)
            | (col(Contact.customer_id).in_(customer_ids) & col(Contact.site_id).is_(None))
        )
        .order_by(col(Contact.id))
    ):
        where = ("site", c.site_id) if c.site_id is not None else ("customer", c.customer_id)
        out.setdefault(where, DayContact(name=c.name, phone=c.phone, role=c.role))
    return out


def day_json(day: MyDay) -> bytes:
    """The day as canonical JSON bytes: the ETag is their hash, so equal days match."""
    return json.dumps(day.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


def content_etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def engineer_name(session: Session, engineer_id: int) -> str:
    engineer = session.get(Engineer, engineer_id)
    return engineer.name if engineer is not None else f"engineer {engineer_id}"


# --- iCalendar (RFC 5545), by hand ---------------------------------------------------------
def day_ics(day: MyDay, *, engineer: str, domain: str = "fieldroute") -> bytes:
    """The day as an iCalendar feed: one VEVENT per stop.

    UIDs are ``ticket-<id>-<date>@fieldroute``: stable across re-plans of
    the day, so the phone's calendar updates the event rather than adding
    another. DTSTAMP is the plan's publication time and SEQUENCE the ticket's
    version, so an unchanged day renders the same bytes (same ETag).
    An empty day is a calendar with no events.
    """
    stamp = _ics_time(day.published_at) if day.published_at else _ics_date_stamp(day.date)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{domain}//mobile day//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(f'{engineer} {day.date.isoformat()}')}",
    ]
    for stop in day.stops:
        description = [
            f"Customer: {stop.customer_name}"
            + (f" ({stop.customer_phone})" if stop.customer_phone else ""),
        ]
        if stop.contact:
            phone = f" {stop.contact.phone}" if stop.contact.phone else ""
            description.append(f"Contact: {stop.contact.name}{phone}")
        if stop.required_skills:
            description.append(
                "Skills: " + ", ".join(f"{s.code} ≥{s.min_level}" for s in stop.required_skills)
            )
        for w in stop.windows:
            description.append(f"Window: {w.start.isoformat()} – {w.end.isoformat()}")
        if stop.description:
            description.append(stop.description)
        if stop.site.notes:
            description.append(f"Site notes: {stop.site.notes}")
        cancelled = stop.status is S.cancelled
        lines += [
            "BEGIN:VEVENT",
            f"UID:ticket-{stop.ticket_id}-{day.date.strftime('%Y%m%d')}@{domain}",
            f"DTSTAMP:{stamp}",
            f"SEQUENCE:{stop.version}",
            f"DTSTART:{_ics_time(stop.planned_start)}",
            f"DTEND:{_ics_time(stop.planned_end)}",
            f"SUMMARY:{_ics_text(f'#{stop.ticket_id} {stop.title}')}",
            f"LOCATION:{_ics_text(stop.site.address or stop.site.name)}",
            f"GEO:{stop.site.lat:.6f};{stop.site.lon:.6f}",
            f"DESCRIPTION:{_ics_text(chr(10).join(description))}",
            f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
            f"CATEGORIES:{_ics_text(stop.priority.value)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines).encode()


def _ics_time(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _ics_date_stamp(value: date) -> str:
    return value.strftime("%Y%m%dT000000Z")


def _ics_text(value: str) -> str:
    """TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, newline."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str, limit: int = 75) -> str:
    """Fold at 75 octets (§3.1), never inside a UTF-8 character."""
    raw = line.encode()
    if len(raw) <= limit:
        return line
    parts: list[str] = []
    current = b""
    budget = limit
    for ch in line:
        b = ch.encode()
        if len(current) + len(b) > budget:
            parts.append(current.decode())
            current = b""
            budget = limit - 1  # continuation lines start with a space
        current += b
    parts.append(current.decode())
    return "\r\n ".join(parts)
