"""``fieldroute mobile …``: housekeeping for the engineer mobile API.

Meant to be mounted by ``api/cli.py`` as ``app.add_typer(mobile_app, name="mobile")``;
until then ``python -m api.cli_mobile prune`` runs the same command.
A daily cron line: ``15 3 * * * fieldroute mobile prune``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from api.cli import one_line_errors, ready_engine, settings
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
@one_line_errors
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
