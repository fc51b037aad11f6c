"""Idempotency keys: a retried request applies once and gets the first answer.

A phone on a flaky network cannot tell "the request was lost" from "the
answer was lost", so it retries with the same key. The first request to
claim ``(user, key)`` runs; every later one gets the stored answer back.

Concurrency rests on the primary key of ``IdempotencyRecord``: the answer is
an INSERT in the same transaction as the request's effects, so two identical
requests racing each other cannot both commit. The loser's INSERT fails (in
PostgreSQL it waits for the winner's commit first), its effects roll back
with it, and it replays the winner's stored answer instead. (On SQLite the
loser never gets that far: writers hold the database lock from their first
read, so it finds the stored answer at once. On PostgreSQL, actions lock
their ticket row first, so a twin waits there and then finds its move
already made.)

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
from sqlmodel import Session, col, select

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
    if record is None:
        return None
    return _replay(record, key=key, method=method, path=path, request_hash=request_hash)


def _replay(
    record: IdempotencyRecord, *, key: str, method: str, path: str, request_hash: str
) -> Outcome:
    if record.method != method or record.path != path or record.request_hash != request_hash:
        raise KeyReused(
            f"Idempotency-Key {key!r} was first used for {record.method} {record.path} with "
            "a different request; a retry must repeat the request exactly, a new request "
            "needs a new key",
            [{"loc": ["header", "Idempotency-Key"], "msg": "key reused for another request"}],
        )
    return Outcome(record.status_code, record.response, replayed=True)


class _Unknown:
    """Marker: the caller did not look the key up beforehand."""


UNKNOWN = _Unknown()


def run_once(
    session: Session,
    *,
    user_id: int,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    apply: Callable[[], Any],
    known: IdempotencyRecord | _Unknown | None = UNKNOWN,
) -> Outcome:
    """Run ``apply`` at most once per ``(user, key)`` and store its answer.

    ``apply`` returns a JSON-able body (status 200) or raises a DomainError.
    Its effects and the stored answer are written in one savepoint of the
    caller's transaction (the caller commits): the answer's INSERT is the
    last write, and if a twin request stored one first, the primary key
    refuses ours, our effects roll back and the twin's answer is replayed.
    ``known`` passes a record (or None) looked up in bulk beforehand.
    """
    record = session.get(IdempotencyRecord, (user_id, key)) if known is UNKNOWN else known
    if record is not None:
        return _replay(record, key=key, method=method, path=path, request_hash=request_hash)
    item = session.begin_nested()
    try:
        try:
            body, status = apply(), 200
            session.flush()
        except DomainError as exc:
            if exc.status not in STORED_ERRORS or isinstance(exc, KeyReused):
                raise
            if item.is_active:
                item.rollback()
            item = session.begin_nested()
            body, status = problem_body(exc), exc.status
        session.add(
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                method=method,
                path=path,
                request_hash=request_hash,
                status_code=status,
                response=body,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            # A twin request stored its answer first: undo ours, replay theirs.
            item.rollback()
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
                    f"a request with Idempotency-Key {key!r} is still being processed; "
                    "retry shortly"
                ) from None
            return found
    except BaseException:
        if item.is_active:
            item.rollback()
        raise
    item.commit()
    return Outcome(status, body)


def preload(session: Session, *, user_id: int, keys: list[str]) -> dict[str, IdempotencyRecord]:
    """The stored records among ``keys``, in one query (for a batch of items)."""
    if not keys:
        return {}
    rows = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, col(IdempotencyRecord.key).in_(keys)
        )
    ).all()
    return {r.key: r for r in rows}


def prune(session: Session, *, older_than: datetime) -> int:
    """Forget answers older than a cut-off; a phone retries within minutes, not weeks."""
    table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    result = session.execute(sa.delete(table).where(table.c.created_at < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
