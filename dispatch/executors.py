"""Running parts in worker processes (locally or on Dask), with one retry and time-outs.

OR-Tools holds the GIL for a whole solve, so parts never run in threads. Two backends:

* :class:`LocalBackend` — each part in its own worker process, at most ``workers`` (the
  cores) at a time. Every part gets a one-process ``ProcessPoolExecutor``: a killed worker
  breaks only *its* pool, so exactly the part it was solving fails and is retried, and
  innocent parts running beside it are not charged a retry (a shared pool would break for
  everyone). The ``forkserver`` context (``spawn`` where there is none) never forks a
  process that has run OR-Tools or holds threads; the solver is preloaded once in the
  fork server so each part starts in milliseconds.
* :class:`DaskBackend` — parts as tasks on a ``distributed`` cluster.

:func:`run_parts` drives either: starts the biggest parts first, enforces a per-part
time-out, retries a failed part once, stops everything when a part fails twice (the run
cannot be complete) or when ``should_cancel`` says so, and reports every step as a
:class:`PartEvent`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_mod
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

from dispatch.worker import PartOutcome, PartTask, init_worker, solve_part
from routing.processes import search_process_env

__all__ = [
    "Backend",
    "DaskBackend",
    "LocalBackend",
    "PartEvent",
    "PartRun",
    "RunOutcome",
    "mp_context",
    "run_parts",
]


@dataclass(frozen=True, slots=True)
class PartEvent:
    """One step of a part: ``submitted``, ``started``, ``progress``, ``done``, ``retry``,
    ``failed`` (for good) or ``cancelled``."""

    kind: str
    part: str
    attempt: int
    pid: int | None = None
    objective: float | None = None
    solutions: int | None = None
    message: str = ""


@dataclass(slots=True)
class PartRun:
    """What happened to one part across its attempts."""

    key: str
    attempts: int = 0
    outcome: PartOutcome | None = None
    errors: list[str] = field(default_factory=list)
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None


@dataclass(slots=True)
class RunOutcome:
    """Every part's run; ``failed`` names parts that failed twice; ``cancelled`` if asked."""

    runs: dict[str, PartRun]
    failed: list[str]
    cancelled: bool = False


class PartError(RuntimeError):
    """A part's attempt failed (worker died, exception in the solve, time-out)."""


class Backend(Protocol):
    """Where parts run. Handles are opaque to :func:`run_parts`."""

    capacity: int

    def submit(self, task: PartTask, attempt: int) -> Any: ...

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]: ...

    def result(self, handle: Any) -> PartOutcome: ...

    def events(self) -> list[tuple[Any, ...]]: ...

    def kill(self, handle: Any) -> None: ...

    def close(self) -> None: ...


def mp_context(
    preload: Sequence[str] = ("dispatch.worker", "dispatch.batch"),
) -> multiprocessing.context.BaseContext:
    """``forkserver`` (``spawn`` where there is none) with ``preload`` imported once.

    The fork server is started by the first pool of this process and imports the
    ``preload`` modules then (the solver: about a second); every worker is forked from it
    with those modules in place. The list only matters before the server starts.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # Every worker re-imports the main script (the CLI, pytest) before it starts;
        # CPython 3.11's forkserver cannot preload "__main__" (it never receives the path),
        # so what the main script imports is preloaded instead (``dispatch.batch`` pulls in
        # the crm models and SQLAlchemy), which makes that re-import cheap.
        ctx.set_forkserver_preload(list(preload))
        return ctx
    return multiprocessing.get_context("spawn")


@dataclass(slots=True, eq=False)
class _LocalHandle:
    key: str
    attempt: int
    pool: ProcessPoolExecutor
    future: Future[PartOutcome]
    pid: int | None = None


class LocalBackend:
    """One single-process pool per part on this machine; ``workers`` parts at a time."""

    def __init__(self, workers: int | None = None) -> None:
        self.capacity = max(1, workers or os.cpu_count() or 1)
        self._ctx = mp_context()
        self._queue: Any = self._ctx.Queue()
        self._live: dict[tuple[str, int], _LocalHandle] = {}

    def submit(self, task: PartTask, attempt: int) -> _LocalHandle:
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=self._ctx,
            initializer=init_worker,
            initargs=(self._queue,),
        )
        with search_process_env():  # the fork server starts with the first part
            future = pool.submit(solve_part, task, attempt)
        handle = _LocalHandle(task.key, attempt, pool, future)
        self._live[(task.key, attempt)] = handle
        return handle

    def wait(self, handles: Sequence[_LocalHandle], timeout: float) -> list[_LocalHandle]:
        if not handles:
            time.sleep(timeout)
            return []
        by_future = {h.future: h for h in handles}
        done, _ = futures_wait(list(by_future), timeout=timeout, return_when=FIRST_COMPLETED)
        return [by_future[f] for f in done]

    def result(self, handle: _LocalHandle) -> PartOutcome:
        try:
            return handle.future.result()
        except BrokenProcessPool as exc:
            raise PartError("its worker process died (killed or crashed) while solving") from exc
        except Exception as exc:
            raise PartError(_describe(exc)) from exc
        finally:
            self._live.pop((handle.key, handle.attempt), None)
            handle.pool.shutdown(wait=False, cancel_futures=True)

    def events(self) -> list[tuple[Any, ...]]:
        out = []
        while True:
            try:
                msg = self._queue.get_nowait()
            except queue_mod.Empty:
                break
            except (OSError, ValueError, EOFError):
                break
            if msg and msg[0] == "started":
                h = self._live.get((msg[1], msg[2]))
                if h is not None:
                    h.pid = msg[3]
            out.append(msg)
        return out

    def kill(self, handle: _LocalHandle) -> None:
        pids = {handle.pid} if handle.pid else set()
        # Before its "started" message arrives the pid is only known to the pool.
        pids |= set(getattr(handle.pool, "_processes", None) or ())
        for pid in pids:
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        for handle in list(self._live.values()):
            if not handle.future.done():
                self.kill(handle)
            handle.pool.shutdown(wait=False, cancel_futures=True)
        self._live.clear()
        with contextlib.suppress(Exception):
            self._queue.close()
            self._queue.join_thread()


@dataclass(slots=True, eq=False)
class _DaskHandle:
    key: str
    attempt: int
    future: Any


class DaskBackend:
    """Parts as tasks on a Dask ``distributed`` cluster (given a client or an address)."""

    def __init__(self, client: Any = None, address: str | None = None) -> None:
        from distributed import Client

        if client is None and not address:
            raise ValueError(
                "the Dask executor needs a scheduler: set FIELDROUTE_DASK_SCHEDULER "
                "(tcp://host:port) or pass --dask-scheduler"
            )
        self._own = client is None
        self.client = client if client is not None else Client(address, timeout="20s")
        self.capacity = 10**6  # the scheduler queues; submit everything
        self._pending: list[tuple[Any, ...]] = []

    def submit(self, task: PartTask, attempt: int) -> _DaskHandle:
        import uuid

        fut = self.client.submit(
            solve_part,
            task,
            attempt,
            key=f"fieldroute-part-{task.key}-{attempt}-{uuid.uuid4().hex[:8]}",
            pure=False,
            retries=0,
        )
        # Dask says nothing when a task starts: count it as started when submitted.
        self._pending.append(("started", task.key, attempt, None))
        return _DaskHandle(task.key, attempt, fut)

    def wait(self, handles: Sequence[_DaskHandle], timeout: float) -> list[_DaskHandle]:
        from distributed import wait as dask_wait

        if not handles:
            time.sleep(timeout)
            return []
        by_future = {h.future.key: h for h in handles}
        try:
            done, _ = dask_wait(
                [h.future for h in handles], timeout=timeout, return_when="FIRST_COMPLETED"
            )
        except TimeoutError:
            return []
        except Exception:  # distributed raises its own TimeoutError subclass in some versions
            return [h for h in handles if h.future.done()]
        return [by_future[f.key] for f in done]

    def result(self, handle: _DaskHandle) -> PartOutcome:
        try:
            return handle.future.result()
        except Exception as exc:
            raise PartError(_describe(exc)) from exc
        finally:
            with contextlib.suppress(Exception):
                handle.future.release()

    def events(self) -> list[tuple[Any, ...]]:
        out, self._pending = self._pending, []
        return out

    def kill(self, handle: _DaskHandle) -> None:
        with contextlib.suppress(Exception):
            handle.future.cancel()

    def close(self) -> None:
        if self._own:
            with contextlib.suppress(Exception):
                self.client.close()


def _describe(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last[:500]


def run_parts(
    tasks: Sequence[PartTask],
    backend: Backend,
    *,
    part_timeout: float | Callable[[PartTask], float],
    max_attempts: int = 2,
    on_event: Callable[[PartEvent], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    poll: float = 0.2,
) -> RunOutcome:
    """Run every task on ``backend``; retry a failed attempt once; fail fast after that.

    ``part_timeout`` (seconds, or a function of the task) counts from the attempt's start
    (the worker's "started" message; for Dask, its submission). A part over time is
    killed and counts as failed.
    """
    timeout_of = part_timeout if callable(part_timeout) else (lambda _t: part_timeout)
    emit = on_event or (lambda _e: None)
    order = sorted(tasks, key=lambda t: -len(t.problem.jobs))
    queue = [(t, 1) for t in order]
    runs = {t.key: PartRun(t.key) for t in tasks}
    running: dict[Any, tuple[PartTask, int, float | None, float]] = {}
    failed: list[str] = []
    cancelled = False

    def start(task: PartTask, attempt: int) -> None:
        runs[task.key].attempts = attempt
        handle = backend.submit(task, attempt)
        running[handle] = (task, attempt, None, time.monotonic())
        emit(PartEvent("submitted", task.key, attempt))

    try:
        while queue or running:
            while queue and len(running) < backend.capacity and not failed:
                task, attempt = queue.pop(0)
                start(task, attempt)
            done = backend.wait(list(running), poll)
            now = time.monotonic()
            for msg in backend.events():
                kind, key, attempt = msg[0], msg[1], msg[2]
                pid = msg[3] if len(msg) > 3 else None
                for h, (task, att, _started, submitted) in list(running.items()):
                    if task.key == key and att == attempt and kind == "started":
                        running[h] = (task, att, now, submitted)
                        runs[key].pid = pid
                if kind == "started":
                    emit(PartEvent("started", key, attempt, pid=pid))
                elif kind == "progress":
                    emit(
                        PartEvent(
                            "progress", key, attempt, pid=pid, objective=msg[4], solutions=msg[5]
                        )
                    )
            for handle in done:
                task, attempt, _started, _sub = running.pop(handle)
                run = runs[task.key]
                try:
                    outcome = backend.result(handle)
                except PartError as exc:
                    _failure(run, task, attempt, str(exc), queue, failed, max_attempts, emit)
                    continue
                run.outcome = outcome
                run.pid = outcome.pid
                emit(
                    PartEvent(
                        "done",
                        task.key,
                        attempt,
                        pid=outcome.pid,
                        objective=outcome.solution.objective,
                        solutions=outcome.solution.assigned,
                    )
                )
            for handle, (task, attempt, started, submitted) in list(running.items()):
                since = started if started is not None else submitted
                allowed = float(timeout_of(task))  # type: ignore[operator]
                limit = allowed if started is not None else allowed + 60.0
                if now - since > limit:
                    backend.kill(handle)
                    running.pop(handle)
                    with contextlib.suppress(PartError):
                        backend.result(handle)
                    _failure(
                        runs[task.key],
                        task,
                        attempt,
                        f"timed out after {allowed:g} s",
                        queue,
                        failed,
                        max_attempts,
                        emit,
                    )
            if failed:
                break
            if should_cancel is not None and should_cancel():
                cancelled = True
                break
    finally:
        for handle, (task, attempt, _s, _b) in list(running.items()):
            backend.kill(handle)
            emit(PartEvent("cancelled", task.key, attempt))
        running.clear()
    return RunOutcome(runs=runs, failed=failed, cancelled=cancelled)


def _failure(
    run: PartRun,
    task: PartTask,
    attempt: int,
    error: str,
    queue: list[tuple[PartTask, int]],
    failed: list[str],
    max_attempts: int,
    emit: Callable[[PartEvent], None],
) -> None:
    run.errors.append(f"attempt {attempt}: {error}")
    if attempt < max_attempts:
        emit(PartEvent("retry", task.key, attempt, message=error))
        queue.insert(0, (task, attempt + 1))
    else:
        emit(PartEvent("failed", task.key, attempt, message=error))
        failed.append(task.key)
