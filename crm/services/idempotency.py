"""Idempotency keys: a retried request applies once and gets the first answer.

A phone on a flaky network cannot tell "the request was lost" from "the
answer was lost", so it retries with the same key. The first request to
claim ``(user, key)`` runs; every later one gets the stored answer back.

Concurrency rests on the primary key of ``IdempotencyRecord``: the claim is
an INSERT in the same transaction as the request's effects, so two identical
requests racing each other cannot both commit. The loser's INSERT fails (in
PostgreSQL it waits for the winner's commit first), its effects roll back
with it, and it replays the winner's stored answer instead.

What is stored: successful answers and the business refusals of a request
that did run (404, 409, 422 from a service) — replaying those is what "the
first result" means. Never stored: validation failures of the request
itself, stale versions (412), and server trouble (5xx), because nothing was
applied and a retry deserves a fresh try.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.errors import Conflict, DomainError, InvalidInput
from crm.models import IdempotencyRecord

# Refusals worth replaying: the request ran and the domain said no.
STORED_ERRORS = frozenset({404, 409, 422})


class KeyReused(InvalidInput):
    """The same key arrived with a different request: a client bug, not a retry."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Outcome:
    """The answer to a request: fresh or replayed from its first run."""

    status: int
    body: Any
    replayed: bool = False


def fingerprint(data: Any) -> str:
    """SHA-256 of a canonical JSON rendering, so key order and spacing don't matter."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def problem_body(exc: DomainError) -> dict[str, Any]:
    """The RFC 9457 body for a domain error, in the same shape api/problems.py sends.

    Stored answers and per-item sync results need it below the API layer.
    """
    phrase = HTTPStatus(exc.status).phrase
    body: dict[str, Any] = {
        "type": f"https://fieldroute.dev/problems/{exc.code.replace('_', '-')}",
        "title": phrase,
        "status": exc.status,
        "detail": exc.detail,
        "code": exc.code,
    }
    body.update(json.loads(json.dumps(exc.extra, default=str)))
    return body


def find(
    session: Session, *, user_id: int, key: str, method: str, path: str, request_hash: str
) -> Outcome | None:
    """The stored answer for this key, or None; a different request under it is 422."""
    record = session.get(IdempotencyRecord, (user_id, key))
    if record is None or record.status_code == 0:
        return None
    if record.method != method or record.path != path or record.request_hash != request_hash:
        raise KeyReused(
            f"Idempotency-Key {key!r} was first used for {record.method} {record.path} with "
            "a different request; a retry must repeat the request exactly, a new request "
            "needs a new key",
            [{"loc": ["header", "Idempotency-Key"], "msg": "key reused for another request"}],
        )
    return Outcome(record.status_code, record.response, replayed=True)


def run_once(
    session: Session,
    *,
    user_id: int,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    apply: Callable[[], Any],
) -> Outcome:
    """Run ``apply`` at most once per ``(user, key)`` and store its answer.

    ``apply`` returns a JSON-able body (status 200) or raises a DomainError.
    Everything happens in savepoints of the caller's transaction; the caller
    commits. Call it after the transaction holds the write lock (see
    ``crm.services.writes.begin_write``) so the first lookup is current.
    """
    found = find(
        session, user_id=user_id, key=key, method=method, path=path, request_hash=request_hash
    )
    if found is not None:
        return found
    claim = session.begin_nested()
    record = IdempotencyRecord(
        user_id=user_id,
        key=key,
        method=method,
        path=path,
        request_hash=request_hash,
        status_code=0,
    )
    try:
        session.add(record)
        session.flush()
    except IntegrityError:
        # A twin request claimed the key first and has committed by now.
        claim.rollback()
        found = find(
            session,
            user_id=user_id,
            key=key,
            method=method,
            path=path,
            request_hash=request_hash,
        )
        if found is None:
            raise Conflict(
                f"a request with Idempotency-Key {key!r} is still being processed; retry shortly"
            ) from None
        return found
    try:
        try:
            with session.begin_nested():
                body = apply()
            status = 200
        except DomainError as exc:
            if exc.status not in STORED_ERRORS or isinstance(exc, KeyReused):
                raise
            status, body = exc.status, problem_body(exc)
        record.status_code = status
        record.response = body
        session.flush()
    except BaseException:
        if claim.is_active:
            claim.rollback()
        raise
    claim.commit()
    return Outcome(status, body)


def prune(session: Session, *, older_than: datetime) -> int:
    """Forget answers older than a cut-off; a phone retries within minutes, not weeks."""
    table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    result = session.execute(sa.delete(table).where(table.c.created_at < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
