"""Worker processes owned by the web app: planning jobs and re-optimisation solves.

OR-Tools holds the GIL for a whole solve, so the API never solves in its threadpool or on
its event loop. A :class:`DispatchRuntime` belongs to one app (``app.state``): it creates
two process pools lazily on first use and shuts them down with the app.

* Planning jobs (``POST /plans``) run :func:`run_plan_job` in the *plan pool*: the job
  process runs :func:`dispatch.batch.plan_day`, which starts one process per part. The job
  reports progress into the plan row and stops within a second when the row says
  ``cancelled`` (``DELETE /plans/{id}``), killing its part processes.
* Re-optimisation solves (``POST /dispatch/reoptimize``) run in the *solve pool*; the
  request awaits the future, so the event loop stays free.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from typing import Any

from crm.models import PlanStatus
from crm.settings import Settings

__all__ = ["DispatchRuntime", "run_plan_job"]

log = logging.getLogger("fieldroute.dispatch")
# What a planning job and a re-optimisation import: loaded once in the fork server.
PRELOAD = ("dispatch.worker", "dispatch.batch", "dispatch.reoptimize", "geofence")


def _throttled(fn: Callable[[], Any], every: float) -> Callable[[], Any]:
    last = [0.0, None]

    def call() -> Any:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            last[1] = fn()
        return last[1]

    return call


def run_plan_job(
    database_url: str, plan_id: int, day: date, options: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The body of a planning job (in a worker process): plan, report progress, obey cancel."""
    from crm.db import make_engine
    from dispatch.batch import PlanProgress, plan_day
    from dispatch.plans import fail_plan, plan_status, set_progress

    engine = make_engine(database_url)
    try:
        last = [0.0]

        def progress(p: PlanProgress) -> None:
            now = time.monotonic()
            if now - last[0] >= 1.0 or (p.event is not None and p.event.kind == "done"):
                last[0] = now
                set_progress(engine, plan_id, p.as_dict())

        running = _throttled(lambda: plan_status(engine, plan_id) == PlanStatus.running, 0.5)
        if not running():
            return {"plan_id": plan_id, "status": str(plan_status(engine, plan_id))}
        try:
            result = plan_day(
                engine,
                day,
                plan_id=plan_id,
                progress=progress,
                should_cancel=lambda: not running(),
                settings=settings,
                **options,
            )
        except Exception as exc:
            log.exception("plan %s failed", plan_id)
            fail_plan(engine, plan_id, f"{type(exc).__name__}: {exc}")
            return {"plan_id": plan_id, "status": "failed", "error": str(exc)}
        return result.as_dict()
    finally:
        engine.dispose()


class DispatchRuntime:
    """The app's worker pools and running planning jobs (see the module docstring)."""

    def __init__(self, database_url: str, settings: Settings) -> None:
        self.database_url = database_url
        self.settings = settings
        self._lock = threading.Lock()
        self._plan_pool: ProcessPoolExecutor | None = None
        self._solve_pool: ProcessPoolExecutor | None = None
        self._jobs: dict[int, Future[dict[str, Any]]] = {}

    def _pool(self, which: str) -> ProcessPoolExecutor:
        from dispatch.executors import mp_context

        ctx = mp_context(PRELOAD)
        with self._lock:
            if which == "plan":
                if self._plan_pool is None:
                    self._plan_pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
                return self._plan_pool
            if self._solve_pool is None:
                workers = self.settings.plan_workers or os.cpu_count() or 1
                self._solve_pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            return self._solve_pool

    def start_plan(self, plan_id: int, day: date, options: dict[str, Any]) -> Future[Any]:
        """Run a planning job for an existing ``running`` plan row."""
        fut = self._pool("plan").submit(
            run_plan_job, self.database_url, plan_id, day, options, self.settings
        )
        self._jobs[plan_id] = fut
        return fut

    def wait(self, plan_id: int, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until a planning job ends (tests and scripts; the API never waits)."""
        fut = self._jobs.get(plan_id)
        return None if fut is None else fut.result(timeout=timeout)

    def submit_solve(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run a solve in the solve pool (never in a thread of the web server)."""
        return self._pool("solve").submit(fn, *args)

    def shutdown(self) -> None:
        """Stop the pools; planning jobs still running are cancelled in the database."""
        from crm.db import make_engine
        from dispatch.plans import fail_plan

        running = [pid for pid, fut in self._jobs.items() if not fut.done()]
        if running:
            engine = make_engine(self.database_url)
            try:
                for pid in running:
                    with contextlib.suppress(Exception):
                        fail_plan(engine, pid, "the server shut down", status=PlanStatus.cancelled)
            finally:
                engine.dispose()
        # Jobs see "cancelled" within a second and stop their part processes; a
        # re-optimisation solve ends within its (short) time limit.
        for pool in (self._plan_pool, self._solve_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._plan_pool = self._solve_pool = None
