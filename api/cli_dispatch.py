"""``fieldroute plan`` and ``fieldroute report savings``: the dispatch commands.

Cron-friendly: one log line per part on stderr, a progress bar only on a terminal, and
exit codes a script can act on:

* 0 — planned (and published when ``--publish`` was given);
* 1 — bad input or configuration (unknown territory, no Dask scheduler, database…);
* 3 — a part failed twice: nothing was published, the previous plan is unchanged, the
  message names the part;
* 4 — the run was cancelled (``DELETE /plans/{id}``);
* 130 — interrupted (Ctrl-C).

Mounted by ``api.cli`` (``_mount_optional``); this module imports nothing from it, so either
can be imported first.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from api.cli_common import shortfall_line
from crm.db import SchemaOutdatedError, check_schema, make_engine
from crm.errors import DomainError
from crm.settings import Settings

__all__ = ["plan_command", "report_app"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130

report_app = typer.Typer(help="Reports on plans.", no_args_is_help=True)


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    typer.echo(f"fieldroute: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Expected failures as one line on stderr and exit code 1; Ctrl-C as 130."""
    try:
        yield
    except (SchemaOutdatedError, ValueError) as exc:
        _fail(str(exc))
    except DomainError as exc:
        _fail(exc.detail)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            _fail(f"database error: {exc.orig}")
        raise


def _engine(cfg: Settings) -> Any:
    engine = make_engine(cfg.resolved_database_url)
    check_schema(engine)
    return engine


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners swap it per invocation)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _setup_logging(quiet: bool) -> None:
    """One line per part on stderr (the cron log), unless ``--quiet``."""
    logger = logging.getLogger("fieldroute.dispatch")
    ours = [h for h in logger.handlers if isinstance(h, _StderrHandler)]
    if quiet:
        for h in ours:
            logger.removeHandler(h)
        return
    if not ours:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[Any], None] | None]:
    """A rich bar on stderr: parts done, tickets assigned, best objective."""
    from rich.console import Console

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("parts · {task.fields[assigned]} tickets assigned · best {task.fields[obj]}"),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("planning", total=None, assigned=0, obj="–")

        def update(p: Any) -> None:
            obj = "–" if p.objective is None else f"{p.objective:,.0f}"
            bar.update(
                task,
                description=p.phase,
                total=max(p.parts_total, 1),
                completed=p.parts_done,
                assigned=f"{p.assigned:,}/{p.tickets:,}",
                obj=obj,
            )

        yield update


def plan_command(
    date_: Annotated[
        str, typer.Option("--date", help="Day to plan: YYYY-MM-DD, 'today' or 'tomorrow'.")
    ] = "tomorrow",
    territory: Annotated[
        list[str] | None,
        typer.Option("--territory", help="Plan only this territory (name); repeatable."),
    ] = None,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            min=0.1,
            help="Search seconds per part of up to 200 tickets (bigger parts: more).",
        ),
    ] = 30.0,
    solution_limit: Annotated[
        int | None,
        typer.Option("--solution-limit", min=1, help="Stop each part after N improvements."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="local (processes on this machine) or dask; default dask when "
            "FIELDROUTE_DASK_SCHEDULER is set.",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local processes; default cores.")
    ] = None,
    dask_scheduler: Annotated[
        str | None, typer.Option("--dask-scheduler", help="tcp://host:port of a Dask scheduler.")
    ] = None,
    part_timeout: Annotated[
        float | None,
        typer.Option(
            "--part-timeout", help="Kill a part after S seconds (default 3×its limit+120)."
        ),
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish the plan when every part succeeded.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No log lines, no bar.")] = False,
) -> None:
    """Plan a day for every territory in parallel; write a draft plan (and publish it)."""
    from dispatch.batch import plan_day
    from dispatch.clock import parse_day

    cfg = Settings()
    code = 0
    with _errors():
        day = parse_day(date_, cfg.timezone)
        engine = _engine(cfg)
        _setup_logging(quiet)
        with _progress_bar(not quiet and not as_json) as bar:
            result = plan_day(
                engine,
                day,
                territories=territory or None,
                time_limit=time_limit,
                solution_limit=solution_limit,
                executor=executor,
                workers=workers,
                dask_scheduler=dask_scheduler,
                part_timeout=part_timeout,
                publish=publish,
                progress=bar,
                settings=cfg,
            )
        code = result.exit_code
        if as_json:
            typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
        elif code == 0:
            t = result.totals
            reasons = ", ".join(f"{n} {r}" for r, n in t["unassigned_by_reason"].items())
            typer.echo(
                f"plan {result.plan_id} for {day.isoformat()}: {result.status} — "
                f"{t['assigned']:,} of {t['tickets']:,} tickets assigned"
                + (f" (unassigned: {reasons})" if reasons else "")
                + f", {t['km']:,.1f} km, {t['engineers']} engineers, {t['parts']} parts, "
                f"{t['wall_s']:.1f} s"
            )
            short = shortfall_line(t)
            if short:
                typer.echo(short)
        if code != 0:
            typer.echo(f"fieldroute: error: plan {result.plan_id}: {result.error}", err=True)
    if code:
        raise typer.Exit(code)


@report_app.command("savings")
def report_savings(
    date_: Annotated[str, typer.Option("--date", help="YYYY-MM-DD, 'today' or 'tomorrow'.")],
    plan_id: Annotated[
        int | None, typer.Option("--plan", help="A plan id (default: the day's published).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The optimised plan against a greedy dispatcher on the same tickets and engineers."""
    from dispatch.clock import parse_day
    from dispatch.savings import savings_report

    cfg = Settings()
    with _errors():
        day = parse_day(date_, cfg.timezone)
        report = savings_report(_engine(cfg), day, plan_id=plan_id, settings=cfg)
    if as_json:
        typer.echo(json.dumps(report.as_json()))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Savings on {report.day.isoformat()} — plan {report.plan_id} "
        f"({report.plan_status}), {report.tickets} tickets, {report.engineers} engineers"
    )
    for name in ("", "optimised", "greedy", "optimised / greedy"):
        table.add_column(name, justify="right" if name else "left")
    o, g, ratios = report.optimised, report.greedy, report.ratios

    def fmt(v: float | int | None, digits: int = 1) -> str:
        if v is None:
            return "–"
        return f"{v:,}" if isinstance(v, int) else f"{v:,.{digits}f}"

    for label, key, digits in (
        ("km", "km", 1),
        ("drive hours", "drive_hours", 2),
        ("tickets served", "served", 0),
        ("SLA met", "sla_met", 0),
        ("km per served ticket", "km_per_served", 2),
    ):
        table.add_row(
            label,
            fmt(getattr(o, key), digits),
            fmt(getattr(g, key), digits),
            fmt(ratios[key], 3),
        )
    Console().print(table)
