"""Run a directory of Solomon-format instances: the logic behind ``fieldroute bench solomon``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from routing.benchmarks.vrptw import BenchResult, load_bks, read_vrptw, solve_vrptw, write_sol

__all__ = ["TEN", "find_instances", "format_table", "run_directory"]

TEN = ("C101", "C201", "R101", "R112", "R201", "R205", "RC101", "RC105", "RC201", "RC208")
"""The ten instances of the issue-3 target (one or two of each class)."""


def find_instances(directory: str | Path, names: Sequence[str] | None = None) -> list[Path]:
    """Instance files (``*.txt``) in ``directory``, optionally only the given names."""
    files = sorted(p for p in Path(directory).glob("*.txt") if p.is_file())
    if names:
        wanted = {n.upper() for n in names}
        files = [p for p in files if p.stem.upper() in wanted]
    return files


def run_directory(
    directory: str | Path,
    time_limit: float,
    *,
    out_dir: str | Path | None = None,
    names: Sequence[str] | None = None,
    workers: int = 2,
    on_result: Callable[[BenchResult], None] | None = None,
) -> list[BenchResult]:
    """Solve every instance of a directory, write ``.sol`` files, compare with ``bks.csv``.

    Parameters
    ----------
    directory
        Folder of instances; a ``bks.csv`` next to them gives the best-known solutions.
    time_limit
        Seconds per instance.
    out_dir
        Where to write ``<instance>.sol`` (skipped when ``None``).
    names
        Restrict to these instance names.
    workers
        Parallel searches per instance.
    on_result
        Called after each instance (to print progress as it goes).
    """
    directory = Path(directory)
    bks_path = directory / "bks.csv"
    bks = load_bks(bks_path) if bks_path.exists() else {}
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    results: list[BenchResult] = []
    for path in find_instances(directory, names):
        inst = read_vrptw(path)
        result = solve_vrptw(inst, time_limit, workers=workers, bks=bks.get(path.stem.upper()))
        if out_dir is not None and result.feasible:
            write_sol(Path(out_dir) / f"{path.stem}.sol", result.routes, result.distance)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def format_row(r: BenchResult) -> str:
    """One line of the table."""
    bks = "-" if r.bks_distance is None else f"{r.bks_distance:.2f}"
    gap = "-" if r.gap_pct is None else f"{r.gap_pct:+.2f}"
    flag = "" if r.feasible else "  INFEASIBLE: " + "; ".join(r.violations[:3])
    return (
        f"{r.instance:<10} {r.vehicles:>8} {r.distance:>12.2f} {bks:>12} {gap:>8} "
        f"{r.seconds:>8.1f}{flag}"
    )


HEADER = (
    f"{'instance':<10} {'vehicles':>8} {'distance':>12} {'bks':>12} {'gap %':>8} {'seconds':>8}"
)


def format_table(results: Sequence[BenchResult]) -> str:
    """The whole table with a mean gap line."""
    lines = [HEADER, *(format_row(r) for r in results)]
    gaps = [r.gap_pct for r in results if r.gap_pct is not None]
    if gaps:
        lines.append(f"mean gap {sum(gaps) / len(gaps):+.2f} % over {len(gaps)} instances")
    return "\n".join(lines)
