"""Helpers every service uses: loading, version checks, partial updates."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, SQLModel

from crm.coltypes import utcnow
from crm.errors import InvalidInput, NotFound, PreconditionFailed, PreconditionRequired

M = TypeVar("M", bound=SQLModel)
B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class Actor:
    """Who is making a change, for the audit trail."""

    name: str
    user_id: int | None = None
    role: str | None = None
    engineer_id: int | None = None


SYSTEM = Actor(name="system")

# If-Match: * — the writer knowingly accepts whatever version is current.
ANY_VERSION = -1


def get_or_404(session: Session, model: type[M], ident: int, entity: str | None = None) -> M:
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(entity or model.__name__.lower(), ident)
    return obj


def require_version(obj: Any, expected: int | None, entity: str) -> None:
    """Optimistic concurrency: a write must name the version it was based on."""
    if expected is None:
        raise PreconditionRequired(
            f"updating a {entity} needs an If-Match header with its ETag (current version "
            f"{obj.version}); read it first so you do not overwrite someone else's change"
        )
    if expected == ANY_VERSION:
        return
    if expected != obj.version:
        raise PreconditionFailed(
            f"{entity} {obj.id} was changed by someone else (you have version {expected}, "
            f"it is now {obj.version}); reload and apply your change again",
            current_version=obj.version,
        )


def flush_versioned(session: Session, obj: Any, entity: str) -> None:
    """Flush, turning a lost race into 412 rather than a silent overwrite."""
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        raise PreconditionFailed(
            f"{entity} {obj.id} was changed by someone else while you were saving; "
            "reload and apply your change again"
        ) from exc


def apply_changes(obj: Any, changes: BaseModel | Mapping[str, Any]) -> bool:
    """Copy the fields a client actually sent (exclude_unset) onto a row."""
    data = changes.model_dump(exclude_unset=True) if isinstance(changes, BaseModel) else changes
    changed = False
    for key, value in data.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    if changed and hasattr(obj, "updated_at"):
        obj.updated_at = utcnow()
    return changed


def revalidate(schema: type[B], data: Mapping[str, Any]) -> B:
    """Validate a merged record (stored values + a partial update) as a whole.

    A PATCH may be valid alone and still break a rule across fields (a shift
    end moved before its start); the whole is checked and reported as 422.
    """
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        raise InvalidInput(errors[0]["msg"].removeprefix("Value error, "), errors) from exc


def sort_keys(sort: str | None, allowed: Collection[str]) -> list[tuple[str, bool]]:
    """``sort=-priority,created_at`` → ``[(name, descending), …]``, checked against a
    whitelist (every list's ``sort`` parameter reads this way)."""
    if not sort:
        return []
    keys = []
    for part in sort.split(","):
        name = part.strip()
        desc = name.startswith("-")
        name = name.lstrip("-+")
        if name not in allowed:
            raise InvalidInput(
                f"cannot sort by {name!r}; choose from: {', '.join(sorted(allowed))}",
                [{"loc": ["query", "sort"], "msg": f"unknown sort key {name!r}"}],
            )
        keys.append((name, desc))
    return keys
