"""Domain errors raised by services; the API maps each to a problem+json
response, the CLI to one line and a non-zero exit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, entity: str, ident: object) -> None:
        super().__init__(f"{entity} {ident} not found", entity=entity, id=ident)


class Conflict(DomainError):
    status = 409
    code = "conflict"


class DuplicateRecord(Conflict):
    code = "duplicate"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, current: str, wanted: str, allowed: Sequence[str]) -> None:
        allowed_txt = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(
            f"a ticket that is {current} cannot become {wanted}; allowed: {allowed_txt}",
            current=current,
            wanted=wanted,
            allowed=list(allowed),
        )


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"


class InvalidInput(DomainError):
    """Input that passed type validation but breaks a business rule."""

    status = 422
    code = "invalid"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail, errors=errors or [])


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"
