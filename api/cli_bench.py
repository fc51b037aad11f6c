"""``fieldroute bench``: benchmark commands (mounted by ``api/cli.py``).

The work happens in :mod:`routing.benchmarks`; this module only parses options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from routing.benchmarks.solomon import HEADER, format_row, format_table, run_directory

bench_app = typer.Typer(help="Benchmarks of the routing engine.", no_args_is_help=True)


@bench_app.callback()
def _group() -> None:
    """Benchmarks of the routing engine (keeps ``solomon`` a subcommand)."""


@bench_app.command("solomon")
def solomon(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder of Solomon-format instances.")
    ],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per instance.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Write VRPLIB .sol files here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead.")] = False,
    instance: Annotated[
        list[str] | None, typer.Option("--instance", help="Only these instances (repeat).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Parallel searches.")] = 2,
) -> None:
    """Solve Solomon VRPTW instances; print vehicles, distance, best-known, gap and time."""
    if not directory.is_dir():
        raise typer.BadParameter(f"{directory} is not a directory", param_hint="DIR")

    def live(result) -> None:
        if not as_json:
            typer.echo(format_row(result))

    if not as_json:
        typer.echo(HEADER)
    results = run_directory(
        directory, time_limit, out_dir=out_dir, names=instance, workers=workers, on_result=live
    )
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
    elif not results:
        typer.echo("no instances found")
    elif any(r.gap_pct is not None for r in results):
        typer.echo(format_table(results).splitlines()[-1])
    if any(not r.feasible for r in results):
        raise typer.Exit(code=1)
