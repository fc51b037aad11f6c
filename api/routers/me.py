"""The engineer's phone: my day, ticket actions with GPS check-in, location
pings and offline sync. Engineers only; each sees and changes his own work.

Every ``POST`` here honours an ``Idempotency-Key`` header: a retry with the
same key and the same request gets the first answer back (with
``Idempotent-Replayed: true``), the same key with a different request is 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import LateGateSessionDep, SessionDep, SettingsDep, actor_of, etag, require
from api.problems import PROBLEM_JSON
from crm.coltypes import utcnow
from crm.models import Role, User
from crm.schemas.mobile import (
    IDEMPOTENCY_KEY_PATTERN,
    AcceptBody,
    Action,
    ArriveBody,
    AttachmentPublic,
    CompleteBody,
    DeclineBody,
    DevicePosition,
    LocationBatch,
    LocationPublic,
    LocationReceipt,
    MyDay,
    StartTravelBody,
    SyncRequest,
    SyncResponse,
    TicketState,
    UnableBody,
)
from crm.services import attachments as files
from crm.services import idempotency, locations, mobile, sync
from crm.services.idempotency import Outcome
from crm.services.mobile import ActionContext
from crm.services.tickets import CheckinPolicy
from crm.services.writes import begin_write
from crm.settings import Settings

router = APIRouter(prefix="/me", tags=["me"])

CALENDAR = "text/calendar"
PROBLEMS = {
    401: {"description": "Not logged in or the token expired."},
    403: {"description": "Not an engineer account."},
    404: {"description": "No such ticket among yours."},
}
ACTION_PROBLEMS = {
    **PROBLEMS,
    409: {"description": "Not possible in the ticket's status, or no longer yours."},
    422: {"description": "Invalid body, or the Idempotency-Key was used for another request."},
}


def _engineer(user: Annotated[User, Depends(require(Role.engineer))]) -> User:
    if user.engineer_id is None:
        raise HTTPException(403, "this engineer account is not linked to an engineer record")
    return user


Me = Annotated[User, Depends(_engineer)]
KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        max_length=200,
        description="Any unique string (a UUID); a retry with the same key applies once.",
    ),
]


# --- unit of work -------------------------------------------------------------------
def _post(path: str, **kwargs: Any) -> Any:
    """``router.post`` for a mobile write (its session waits for its write turn)."""
    return router.post(path, **kwargs)


@contextmanager
def _unit(session: Session) -> Iterator[None]:
    """A write transaction that holds the write lock from its first read to its commit.

    The whole unit runs inside one threadpool call (the login check reads in a
    session of its own), so a writer never waits for a free thread while it
    holds SQLite's lock.
    """
    try:
        begin_write(session)
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _respond(request: Request, outcome: Outcome) -> JSONResponse:
    headers: dict[str, str] = {}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    if outcome.status >= 400:
        body = {**outcome.body, "instance": request.url.path}
        return JSONResponse(body, outcome.status, headers=headers, media_type=PROBLEM_JSON)
    if isinstance(outcome.body, dict) and isinstance(outcome.body.get("version"), int):
        headers["ETag"] = etag(outcome.body["version"])
    return JSONResponse(outcome.body, outcome.status, headers=headers)


def _context(user: User, settings: Settings, key: str | None) -> ActionContext:
    return ActionContext(
        actor=actor_of(user),
        engineer_id=user.engineer_id or 0,
        policy=CheckinPolicy(settings.checkin_radius_m, settings.checkin_accuracy_cap_m),
        var_dir=settings.var_dir,
        upload_max_bytes=settings.upload_max_bytes,
        extra_payload={"idempotency_key": key} if key else {},
    )


def _idempotent(
    request: Request,
    session: Session,
    *,
    user: User,
    key: str | None,
    path: str,
    request_hash: str,
    apply: Any,
) -> JSONResponse:
    """Run ``apply`` in a write unit, once per key when a key is given."""
    with _unit(session):
        if key is None:
            outcome = Outcome(200, apply())
        else:
            outcome = idempotency.run_once(
                session,
                user_id=user.id or 0,
                key=key,
                method="POST",
                path=path,
                request_hash=request_hash,
                apply=apply,
            )
    return _respond(request, outcome)


def _act(
    request: Request,
    session: Session,
    *,
    user: User,
    settings: Settings,
    key: str | None,
    ticket_id: int,
    action: Action,
    body: DevicePosition,
    uploads: list[files.Upload] | None = None,
) -> JSONResponse:
    ctx = _context(user, settings, key)
    uploads = uploads or []
    digests = [f"{u.kind}:{idempotency.fingerprint(u.data.hex())}" for u in uploads]
    return _idempotent(
        request,
        session,
        user=user,
        key=key,
        path=sync.action_path(ticket_id, action),
        request_hash=sync.action_fingerprint(
            ticket_id, action, body.model_dump(mode="json"), digests
        ),
        apply=lambda: mobile.perform(
            session, ctx=ctx, ticket_id=ticket_id, action=action, body=body, uploads=uploads
        ).model_dump(mode="json"),
    )


# --- my day -------------------------------------------------------------------------
def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def _accept_weights(accept: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media:
            weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    return weights


def _wants_calendar(accept: str | None) -> bool:
    """Content negotiation between JSON (the default) and iCalendar."""
    if not accept:
        return False
    w = _accept_weights(accept)

    def q(media: str) -> float:
        kind = media.split("/")[0]
        return w.get(media, w.get(f"{kind}/*", w.get("*/*", 0.0)))

    return q(CALENDAR) > q("application/json")


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == wanted for t in if_none_match.split(","))


def _day_response(
    session: Session,
    user: User,
    settings: Settings,
    day: date | None,
    if_none_match: str | None,
    calendar: bool,
) -> Response:
    day = day or _today(settings)
    view = mobile.my_day(session, engineer_id=user.engineer_id or 0, day=day)
    if calendar:
        name = mobile.engineer_name(session, user.engineer_id or 0)
        data, media = mobile.day_ics(view, engineer=name), f"{CALENDAR}; charset=utf-8"
    else:
        data, media = mobile.day_json(view), "application/json"
    tag = mobile.content_etag(data)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Accept"}
    if _matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    if calendar:
        headers["Content-Disposition"] = f'inline; filename="day-{day.isoformat()}.ics"'
    return Response(data, media_type=media, headers=headers)


DateQuery = Annotated[
    date | None, Query(alias="date", description="The day (local); default today.")
]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


@router.get(
    "/day",
    response_model=MyDay,
    responses={
        **PROBLEMS,
        200: {"content": {CALENDAR: {}}, "description": "JSON, or iCalendar when preferred."},
        304: {"description": "Unchanged since the ETag sent in If-None-Match."},
    },
)
def get_day(
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    day: DateQuery = None,
    if_none_match: IfNoneMatch = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """My published route for a day, stops in order; 304 when the ETag still matches."""
    return _day_response(session, user, settings, day, if_none_match, _wants_calendar(accept))


@router.get(
    "/day.ics",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {CALENDAR: {}}}, 304: {"description": "Unchanged."}},
)
def get_day_ics(
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    day: DateQuery = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """My day as iCalendar (RFC 5545) for the phone's calendar: one event per stop."""
    return _day_response(session, user, settings, day, if_none_match, True)


# --- ticket actions -----------------------------------------------------------------------
@_post("/tickets/{ticket_id}/accept", response_model=TicketState, responses=ACTION_PROBLEMS)
def accept(
    ticket_id: int,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
    body: Annotated[AcceptBody | None, Body()] = None,
) -> JSONResponse:
    """Accept a ticket dispatched (or scheduled) to me."""
    return _act(
        request,
        session,
        user=user,
        settings=settings,
        key=key,
        ticket_id=ticket_id,
        action=Action.accept,
        body=body or AcceptBody(),
    )


@_post("/tickets/{ticket_id}/decline", response_model=TicketState, responses=ACTION_PROBLEMS)
def decline(
    ticket_id: int,
    body: DeclineBody,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> JSONResponse:
    """Decline a ticket with a reason; it goes back to the pool for the dispatcher."""
    return _act(
        request,
        session,
        user=user,
        settings=settings,
        key=key,
        ticket_id=ticket_id,
        action=Action.decline,
        body=body,
    )


@_post("/tickets/{ticket_id}/start-travel", response_model=TicketState, responses=ACTION_PROBLEMS)
def start_travel(
    ticket_id: int,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
    body: Annotated[StartTravelBody | None, Body()] = None,
) -> JSONResponse:
    """I am on my way to an accepted ticket."""
    return _act(
        request,
        session,
        user=user,
        settings=settings,
        key=key,
        ticket_id=ticket_id,
        action=Action.start_travel,
        body=body or StartTravelBody(),
    )


@_post("/tickets/{ticket_id}/arrive", response_model=TicketState, responses=ACTION_PROBLEMS)
def arrive(
    ticket_id: int,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
    body: Annotated[ArriveBody | None, Body()] = None,
) -> JSONResponse:
    """Check in on site with the phone's position: far or missing positions are flagged."""
    return _act(
        request,
        session,
        user=user,
        settings=settings,
        key=key,
        ticket_id=ticket_id,
        action=Action.arrive,
        body=body or ArriveBody(),
    )


@_post(
    "/tickets/{ticket_id}/unable-to-complete",
    response_model=TicketState,
    responses=ACTION_PROBLEMS,
)
def unable_to_complete(
    ticket_id: int,
    body: UnableBody,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> JSONResponse:
    """I cannot finish this job (reason required): the ticket goes on hold for the dispatcher."""
    return _act(
        request,
        session,
        user=user,
        settings=settings,
        key=key,
        ticket_id=ticket_id,
        action=Action.unable_to_complete,
        body=body,
    )


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its $defs inlined, to embed in openapi_extra."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_FILE_PART = {"type": "string", "format": "binary"}
_COMPLETE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_refs(CompleteBody.model_json_schema())},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {"type": "string", "description": "The JSON body, as text."},
                        "photo": {**_FILE_PART, "description": "JPEG, PNG or WebP."},
                        "signature": {**_FILE_PART, "description": "JPEG, PNG or WebP."},
                    },
                }
            },
        },
    }
}


def _invalid(exc: ValidationError, *prefix: str | int) -> RequestValidationError:
    return RequestValidationError(
        [{**e, "loc": ("body", *prefix, *e["loc"])} for e in exc.errors(include_url=False)]
    )


def _content_length_guard(request: Request, settings: Settings, files_allowed: int) -> None:
    """Refuse an oversized upload before spooling it to disk."""
    length = request.headers.get("content-length")
    limit = settings.upload_max_bytes * files_allowed + 64 * 1024
    if length and length.isdigit() and int(length) > limit:
        raise files.PayloadTooLarge(
            f"the request is larger than the limit of {limit} bytes",
            limit_bytes=settings.upload_max_bytes,
        )


async def _read_upload(part: Any, kind: str, settings: Settings) -> files.Upload | None:
    if part is None:
        return None
    if not isinstance(part, UploadFile):
        raise RequestValidationError(
            [{"loc": ("body", kind), "msg": "must be a file part", "type": "value_error"}]
        )
    data = await part.read(settings.upload_max_bytes + 1)
    return files.Upload(
        kind=kind, data=data, declared_type=part.content_type or "", filename=part.filename or ""
    )


@_post(
    "/tickets/{ticket_id}/complete",
    response_model=TicketState,
    responses={
        **ACTION_PROBLEMS,
        413: {"description": "Upload too large."},
        415: {"description": "Upload is not a JPEG, PNG or WebP image."},
    },
    openapi_extra=_COMPLETE_BODY,
)
async def complete(
    ticket_id: int,
    request: Request,
    session: LateGateSessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> JSONResponse:
    """Finish the job: outcome, notes, parts; optionally a photo and a signature (multipart)."""
    uploads: list[files.Upload] = []
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        _content_length_guard(request, settings, files_allowed=2)
        form = await request.form(max_files=2, max_fields=4, max_part_size=64 * 1024)
        raw = form.get("data")
        if not isinstance(raw, str):
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "data"),
                        "msg": "the JSON body goes in the form field 'data'",
                        "type": "missing",
                    }
                ]
            )
        for kind in ("photo", "signature"):
            upload = await _read_upload(form.get(kind), kind, settings)
            if upload is not None:
                uploads.append(upload)
    else:
        raw = (await request.body()).decode("utf-8", errors="replace")
    try:
        body = CompleteBody.model_validate_json(raw or "null")
    except ValidationError as exc:
        raise _invalid(exc) from None
    return await run_in_threadpool(
        _act,
        request,
        session,
        user=user,
        settings=settings,
        key=key,
        ticket_id=ticket_id,
        action=Action.complete,
        body=body,
        uploads=uploads,
    )


@_post(
    "/tickets/{ticket_id}/attachments",
    response_model=AttachmentPublic,
    responses={
        **ACTION_PROBLEMS,
        413: {"description": "Upload too large."},
        415: {"description": "Not a JPEG, PNG or WebP image."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["kind", "file"],
                        "properties": {
                            "kind": {"type": "string", "enum": sorted(files.KINDS)},
                            "file": _FILE_PART,
                        },
                    }
                }
            },
        }
    },
)
async def add_attachment(
    ticket_id: int,
    request: Request,
    session: LateGateSessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> JSONResponse:
    """Upload a photo or signature for my ticket on its own (e.g. after an offline sync)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send multipart/form-data with the fields 'kind' and 'file'")
    _content_length_guard(request, settings, files_allowed=1)
    form = await request.form(max_files=1, max_fields=2, max_part_size=1024)
    kind = form.get("kind")
    if not isinstance(kind, str):
        raise RequestValidationError(
            [{"loc": ("body", "kind"), "msg": "photo or signature", "type": "missing"}]
        )
    upload = await _read_upload(form.get("file"), kind, settings)
    if upload is None:
        raise RequestValidationError(
            [{"loc": ("body", "file"), "msg": "required", "type": "missing"}]
        )
    return await run_in_threadpool(
        _attach, request, session, user, settings, key, ticket_id, upload
    )


def _attach(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    key: str | None,
    ticket_id: int,
    upload: files.Upload,
) -> JSONResponse:
    actor = actor_of(user)

    def apply() -> dict[str, Any]:
        ticket = mobile.load_own_ticket(
            session, engineer_id=user.engineer_id or 0, ticket_id=ticket_id
        )
        row = files.store(
            session,
            ticket=ticket,
            upload=upload,
            var_dir=settings.var_dir,
            max_bytes=settings.upload_max_bytes,
            actor=actor,
        )
        return files.to_public(row).model_dump(mode="json")

    return _idempotent(
        request,
        session,
        user=user,
        key=key,
        path=f"/me/tickets/{ticket_id}/attachments",
        request_hash=idempotency.fingerprint(
            {"kind": upload.kind, "sha256": idempotency.fingerprint(upload.data.hex())}
        ),
        apply=apply,
    )


# --- locations ----------------------------------------------------------------------------
@_post("/locations", response_model=LocationReceipt, responses=ACTION_PROBLEMS)
def post_locations(
    batch: LocationBatch,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> JSONResponse:
    """A batch of my positions (oldest to newest or any order); the newest moves my marker."""
    now = utcnow()
    locations.check_points(batch.points, now=now)

    def apply() -> dict[str, Any]:
        return locations.store_points(
            session,
            engineer_id=user.engineer_id or 0,
            points=batch.points,
            now=now,
            retention_days=settings.location_retention_days,
        ).model_dump(mode="json")

    return _idempotent(
        request,
        session,
        user=user,
        key=key,
        path="/me/locations",
        request_hash=idempotency.fingerprint(batch.model_dump(mode="json")),
        apply=apply,
    )


@router.get("/locations", response_model=list[LocationPublic], responses=PROBLEMS)
def get_locations(
    session: SessionDep,
    user: Me,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LocationPublic]:
    """My own recent positions, newest first."""
    return locations.recent(session, engineer_id=user.engineer_id or 0, since=since, limit=limit)


# --- offline sync -------------------------------------------------------------------------
@_post("/sync", response_model=SyncResponse, responses=ACTION_PROBLEMS)
def post_sync(
    data: SyncRequest,
    request: Request,
    session: SessionDep,
    user: Me,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> JSONResponse:
    """Apply my offline queue in order, each item whole or not at all, with my pings.

    Always 200 when the envelope is valid: each item says ``applied`` or
    ``rejected`` with the status and problem it would have had on its own, and
    whether it was ``replayed`` (its key was seen before).
    """
    now = utcnow()
    ctx = _context(user, settings, None)

    def apply() -> dict[str, Any]:
        return sync.apply_sync(
            session,
            ctx=ctx,
            user_id=user.id or 0,
            request=data,
            now=now,
            retention_days=settings.location_retention_days,
        ).model_dump(mode="json")

    return _idempotent(
        request,
        session,
        user=user,
        key=key,
        path="/me/sync",
        request_hash=idempotency.fingerprint(data.model_dump(mode="json")),
        apply=apply,
    )
