"""The nightly batch: plan a day for every territory in parallel and (optionally) publish.

``plan_day`` is what ``fieldroute plan``, ``POST /plans`` and the demo call. It reads the
records once, cuts the day into parts by territory (:mod:`dispatch.parts`), solves every
part in a worker process (:mod:`dispatch.executors`, locally or on Dask), retries tickets
left over with secondary-territory engineers, writes a draft plan and publishes it
atomically when asked. A part that fails twice fails the run: the plan row says which part
and why, nothing is published and the previously published plan stays as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.errors import InvalidInput
from crm.models import PlanStatus, TicketStatus
from crm.services.common import SYSTEM, Actor
from crm.settings import Settings
from dispatch.clock import DayClock
from dispatch.executors import (
    Backend,
    DaskBackend,
    LocalBackend,
    PartEvent,
    RunOutcome,
    run_parts,
)
from dispatch.parts import (
    DEFAULT_MAX_PART_JOBS,
    Decomposition,
    PartPlan,
    decompose,
    second_pass,
    secondary_reasons,
)
from dispatch.plans import PublishResult, create_plan, fail_plan, publish_plan, save_plan
from dispatch.records import (
    TerritoryRecord,
    TicketRecord,
    key_id,
    load_engineers,
    load_territories,
    load_tickets,
)
from dispatch.worker import PartTask
from routing import Job, Priority, Solution, SolveParams, TravelMatrix, Weights
from routing import Route as SolvedRoute

__all__ = [
    "EXIT_CANCELLED",
    "EXIT_OK",
    "EXIT_PART_FAILED",
    "PartReport",
    "PlanProgress",
    "PlanRunResult",
    "part_metaheuristic",
    "plan_day",
    "third_pass_tickets",
    "touching_pairs",
]

log = logging.getLogger("fieldroute.dispatch")

EXIT_OK = 0
EXIT_PART_FAILED = 3
EXIT_CANCELLED = 4

# Reasons meaning "someone could do it on an otherwise empty day" (the bench's denominator).
FEASIBLE_REASONS = frozenset({"over_capacity", "too_costly", "search_limit"})
DEFAULT_FIRST_SOLUTION = "parallel_cheapest_insertion"
# ``time_limit`` is for a part of up to this many tickets; bigger parts get proportionally
# more (a single territory may hold several hundred).
PART_TICKETS_PER_LIMIT = 200
# Parts searched for at least this long use iterated local search, shorter or
# solution-limited ones guided local search. Nightly bench, 30 s per part, two runs each:
# ILS assigned 4,760 and 4,763 tickets, GLS 4,744 and 4,741, both at 2.87-2.90 km per
# served ticket and 512-537 s wall; at 5 s per part ILS assigned fewer (4,662 against
# 4,674, 16 left at the search limit). A solution limit means a test wants GLS's
# reproducible descent.
ILS_PART_SECONDS = 30.0


def part_metaheuristic(time_limit: float, solution_limit: int | None) -> str:
    """The search of every part of a plan run with these limits (see ILS_PART_SECONDS)."""
    if solution_limit is None and time_limit >= ILS_PART_SECONDS:
        return "iterated_local_search"
    return "guided_local_search"


@dataclass(frozen=True, slots=True)
class PartReport:
    """One part's result, for the log line, ``--json`` and the plan's totals."""

    key: str
    name: str
    pass_no: int
    tickets: int
    engineers: int
    assigned: int
    unassigned: int
    objective: float | None
    elapsed: float
    attempts: int
    pid: int | None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.objective is not None or (self.tickets == 0 and not self.errors)


@dataclass(frozen=True, slots=True)
class PlanProgress:
    """Where a run is, for progress bars and ``GET /plans/{id}``."""

    phase: str
    parts_total: int
    parts_done: int
    tickets: int
    assigned: int
    objective: float | None
    event: PartEvent | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["event"] = None if self.event is None else asdict(self.event)
        return out


@dataclass(slots=True)
class PlanRunResult:
    """The outcome of :func:`plan_day`."""

    plan_id: int | None
    day: date
    status: str
    totals: dict[str, Any] = field(default_factory=dict)
    parts: list[PartReport] = field(default_factory=list)
    failed_parts: list[str] = field(default_factory=list)
    error: str | None = None
    published: PublishResult | None = None

    @property
    def exit_code(self) -> int:
        """0 planned (and published if asked), 3 a part failed, 4 cancelled."""
        if self.status == PlanStatus.cancelled:
            return EXIT_CANCELLED
        if self.failed_parts or self.status == PlanStatus.failed:
            return EXIT_PART_FAILED
        return EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``fieldroute plan --json``)."""
        return {
            "plan_id": self.plan_id,
            "day": self.day.isoformat(),
            "status": str(self.status),
            "published": self.published is not None,
            "exit_code": self.exit_code,
            "error": self.error,
            "failed_parts": self.failed_parts,
            "totals": self.totals,
            "parts": [asdict(p) for p in self.parts],
            "publish": None if self.published is None else asdict(self.published),
        }


def touching_pairs(territories: Mapping[int, TerritoryRecord], tolerance_m: float = 20.0):
    """Pairs of territory ids whose stored fences touch (bad or empty fences are skipped)."""
    from geofence import FenceIndex, FenceItem, parse_fence

    items = []
    for t in territories.values():
        if not t.geometry:
            continue
        try:
            items.append(FenceItem(territory_id=t.id, geometry=parse_fence(t.geometry).geometry))
        except Exception:  # an invalid stored fence must not stop the nightly batch
            log.warning("territory %s: fence unreadable, planned as not touching", t.key)
    if len(items) < 2:
        return []
    return FenceIndex(items).touching_pairs(tolerance_m=tolerance_m)


def plannable_on(tickets: Sequence[TicketRecord], clock: DayClock) -> list[TicketRecord]:
    """New tickets, and scheduled ones whose planned start is on this day (or unset)."""
    out = []
    for t in tickets:
        if (
            t.status == TicketStatus.scheduled
            and t.planned_start is not None
            and not clock.contains(t.planned_start)
        ):
            continue
        out.append(t)
    return out


def resolve_territories(
    territories: Mapping[int, TerritoryRecord], wanted: Collection[str | int] | None
) -> frozenset[int] | None:
    """Territory names or ids (``--territory``) → ids; unknown ones are an input error."""
    if not wanted:
        return None
    by_name = {t.name.casefold(): t.id for t in territories.values()}
    ids: set[int] = set()
    unknown = []
    for w in wanted:
        if isinstance(w, int) or (isinstance(w, str) and w.isdigit() and int(w) in territories):
            ids.add(int(w))
        elif isinstance(w, str) and w.casefold() in by_name:
            ids.add(by_name[w.casefold()])
        else:
            unknown.append(str(w))
    if unknown:
        names = ", ".join(sorted(t.name for t in territories.values())) or "none"
        raise InvalidInput(
            f"unknown territory {', '.join(unknown)}; known territories: {names}",
            [{"loc": ["territories"], "msg": "unknown territory"}],
        )
    return frozenset(ids)


class _Tracker:
    """Aggregates part events into :class:`PlanProgress` for the caller."""

    def __init__(self, callback: Callable[[PlanProgress], None] | None, tickets: int) -> None:
        self.callback = callback
        self.tickets = tickets
        self.phase = "loading"
        self.total = 0
        self.done = 0
        self.assigned_before = 0
        self.assigned: dict[str, int] = {}
        # Second-pass parts start from first-pass routes: their count includes jobs
        # already in assigned_before, so only what they add is counted.
        self.kept: dict[str, int] = {}
        self.objective: dict[str, float] = {}

    def start_phase(self, phase: str, parts: int) -> None:
        self.phase = phase
        self.total += parts
        self.emit(None)

    def on_event(self, ev: PartEvent) -> None:
        if ev.objective is not None and ev.objective == ev.objective:  # not NaN
            self.objective[ev.part] = float(ev.objective)
        if ev.kind == "done":
            self.done += 1
            self.assigned[ev.part] = max(0, int(ev.solutions or 0) - self.kept.get(ev.part, 0))
        self.emit(ev)

    def snapshot(self, event: PartEvent | None = None) -> PlanProgress:
        return PlanProgress(
            phase=self.phase,
            parts_total=self.total,
            parts_done=self.done,
            tickets=self.tickets,
            assigned=self.assigned_before + sum(self.assigned.values()),
            objective=round(sum(self.objective.values()), 2) if self.objective else None,
            event=event,
        )

    def emit(self, event: PartEvent | None) -> None:
        if self.callback is not None:
            self.callback(self.snapshot(event))


def plan_day(
    engine: Engine,
    day: date,
    *,
    territories: Collection[str | int] | None = None,
    time_limit: float = 30.0,
    solution_limit: int | None = None,
    executor: str | None = None,
    workers: int | None = None,
    dask_scheduler: str | None = None,
    dask_client: Any = None,
    publish: bool = False,
    progress: Callable[[PlanProgress], None] | None = None,
    plan_id: int | None = None,
    actor: Actor = SYSTEM,
    settings: Settings | None = None,
    weights: Weights | None = None,
    matrix: TravelMatrix | None = None,
    part_timeout: float | None = None,
    max_part_jobs: int = DEFAULT_MAX_PART_JOBS,
    first_solution: str = DEFAULT_FIRST_SOLUTION,
    should_cancel: Callable[[], bool] | None = None,
) -> PlanRunResult:
    """Plan ``day`` (every territory, or ``territories`` by name or id) and write a plan.

    Parameters
    ----------
    time_limit, solution_limit
        Search limits of each part (seconds; improving solutions). A part of more than
        200 tickets gets proportionally more seconds; second-pass parts a quarter (at
        most 10 s). Tests use a solution limit so results do not depend on machine speed.
        On the clock with 30 s or more, parts search with iterated local search, else with
        guided local search (:func:`part_metaheuristic`).
    executor
        ``"local"`` (process per part, ``workers`` at a time, default the cores) or
        ``"dask"`` (``dask_client``, ``dask_scheduler`` or ``FIELDROUTE_DASK_SCHEDULER``).
        Default: Dask when a scheduler is configured, else local.
    publish
        Publish the plan when every part succeeded.
    progress
        Called with a :class:`PlanProgress` at each part event.
    plan_id
        An existing ``running`` plan row to fill (``POST /plans`` creates it first).
    part_timeout
        Seconds an attempt may run before it is killed (default ``3 × its time limit +
        120``).
    should_cancel
        Polled while parts run; ``True`` stops the run (plan ``cancelled``).
    """
    t0 = time.monotonic()
    settings = settings or Settings()
    weights = weights or Weights()
    clock = DayClock.of(day, settings.timezone)
    wants_dask = dask_client is not None or dask_scheduler or settings.dask_scheduler
    executor = executor or ("dask" if wants_dask else "local")
    if executor not in ("local", "dask"):
        raise InvalidInput(f"executor must be 'local' or 'dask', got {executor!r}")

    with Session(engine) as s:
        terr = load_territories(s)
        scope = resolve_territories(terr, territories)
        engineers = load_engineers(s, day)
        tickets = plannable_on(
            load_tickets(s, statuses=[TicketStatus.new, TicketStatus.scheduled]), clock
        )
    scope_doc = {
        "territory_ids": None if scope is None else sorted(scope),
        "territories": None if scope is None else sorted(terr[t].name for t in scope),
        "executor": executor,
        "time_limit": time_limit,
        "solution_limit": solution_limit,
    }
    if plan_id is None:
        plan_id = create_plan(engine, day, scope=scope_doc, created_by=actor.name)
    result = PlanRunResult(plan_id=plan_id, day=day, status=PlanStatus.running)

    decomposition = decompose(
        engineers=engineers,
        tickets=tickets,
        territories=terr,
        clock=clock,
        weights=weights,
        touching=touching_pairs(terr) if len(terr) > 1 else (),
        max_part_jobs=max_part_jobs,
        scope=scope,
    )
    tracker = _Tracker(progress, len(decomposition.jobs))
    timeout: float | Callable[[PartTask], float] = (
        part_timeout if part_timeout is not None else (lambda t: 3 * t.params.time_limit + 120)
    )

    def params(part: PartPlan, limit: float) -> SolveParams:
        if part.pass_no == 1:
            # Bigger parts need proportionally longer to search as well.
            limit *= max(1.0, part.size / PART_TICKETS_PER_LIMIT)
        return SolveParams(
            time_limit=limit,
            solution_limit=solution_limit,
            first_solution=first_solution,
            metaheuristic=part_metaheuristic(time_limit, solution_limit),
            initial_routes=part.initial_routes,
            # A second-pass part is mostly first-pass work to keep: it starts from those
            # routes, which routing's decomposition for large problems would not use.
            decompose=False if part.pass_no > 1 else None,
        )

    backend: Backend
    if executor == "dask":
        backend = DaskBackend(client=dask_client, address=dask_scheduler or settings.dask_scheduler)
    else:
        backend = LocalBackend(workers or settings.plan_workers)

    try:
        parts = decomposition.parts
        tracker.start_phase("first pass", len(parts))
        run1 = _run(parts, backend, params, time_limit, timeout, tracker, should_cancel, matrix)
        result.parts.extend(_reports(parts, run1))
        if run1.failed or run1.cancelled:
            return _stop(engine, result, run1, tracker, t0)
        routes, unassigned = _merge_first(decomposition, parts, run1)

        the_day: dict[str, Any] = {
            "decomposition": decomposition,
            "engineers": engineers,
            "territories": terr,
            "tickets": tickets,
        }
        # Second pass: leftovers to engineers for whom their territory is secondary. Third:
        # tickets that gave way there to urgent work, and those still left for lack of
        # time, go to their own territory's (or a secondary) engineers with room.
        retry: Collection[int] = unassigned.keys()
        for pass_no, own_territory in ((2, False), (3, True)):
            routes_ids = {eid: [int(s.job_id) for s in r.stops] for eid, r in routes.items()}
            extra = second_pass(
                **the_day,
                routes=routes_ids,
                free=_free_time(decomposition, routes),
                unassigned=retry,
                # The secondary cost only weighs against dropping a ticket here (≥ 1,000 vs
                # 20); leaving it out avoids a routing defect where the per-vehicle cost
                # dimension makes OR-Tools reject the warm start (reported).
                weights=replace(weights, secondary_territory=0.0),
                own_territory=own_territory,
                pass_no=pass_no,
            )
            if not extra:
                break
            tracker.assigned_before += sum(tracker.assigned.values())
            tracker.assigned.clear()
            tracker.kept = {
                p.key: sum(len(jobs) for jobs in (p.initial_routes or {}).values()) for p in extra
            }
            tracker.start_phase("second pass" if pass_no == 2 else "third pass", len(extra))
            # These parts start from a complete plan and only try to add a few tickets: a
            # short search does it.
            limit2 = max(1.0, min(time_limit / 4, 10.0))
            run2 = _run(extra, backend, params, limit2, timeout, tracker, should_cancel, matrix)
            result.parts.extend(_reports(extra, run2))
            if run2.failed or run2.cancelled:
                return _stop(engine, result, run2, tracker, t0)
            retry = third_pass_tickets(_merge_second(extra, run2, routes, unassigned), unassigned)
            if not retry:
                break
    finally:
        backend.close()
    # Judged by its part alone, a ticket may look impossible that an engineer of another
    # part could do: say so, and count it among the tickets someone could serve.
    unassigned.update(
        secondary_reasons(
            **the_day,
            unassigned=unassigned,
            free=_free_time(decomposition, routes),
            matrix=matrix,
        )
    )

    totals = _totals(decomposition, routes, unassigned, result.parts, time.monotonic() - t0)
    tracker.phase = "saving"
    final = tracker.snapshot().as_dict()
    if not save_plan(
        engine,
        plan_id,
        clock=clock,
        technicians=decomposition.technicians,
        routes=routes,
        unassigned=unassigned,
        totals=totals,
        progress=final,
    ):
        result.status = PlanStatus.cancelled
        result.error = "cancelled"
        return result
    result.status = PlanStatus.draft
    result.totals = totals
    if publish:
        result.published = publish_plan(engine, plan_id, actor=actor)
        result.status = PlanStatus.published
    result.totals["wall_s"] = round(time.monotonic() - t0, 2)
    log.info(
        "plan %s for %s: %s, %d/%d tickets assigned, %.1f km, %d parts, %.1f s",
        plan_id,
        day.isoformat(),
        result.status,
        totals["assigned"],
        totals["tickets"],
        totals["km"],
        len(result.parts),
        result.totals["wall_s"],
    )
    return result


def _run(
    parts: Sequence[PartPlan],
    backend: Backend,
    params: Callable[[PartPlan, float], SolveParams],
    limit: float,
    part_timeout: float | Callable[[PartTask], float],
    tracker: _Tracker,
    should_cancel: Callable[[], bool] | None,
    matrix: TravelMatrix | None,
) -> RunOutcome:
    tasks = [PartTask(p.key, p.problem, params(p, limit), matrix) for p in parts]
    outcome = run_parts(
        tasks,
        backend,
        part_timeout=part_timeout,
        on_event=tracker.on_event,
        should_cancel=should_cancel,
    )
    names = {p.key: p for p in parts}
    for key, run in outcome.runs.items():
        part = names[key]
        if run.outcome is not None:
            sol = run.outcome.solution
            log.info(
                "part %s [%s]: %d tickets, %d engineers -> %d assigned, %d unassigned, "
                "objective %.2f, %.1f s, attempt %d, pid %s",
                key,
                part.name,
                len(part.problem.jobs),
                len(part.problem.technicians),
                sol.assigned,
                len(sol.unassigned),
                sol.objective,
                run.outcome.elapsed,
                run.attempts,
                run.outcome.pid,
            )
        elif run.errors:
            log.error(
                "part %s [%s]: FAILED after %d attempt(s): %s",
                key,
                part.name,
                run.attempts,
                "; ".join(run.errors),
            )
    return outcome


def _reports(parts: Sequence[PartPlan], outcome: RunOutcome) -> list[PartReport]:
    out = []
    for p in parts:
        run = outcome.runs[p.key]
        sol = run.outcome.solution if run.outcome else None
        out.append(
            PartReport(
                key=p.key,
                name=p.name,
                pass_no=p.pass_no,
                tickets=len(p.problem.jobs),
                engineers=len(p.problem.technicians),
                assigned=sol.assigned if sol else 0,
                unassigned=len(sol.unassigned) if sol else 0,
                objective=None if sol is None else round(sol.objective, 2),
                elapsed=round(run.outcome.elapsed, 2) if run.outcome else 0.0,
                attempts=run.attempts,
                pid=run.pid,
                errors=tuple(run.errors),
            )
        )
    return out


def _stop(
    engine: Engine, result: PlanRunResult, run: RunOutcome, tracker: _Tracker, t0: float
) -> PlanRunResult:
    progress = tracker.snapshot().as_dict()
    assert result.plan_id is not None
    if run.cancelled:
        result.status = PlanStatus.cancelled
        result.error = "cancelled while planning"
        fail_plan(
            engine, result.plan_id, result.error, status=PlanStatus.cancelled, progress=progress
        )
        return result
    names = {p.key: p.name for p in result.parts}
    details = []
    for key in run.failed:
        errors = "; ".join(run.runs[key].errors)
        details.append(f"part {key} [{names.get(key, key)}] failed twice ({errors})")
    result.failed_parts = list(run.failed)
    result.status = PlanStatus.failed
    result.error = "; ".join(details) + "; nothing was published and the previous plan is unchanged"
    fail_plan(engine, result.plan_id, result.error, progress=progress)
    result.totals = {"wall_s": round(time.monotonic() - t0, 2)}
    return result


def _free_time(dec: Decomposition, routes: Mapping[int, SolvedRoute]) -> dict[int, int]:
    """Seconds of each engineer's shift his route leaves unused."""
    out = {}
    for eid, tech in dec.technicians.items():
        r = routes.get(eid)
        busy = (r.end_time - r.start_time) if r is not None and r.stops else 0
        out[eid] = tech.shift.end - tech.shift.start - busy
    return out


def _merge_first(
    dec: Decomposition, parts: Sequence[PartPlan], run: RunOutcome
) -> tuple[dict[int, SolvedRoute], dict[int, tuple[str, str]]]:
    routes: dict[int, SolvedRoute] = {}
    unassigned: dict[int, tuple[str, str]] = dict(dec.orphans)
    for p in parts:
        outcome = run.runs[p.key].outcome
        assert outcome is not None
        sol: Solution = outcome.solution
        for r in sol.routes:
            routes[key_id(r.technician_id)] = r
        for u in sol.unassigned:
            unassigned[int(u.job_id)] = (u.reason.value, u.message)
    return routes, unassigned


def _merge_second(
    parts: Sequence[PartPlan],
    run: RunOutcome,
    routes: dict[int, SolvedRoute],
    unassigned: dict[int, tuple[str, str]],
) -> set[int]:
    """Take the retry parts' routes; returns the tickets that gave way to urgent work."""
    displaced: set[int] = set()
    for p in parts:
        outcome = run.runs[p.key].outcome
        assert outcome is not None
        sol = outcome.solution
        first = {j.id: j for j in p.problem.jobs if j.pinned_to is not None}
        # Only first-pass work of a lower priority than the part's leftovers may give way.
        must_keep = {i for i, j in first.items() if j.priority is Priority.URGENT}
        placed = {s.job_id for r in sol.routes for s in r.stops}
        if not must_keep <= placed:
            log.warning(
                "part %s: the second pass dropped first-pass jobs %s; keeping the first pass",
                p.key,
                sorted(must_keep - placed),
            )
            continue
        why = {u.job_id: u for u in sol.unassigned}
        for job_id in sorted(set(first) - placed):
            u = why[job_id]
            displaced.add(int(job_id))
            unassigned[int(job_id)] = (
                u.reason.value,
                f"Planned for {first[job_id].pinned_to} in the first pass, it gave way to more "
                f"urgent work he took on in a later pass. {u.message}",
            )
        kept = set(first)
        for t in p.problem.technicians:
            eid = key_id(t.id)
            r = sol.route_of(t.id)
            if r is None:
                routes.pop(eid, None)
            else:
                routes[eid] = r
        for job_id in placed - kept:
            unassigned.pop(int(job_id), None)
        for u in sol.unassigned:
            tid = int(u.job_id)
            if tid in unassigned and u.job_id not in first:
                reason, message = unassigned[tid]
                # "Someone could do it but the day is full" outranks the first pass's
                # "nobody in this territory could": the day's reason is the truer one.
                if u.reason.value in FEASIBLE_REASONS:
                    reason = u.reason.value
                unassigned[tid] = (
                    reason,
                    f"{message} Secondary-territory engineers: {u.message}",
                )
    return displaced


def third_pass_tickets(
    displaced: Collection[int], unassigned: Mapping[int, tuple[str, str]]
) -> set[int]:
    """The tickets the third pass retries: those that gave way, and all still left for time.

    The first pass searches a whole territory at once and can leave a job out while one of
    the territory's own engineers has an hour free (ten such in a 476-ticket district of
    the benchmark city), and the second pass offers leftovers to secondary engineers only;
    a small part around an own engineer's day places them. Tickets nobody could do alone
    are not retried: no part would take them.
    """
    return set(displaced) | {t for t, (r, _) in unassigned.items() if r in FEASIBLE_REASONS}


def shortfall(jobs: Sequence[Job], top: int = 10) -> list[dict[str, Any]]:
    """Where the day ran out of hands: over-capacity tickets by territory and trade.

    A ticket dropped for lack of time says what to staff: its territory and the trade
    it needs most (the skill with the highest level required). The biggest groups come
    first, so a manager reads "Songjiang, hvac: 19" rather than 19 separate reasons.
    """
    counts: dict[tuple[str, str], int] = {}
    for job in jobs:
        trade = max(job.skills.items(), key=lambda kv: (kv[1], kv[0]))[0] if job.skills else "-"
        place = (job.territory or "no territory").rsplit(" #", 1)[0]
        counts[place, trade] = counts.get((place, trade), 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{"territory": t, "skill": k, "tickets": n} for (t, k), n in ranked]


def _totals(
    dec: Decomposition,
    routes: Mapping[int, SolvedRoute],
    unassigned: Mapping[int, tuple[str, str]],
    parts: Sequence[PartReport],
    wall: float,
) -> dict[str, Any]:
    assigned = sum(len(r.stops) for r in routes.values())
    sla_met = 0
    for r in routes.values():
        for s in r.stops:
            job = dec.jobs.get(int(s.job_id))
            if job is None or job.sla_due is None or s.start <= job.sla_due:
                sla_met += 1
    by_reason: dict[str, int] = {}
    for reason, _ in unassigned.values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    feasible = assigned + sum(n for r, n in by_reason.items() if r in FEASIBLE_REASONS)
    km = sum(r.distance_m for r in routes.values()) / 1000
    over = [dec.jobs[t] for t, (reason, _) in unassigned.items() if reason == "over_capacity"]
    return {
        "tickets": len(dec.jobs),
        "assigned": assigned,
        "unassigned": len(unassigned),
        "unassigned_by_reason": dict(sorted(by_reason.items())),
        "with_feasible_engineer": feasible,
        "short_of": shortfall(over),
        "engineers": len(dec.technicians),
        "routes_with_work": sum(1 for r in routes.values() if r.stops),
        "km": round(km, 3),
        "drive_hours": round(sum(r.travel_s for r in routes.values()) / 3600, 3),
        "work_hours": round(sum(r.service_s for r in routes.values()) / 3600, 3),
        "wait_hours": round(sum(r.wait_s for r in routes.values()) / 3600, 3),
        "sla_met": sla_met,
        "km_per_served": round(km / assigned, 4) if assigned else None,
        "objective": round(sum(p.objective or 0.0 for p in parts if p.pass_no == 1), 2),
        "parts": len([p for p in parts if p.pass_no == 1]),
        "second_pass_parts": len([p for p in parts if p.pass_no == 2]),
        "third_pass_parts": len([p for p in parts if p.pass_no == 3]),
        "wall_s": round(wall, 2),
    }
