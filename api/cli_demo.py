"""``fieldroute demo``: a city around Shanghai, planned for tomorrow, on the map.

What ``make demo`` runs, so what a new user sees first: it creates the
database (``crm.db.upgrade``) at ``FIELDROUTE_DATABASE_URL`` (default
``var/fieldroute.db``), loads the demo city through the crm services, plans
tomorrow with ``dispatch`` (progress bar, published plan), prints the savings
report against the greedy baseline, the map URL and the dispatcher's login,
and serves the app on 127.0.0.1.

Mounted by ``api/cli.py`` as ``app.command("demo")(demo)``. Running it twice
on the same day reuses the city; a database holding anything else is left
alone unless ``--reset`` says otherwise.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, func, select

from api.cli_common import shortfall_line
from crm.db import SchemaOutdatedError, make_engine, session_scope, upgrade
from crm.errors import DomainError
from crm.models import Customer, Role, User
from crm.services.common import ANY_VERSION
from crm.settings import Settings

__all__ = ["DemoSize", "demo"]

MARKER = "demo-city.json"


class DemoSize(StrEnum):
    """City sizes (see ``dispatch.democity.SIZES``)."""

    small = "small"
    medium = "medium"
    large = "large"


def _echo(message: str = "") -> None:
    typer.echo(message)


def _marker_path(cfg: Settings) -> Path:
    return cfg.var_dir / MARKER


def _read_marker(cfg: Settings, url: str) -> dict[str, Any] | None:
    """What the last demo loaded into this database, if it was the demo."""
    path = _marker_path(cfg)
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return marker if marker.get("database") == url else None


def _wipe(engine: Engine) -> None:
    """Empty every table (children first); the schema and its revision stay."""
    import crm.models  # noqa: F401  (registers every table)

    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(sa.delete(table))


def _figures_table(figures: dict[str, Any], report: Any | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Demo city for {figures['day']}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("territories (district fences)", figures["territories"]),
        (
            "engineers / on shift tomorrow",
            f"{figures['engineers']} / {figures['engineers_on_shift']}",
        ),
        ("secondary territory memberships", figures["memberships_secondary"]),
        ("customers", figures["customers"]),
        ("sites / outside every fence", f"{figures['sites']} / {figures['sites_outside_fences']}"),
        ("open tickets", figures["open_tickets"]),
        (
            "  urgent / high / normal / low",
            " / ".join(str(v) for v in figures["open_by_priority"].values()),
        ),
        ("work demanded (h)", figures["work_hours_demanded"]),
        ("shift time available (h)", figures["shift_hours_available"]),
        ("tickets completed last week", figures["completed_last_week"]),
    ]
    if report is not None:
        rows += [
            ("repeat callers merged by phone", report.repeat_callers_merged),
            ("phones rejected by validation", report.phones_rejected),
        ]
    for name, value in rows:
        table.add_row(name, str(value))
    Console().print(table)


def _load(engine: Engine, size: DemoSize, seed: int, day: date, tz: str, password: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from dispatch.democity import generate_city, load_city

    spec = generate_city(size.value, seed)
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn()) as bar:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        return load_city(engine, spec, day=day, tz=tz, dispatcher_password=password, progress=tick)


def _reset_password(engine: Engine, password: str) -> None:
    from crm.schemas.users import UserUpdate
    from crm.services.users import update_user

    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "dispatcher")).first()
        if user is None or user.id is None:
            from crm.schemas.users import UserCreate
            from crm.services.users import create_user

            create_user(
                session,
                data=UserCreate(username="dispatcher", password=password, role=Role.dispatcher),
            )
            return
        update_user(
            session,
            user_id=user.id,
            data=UserUpdate(password=password, active=True),
            expected_version=ANY_VERSION,
        )


def demo(
    size: Annotated[DemoSize, typer.Option(help="small, medium (the default) or large.")] = (
        DemoSize.medium
    ),
    seed: Annotated[int, typer.Option(help="Same seed, same city.")] = 7,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the figures (exit 0).")
    ] = False,
    reset: Annotated[
        bool, typer.Option("--reset", help="Empty the database first, whatever it holds.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000,
    password: Annotated[
        str | None, typer.Option(help="Dispatcher password; generated when omitted.")
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(help="Search seconds per planning part (default by size: 5, 10, 30)."),
    ] = None,
) -> None:
    """Load the demo city around Shanghai, plan tomorrow, print the figures, serve the map."""
    try:
        _demo(size, seed, no_serve, reset, port, password, time_limit)
    except (SchemaOutdatedError, OperationalError) as exc:
        typer.echo(f"fieldroute: error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except DomainError as exc:
        typer.echo(f"fieldroute: error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        typer.echo(f"fieldroute: error: {err['loc'][-1]}: {err['msg']}", err=True)
        raise typer.Exit(1) from exc


def _demo(
    size: DemoSize,
    seed: int,
    no_serve: bool,
    reset: bool,
    port: int,
    password: str | None,
    time_limit: float | None,
) -> None:
    cfg = Settings()
    url = cfg.resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    tz = cfg.timezone
    day = datetime.now(ZoneInfo(tz)).date() + timedelta(days=1)
    password = password or secrets.token_urlsafe(9)
    where = engine.url.render_as_string(hide_password=True)

    with session_scope(engine) as session:
        customers = session.exec(select(func.count()).select_from(Customer)).one()
    marker = _read_marker(cfg, url)
    wanted = {"database": url, "size": size.value, "seed": seed, "day": day.isoformat()}
    report = None
    if customers and marker == wanted and not reset:
        _echo(f"The demo city ({size.value}, seed {seed}) for {day} is already in {where}.")
        _reset_password(engine, password)
    else:
        if customers and marker is None and not reset:
            raise DomainError(
                f"{where} already holds {customers} customers that are not a demo city; "
                "pass --reset to replace them, or set FIELDROUTE_DATABASE_URL to another database"
            )
        if customers:
            _echo(f"Emptying {where} ...")
            _wipe(engine)
        _echo(f"Loading the {size.value} demo city (seed {seed}) for {day} into {where}")
        report = _load(engine, size, seed, day, tz, password)
        cfg.var_dir.mkdir(parents=True, exist_ok=True)
        _marker_path(cfg).write_text(json.dumps(wanted))

    from dispatch.democity import city_figures

    with session_scope(engine) as session:
        figures = city_figures(session, day=day)
    _figures_table(figures, report)
    from api.mapdata import choose_plan

    with session_scope(engine) as session:
        planned = choose_plan(session, day)
    if planned is not None and planned.status == "published" and report is None:
        _echo(f"Tomorrow is already planned (published plan {planned.id}).")
    else:
        _plan(engine, cfg, day, time_limit or TIME_LIMITS[size.value])

    link = f"http://127.0.0.1:{port}/map?date={day.isoformat()}"
    _echo()
    _echo(f"Map:       {link}")
    _echo("Login:     dispatcher / " + password)
    _echo(f"API docs:  http://127.0.0.1:{port}/docs")
    if no_serve:
        return
    import uvicorn

    from api.app import create_app

    _echo("Serving on 127.0.0.1 (Ctrl+C to stop)")
    uvicorn.run(create_app(cfg, engine=engine), host="127.0.0.1", port=port, log_level="warning")


#: Search seconds per planning part, by city size: the demo should plan in
#: about a minute on a laptop; ``fieldroute plan`` is the place for long searches.
TIME_LIMITS = {"small": 5.0, "medium": 10.0, "large": 30.0}


def _plan(engine: Engine, cfg: Settings, day: date, time_limit: float) -> bool:
    """Plan ``day`` with dispatch (progress bar), publish it, print the savings report.

    Returns whether a plan was published; a failure is reported, not raised,
    so the map is still served with what the database holds.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from dispatch.batch import plan_day

    _echo(f"Planning {day} (up to {time_limit:g} s of search per part) ...")
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("parts · {task.fields[assigned]} tickets assigned"),
    ) as bar:
        task = bar.add_task("planning", total=None, assigned="0")

        def update(p: Any) -> None:
            bar.update(
                task,
                description=p.phase,
                total=max(p.parts_total, 1),
                completed=p.parts_done,
                assigned=f"{p.assigned:,}/{p.tickets:,}",
            )

        try:
            result = plan_day(
                engine, day, time_limit=time_limit, publish=True, progress=update, settings=cfg
            )
        except DomainError as exc:
            typer.echo(f"fieldroute: planning failed: {exc.detail}", err=True)
            return False
    if result.exit_code != 0:
        typer.echo(f"fieldroute: planning failed: plan {result.plan_id}: {result.error}", err=True)
        return False
    t = result.totals
    reasons = ", ".join(f"{n} {r}" for r, n in t.get("unassigned_by_reason", {}).items())
    _echo(
        f"Plan {result.plan_id} for {day}: {result.status} — {t['assigned']:,} of "
        f"{t['tickets']:,} tickets assigned"
        + (f" (unassigned: {reasons})" if reasons else "")
        + f", {t['km']:,.1f} km, {t['wall_s']:.1f} s"
    )
    short = shortfall_line(t)
    if short:
        _echo(short)
    from api.cli_dispatch import report_savings

    report_savings(date_=day.isoformat(), plan_id=result.plan_id, as_json=False)
    return True


if __name__ == "__main__":  # pragma: no cover - `python -m api.cli_demo` before it is mounted
    typer.run(demo)
