"""What every ``fieldroute`` command shares: settings, a checked engine, and
turning expected failures into one line on stderr and a non-zero exit.

Sub-command modules (``cli_dispatch``, ``cli_mobile``, ...) import from here,
never from ``api.cli``, which imports them to mount them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from crm.db import SchemaOutdatedError, check_schema, make_engine
from crm.errors import DomainError
from crm.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """A failure to report as one line and exit code 1."""


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"fieldroute: error: {message}", err=True)
    raise typer.Exit(code)


def one_line_errors(fn: F) -> F:
    """Turn expected failures into one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (CliError, SchemaOutdatedError) as exc:
            fail(str(exc))
        except DomainError as exc:
            fail(exc.detail)
        except OperationalError as exc:
            fail(f"database error: {exc.orig}")

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    return Settings()


def ready_engine(cfg: Settings) -> Engine:
    engine = make_engine(cfg.resolved_database_url)
    check_schema(engine)
    return engine


def shortfall_line(totals: dict[str, Any], top: int = 5) -> str | None:
    """The plan's over-capacity tickets by territory and trade, for the summary."""
    groups = totals.get("short_of") or []
    if not groups:
        return None
    shown = ", ".join(f"{g['territory']} {g['skill']} {g['tickets']}" for g in groups[:top])
    return f"short of hands (over-capacity tickets by territory and trade): {shown}"
