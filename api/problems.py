"""RFC 9457 problem details for every error the API returns.

Clients get one shape for everything: ``type``, ``title``, ``status``,
``detail``, plus ``errors`` with field-level details for validation problems
and whatever context the domain error carries (the existing customer's id on
a duplicate, the allowed statuses on an illegal transition, ...).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm.errors import DomainError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("fieldroute.api")


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    slug = code or phrase.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": f"https://fieldroute.dev/problems/{slug.replace('_', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail,
        "code": slug,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        item = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = None
        if "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return problem(
            exc.status,
            exc.detail,
            code=exc.code,
            instance=request.url.path,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        detail = f"{where}: {first['msg']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more problem(s))"
        return problem(
            422, detail, code="validation_error", instance=request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error on %s: %s", request.url.path, exc.orig)
        return problem(
            409,
            "the change conflicts with an existing record "
            "(a unique value is taken or a referenced record is missing)",
            code="conflict",
            instance=request.url.path,
        )

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database busy on %s: %s", request.url.path, exc.orig)
        return problem(
            503,
            "the database is busy; retry shortly",
            code="database_busy",
            instance=request.url.path,
            headers={"Retry-After": "1"},
        )
