"""Offline sync: a phone's queue of actions (and pings) applied in order.

Each queued item carries its own idempotency key and goes through the same
``perform`` as the single-action endpoints, with the same key store, so an
action first tried online and then queued under the same key applies once.
Every item runs in its own savepoint: it applies whole or not at all, and a
refused item does not stop the ones after it (an item that depended on it
will be refused in turn with its own reason).

Items are applied in the order sent, which is the order the engineer did
them; ``client_at`` is kept in the event payload for the record but does
not reorder anything (phone clocks drift; the queue's order does not).

An item that cannot be understood (unknown action, bad payload, client time
in the future) is refused with 422 and *not* remembered, so a fixed app can
resend it under the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session

from crm.errors import DomainError, InvalidInput
from crm.models import IdempotencyRecord
from crm.schemas.mobile import (
    ACTION_BODIES,
    Action,
    DevicePosition,
    LocationPoint,
    LocationReceipt,
    SyncItem,
    SyncItemResult,
    SyncRequest,
    SyncResponse,
    TicketState,
)
from crm.services import idempotency, locations
from crm.services.idempotency import problem_body
from crm.services.mobile import ActionContext, lock_batch, perform


def action_path(ticket_id: int, action: Action) -> str:
    """The path of the single-action endpoint, which is also the key's scope."""
    return f"/me/tickets/{ticket_id}/{action.value.replace('_', '-')}"


def action_fingerprint(
    ticket_id: int, action: Action, body: dict, uploads: Sequence[str] = ()
) -> str:
    """What makes two action requests "the same": ticket, action, body, file hashes."""
    return idempotency.fingerprint(
        {"ticket_id": ticket_id, "action": action.value, "body": body, "files": list(uploads)}
    )


def apply_sync(
    session: Session,
    *,
    ctx: ActionContext,
    user_id: int,
    request: SyncRequest,
    now: datetime,
    retention_days: int,
) -> SyncResponse:
    """Apply the queue in order, then the locations; the caller commits once.

    The keys already used and the tickets concerned are read (and the
    tickets locked) in one query each up front, not once per item.
    """
    known = idempotency.preload(session, user_id=user_id, keys=[i.key for i in request.items])
    held = lock_batch(session, ctx.engineer_id, (i.ticket_id for i in request.items))
    results = [
        _apply_item(
            session,
            ctx=ctx,
            user_id=user_id,
            item=item,
            index=i,
            now=now,
            known=known.get(item.key),
        )
        for i, item in enumerate(request.items)
    ]
    del held
    receipt = None
    if request.locations:
        receipt = _apply_locations(
            session,
            engineer_id=ctx.engineer_id,
            points=request.locations,
            now=now,
            retention_days=retention_days,
        )
    return SyncResponse(
        results=results,
        applied=sum(r.outcome == "applied" and not r.replayed for r in results),
        rejected=sum(r.outcome == "rejected" for r in results),
        replayed=sum(r.replayed for r in results),
        locations=receipt,
        server_time=now,
    )


def _apply_item(
    session: Session,
    *,
    ctx: ActionContext,
    user_id: int,
    item: SyncItem,
    index: int,
    now: datetime,
    known: IdempotencyRecord | None,
) -> SyncItemResult:
    def rejected(exc: DomainError) -> SyncItemResult:
        return SyncItemResult(
            key=item.key,
            ticket_id=item.ticket_id,
            action=item.action,
            outcome="rejected",
            status=exc.status,
            replayed=False,
            problem=problem_body(exc),
        )

    try:
        action, body = _parse(item, index=index, now=now)
    except InvalidInput as exc:
        return rejected(exc)
    item_ctx = ActionContext(
        actor=ctx.actor,
        engineer_id=ctx.engineer_id,
        policy=ctx.policy,
        var_dir=ctx.var_dir,
        upload_max_bytes=ctx.upload_max_bytes,
        extra_payload={
            **ctx.extra_payload,
            "client_at": item.client_at.isoformat(),
            "idempotency_key": item.key,
        },
    )
    body_json = body.model_dump(mode="json")
    try:
        outcome = idempotency.run_once(
            session,
            user_id=user_id,
            key=item.key,
            method="POST",
            path=action_path(item.ticket_id, action),
            request_hash=action_fingerprint(item.ticket_id, action, body_json),
            apply=lambda: perform(
                session,
                ctx=item_ctx,
                ticket_id=item.ticket_id,
                action=action,
                body=body,
                refresh=False,
            ).model_dump(mode="json"),
            known=known,
        )
    except idempotency.KeyReused as exc:
        return rejected(exc)
    ok = outcome.status < 400
    return SyncItemResult(
        key=item.key,
        ticket_id=item.ticket_id,
        action=action.value,
        outcome="applied" if ok else "rejected",
        status=outcome.status,
        replayed=outcome.replayed,
        ticket=TicketState.model_validate(outcome.body) if ok else None,
        problem=None if ok else outcome.body,
    )


def _parse(item: SyncItem, *, index: int, now: datetime) -> tuple[Action, DevicePosition]:
    where = ["body", "items", index]
    try:
        action = Action(item.action)
    except ValueError:
        raise InvalidInput(
            f"unknown action {item.action!r}; one of: {', '.join(a.value for a in Action)}",
            [{"loc": [*where, "action"], "msg": "unknown action"}],
        ) from None
    if item.client_at > now + locations.FUTURE_SKEW:
        raise InvalidInput(
            f"client_at {item.client_at.isoformat()} is in the future; check the phone's clock",
            [{"loc": [*where, "client_at"], "msg": "in the future"}],
        )
    try:
        body = ACTION_BODIES[action].model_validate(item.payload)
    except ValidationError as exc:
        errors = [
            {"loc": [*where, "payload", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        first = errors[0]
        raise InvalidInput(
            f"{action.value} payload: {'.'.join(map(str, first['loc'][4:])) or 'body'}: "
            f"{first['msg']}",
            errors,
        ) from None
    return action, body


def _apply_locations(
    session: Session,
    *,
    engineer_id: int,
    points: Sequence[LocationPoint],
    now: datetime,
    retention_days: int,
) -> LocationReceipt:
    """Store the pings riding along; a bad batch is reported, not fatal to the queue."""
    try:
        locations.check_points(points, now=now, where="locations")
        with session.begin_nested():
            return locations.store_points(
                session,
                engineer_id=engineer_id,
                points=points,
                now=now,
                retention_days=retention_days,
            )
    except InvalidInput as exc:
        return LocationReceipt(
            received=len(points),
            stored=0,
            duplicates=0,
            too_old=0,
            last_seen_at=None,
            problem=problem_body(exc),
        )
