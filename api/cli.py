"""The ``fieldroute`` command line.

Every command has ``--help``; failures print one clear line to stderr and
exit non-zero, so cron and shell scripts can rely on the exit code.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from api.cli_common import CliError, one_line_errors, ready_engine, settings
from crm.db import session_scope, upgrade, writer
from crm.models import Role

app = typer.Typer(
    name="fieldroute",
    help="Field-service dispatch and route optimisation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


@db_app.command("upgrade")
@one_line_errors
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema to the latest revision."""
    cfg = settings()
    upgrade(cfg.resolved_database_url, revision)
    typer.echo(f"database at revision {revision}: {cfg.resolved_database_url}")


@db_app.command("check")
@one_line_errors
def db_check() -> None:
    """Exit 0 when the schema is current, 1 (with the reason) when not."""
    cfg = settings()
    ready_engine(cfg)
    typer.echo("schema is current")


@app.command()
@one_line_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API (and the dispatcher map) with uvicorn."""
    import uvicorn

    from api.serving import reuse_port_supported, serve_workers

    cfg = settings()
    ready_engine(cfg)  # refuse an outdated schema before binding the port
    typer.echo(f"fieldroute API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    options = {
        "log_level": "info",
        # Longer than clients' usual pause between requests: a connection the
        # server closes just as a client reuses it is a spurious error for it.
        "timeout_keep_alive": 30,
    }
    if workers > 1 and reuse_port_supported():
        raise typer.Exit(serve_workers("api.asgi:app", host, port, workers, **options))
    uvicorn.run("api.asgi:app", host=host, port=port, workers=workers, **options)


@user_app.command("create")
@one_line_errors
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option(help="admin, dispatcher or engineer.")],
    engineer_id: Annotated[int | None, typer.Option(help="Engineer this login is.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password; generated and printed when omitted.")
    ] = None,
) -> None:
    """Create an account."""
    from pydantic import ValidationError

    from crm.schemas.users import UserCreate
    from crm.services.users import create_user

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        data = UserCreate(username=username, password=password, role=role, engineer_id=engineer_id)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CliError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    engine = ready_engine(settings())
    with session_scope(engine) as session:
        user = create_user(session, data=data)
        typer.echo(f"created user {user.username} (id {user.id}, role {user.role})")
    if generated:
        typer.echo(f"password: {password}")


@app.command("import")
@one_line_errors
def import_csv(
    kind: Annotated[str, typer.Argument(help="customers, sites, engineers or tickets.")],
    file: Annotated[Path, typer.Argument(help="CSV file with a header row.", exists=False)],
) -> None:
    """Import a CSV file; any bad row imports nothing and lists every problem."""
    from crm.csvio import KINDS, import_rows

    if kind not in KINDS:
        raise CliError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if not file.is_file():
        raise CliError(f"{file}: no such file")
    engine = ready_engine(settings())
    with Session(writer(engine)) as session:
        report = import_rows(session, kind, file.read_bytes())
    if report.errors:
        for err in report.errors[:50]:
            typer.echo(f"{file}:{err.row}: {err.field}: {err.message}", err=True)
        more = len(report.errors) - 50
        if more > 0:
            typer.echo(f"... and {more} more", err=True)
        raise CliError(f"{len(report.errors)} problem(s) in {file}; nothing was imported")
    typer.echo(f"imported {report.created} {kind}")


@app.command("export")
@one_line_errors
def export_csv(
    kind: Annotated[str, typer.Argument(help="customers, sites, engineers or tickets.")],
    out: Annotated[Path | None, typer.Option(help="File to write; stdout when omitted.")] = None,
) -> None:
    """Export records as CSV (the same columns the importer reads)."""
    from crm.csvio import KINDS, export_rows

    if kind not in KINDS:
        raise CliError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    engine = ready_engine(settings())
    text = export_rows(engine, kind)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}")


def _mount_optional() -> None:
    """Sub-commands that live beside their packages."""
    from api.cli_demo import demo
    from api.cli_dispatch import plan_command, report_app
    from api.cli_mobile import mobile_app

    app.command("demo")(demo)
    app.command("plan")(plan_command)
    app.add_typer(report_app, name="report")
    app.add_typer(mobile_app, name="mobile")
    try:
        from api.cli_bench import bench_app
    except ImportError:  # pragma: no cover - the routing benchmarks are optional
        return
    app.add_typer(bench_app, name="bench", help="Benchmarks on public instances.")


_mount_optional()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
