"""What runs inside a worker process (local pool or Dask worker): one part, one solve.

Only plain data crosses the process boundary: a :class:`PartTask` in (a ``routing.Problem``
and search settings), a :class:`PartOutcome` out (a ``routing.Solution``). Nothing here
touches the database, so a worker needs no connection and a Dask worker on another
machine needs nothing but the package.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from typing import Any

from routing import HaversineMatrix, Problem, Solution, SolveParams, TravelMatrix, solve

__all__ = ["PartOutcome", "PartTask", "init_worker", "solve_part"]

# The event queue of a local worker process, set once by the pool's initializer (the
# standard ProcessPoolExecutor pattern); ``None`` on Dask workers, which report nothing
# until the task ends.
_events: Any = None
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True, slots=True)
class PartTask:
    """Everything a worker needs to solve one part."""

    key: str
    problem: Problem
    params: SolveParams
    matrix: TravelMatrix | None = None


@dataclass(frozen=True, slots=True)
class PartOutcome:
    """A solved part, with the process that solved it (for the log line)."""

    key: str
    attempt: int
    pid: int
    solution: Solution
    elapsed: float


def init_worker(events: Any) -> None:
    """Pool initializer: remember the queue that carries start and progress events."""
    global _events
    _events = events


def _emit(message: tuple[Any, ...]) -> None:
    if _events is not None:
        # A full or closed queue must never fail a solve.
        with contextlib.suppress(Exception):
            _events.put_nowait(message)


def solve_part(task: PartTask, attempt: int = 1) -> PartOutcome:
    """Solve one part; announce the start (with the pid) and each improvement."""
    pid = os.getpid()
    t0 = time.monotonic()
    _emit(("started", task.key, attempt, pid))
    params = task.params
    if _events is not None:
        last = [0.0]

        def progress(p: Any) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                _emit(("progress", task.key, attempt, pid, p.objective, p.solutions))

        params = replace(params, progress=progress)
    solution = solve(task.problem, task.matrix or HaversineMatrix(), params)
    return PartOutcome(task.key, attempt, pid, solution, time.monotonic() - t0)
