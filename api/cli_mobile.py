"""``fieldroute mobile …``: housekeeping for the engineer mobile API.

Mounted by ``api/cli.py`` as ``fieldroute mobile``.
A daily cron line: ``15 3 * * * fieldroute mobile prune``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from api.cli_common import one_line_errors, ready_engine, settings
from crm.coltypes import utcnow
from crm.db import session_scope
from crm.services import idempotency, locations

mobile_app = typer.Typer(
    help="Engineer mobile API housekeeping.", no_args_is_help=True, add_completion=False
)


@mobile_app.callback()
def _group() -> None:
    """Engineer mobile API housekeeping."""


@mobile_app.command("prune")
def prune(
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Keep this many days of location points "
            "(default: FIELDROUTE_LOCATION_RETENTION_DAYS).",
        ),
    ] = None,
    key_days: Annotated[
        int, typer.Option(min=1, help="Keep idempotency keys (replayable answers) this long.")
    ] = 7,
) -> None:
    """Delete location points and idempotency keys older than their retention."""
    one_line_errors(_prune)(days, key_days)


def _prune(days: int | None, key_days: int) -> None:
    cfg = settings()
    keep = days or cfg.location_retention_days
    now = utcnow()
    with session_scope(ready_engine(cfg)) as session:
        points = locations.prune(session, now=now, retention_days=keep)
        keys = idempotency.prune(session, older_than=now - timedelta(days=key_days))
    typer.echo(
        f"pruned {points} location point(s) older than {keep} day(s) and "
        f"{keys} idempotency key(s) older than {key_days} day(s)"
    )


if __name__ == "__main__":
    mobile_app()
