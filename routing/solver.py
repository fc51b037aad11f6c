"""``solve``: matrices once, pre-checks, one or several searches, routes with reasons."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from routing.compiled import COST_SCALE, Compiled, compile_problem, resolve_matrices
from routing.decompose import LARGE, solve_decomposed
from routing.domain import Problem
from routing.fleet import fleet_for, whole
from routing.matrix import HaversineMatrix, Matrices, TravelMatrix
from routing.ortools_model import SMALL, WARM_HEAT, RawResult, SearchConfig, run_search
from routing.params import SolveParams
from routing.processes import search_process_env
from routing.reasons import analyse_dropped, insert_dropped, precheck
from routing.recombine import recombine, separable
from routing.schedule import evaluate_nodes
from routing.solution import Progress, Reason, Solution, Status, Unassigned

__all__ = ["portfolio", "solve"]

ROUND_SECONDS = 6.0  # see _rounds
MAX_ROUNDS = 8

# Configurations tried by extra workers, strongest first. Each pairs a construction with an
# improvement phase that explores differently, so independent searches rarely duplicate.
_PORTFOLIO: tuple[tuple[str, str], ...] = (
    ("local_cheapest_insertion", "iterated_local_search"),
    ("parallel_cheapest_insertion", "guided_local_search"),
    ("path_cheapest_arc", "iterated_local_search"),
    ("savings", "guided_local_search"),
)


def portfolio(params: SolveParams, n: int) -> list[SearchConfig]:
    """The ``n`` search configurations of a solve: the requested one, then the portfolio."""
    wanted = (params.first_solution, params.metaheuristic)
    pairs = [wanted]
    for pair in _PORTFOLIO:
        if len(pairs) >= n:
            break
        if pair != wanted:
            pairs.append(pair)
    while len(pairs) < n:
        pairs.append(_PORTFOLIO[len(pairs) % len(_PORTFOLIO)])
    return [
        SearchConfig(
            first_solution=fs,
            metaheuristic=mh,
            time_limit=params.time_limit,
            solution_limit=params.solution_limit,
            log_search=params.log_search,
            strategy=params.strategy,
            seed=params.seed + k,
            ruin=(10, 15, 8, 12)[k % 4],  # different ruin sizes diversify ILS searches
            # The first search reinserts the most valuable jobs first when values differ;
            # the others reinsert at random, which finds shorter routes when every job fits.
            random_recreate=None if k == 0 else True,
            name=f"{k}:{fs}+{mh}",
        )
        for k, (fs, mh) in enumerate(pairs)
    ]


def _initial_nodes(c: Compiled, params: SolveParams, active: set[int]):
    if not params.initial_routes:
        return None
    job_index = {j.id: i for i, j in enumerate(c.problem.jobs)}
    routes: list[tuple[int, ...]] = []
    for tech in c.problem.technicians:
        ids = params.initial_routes.get(tech.id, ())
        routes.append(tuple(job_index[j] for j in ids if j in job_index and job_index[j] in active))
    return tuple(routes)


def _run_portfolio(
    c: Compiled,
    active: tuple[int, ...],
    configs: list[SearchConfig],
    deadline: float,
    progress,
) -> list[RawResult]:
    if len(configs) == 1:
        return [run_search(c, active, configs[0], progress, deadline)]
    with _search_pool(len(configs), progress) as pool:
        return _run_round(pool, c, active, configs, deadline, progress)


def _search_pool(n: int, progress) -> ProcessPoolExecutor:
    # The first search stays in this process only when someone watches its progress: in a
    # process of its own it gets the search environment (see routing.processes) too.
    inline = 1 if progress is not None else 0
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=max(1, n - inline), mp_context=ctx)


def _run_round(
    pool: ProcessPoolExecutor,
    c: Compiled,
    active: tuple[int, ...],
    configs: list[SearchConfig],
    deadline: float,
    progress,
) -> list[RawResult]:
    """One search per configuration, all until ``deadline``: the first in this process when
    someone watches its progress, the others in ``pool``."""
    inline = configs[:1] if progress is not None else []
    with search_process_env():
        futures: list[Future[RawResult]] = [
            pool.submit(run_search, c, active, cfg, None, deadline)
            for cfg in configs[len(inline) :]
        ]
    results = [run_search(c, active, cfg, progress, deadline) for cfg in inline]
    results.extend(f.result() for f in futures)
    return results


def _rounds(params: SolveParams, workers: int) -> int:
    """How many times the portfolio's searches meet: one round per ROUND_SECONDS of the time
    limit. Measured for iterated local search only (guided local search would lose the
    penalties it learned at each meeting), and a solution limit means a test wants one
    reproducible search per worker."""
    if params.rounds is not None:
        return params.rounds
    if workers < 2 or params.solution_limit is not None:
        return 1
    if params.metaheuristic != "iterated_local_search":
        return 1
    return max(1, min(MAX_ROUNDS, int(params.time_limit // ROUND_SECONDS)))


def _reinsertion(plan: Sequence[Sequence[int]], active: Sequence[int]) -> bool | None:
    """The reinsertion order of the searches that continue from ``plan``.

    A plan that serves every job has no place to protect, so every search reinserts at
    random, which finds shorter routes (the Solomon ten with mixed priorities: 1.1 % on
    R201). A plan that leaves jobs out goes on with the valuable jobs first: on RC101 with 10
    of its 25 vehicles, searches reinserting at random left out more valuable jobs.
    """
    return True if sum(map(len, plan)) >= len(active) else None


def _cooperative(
    c: Compiled,
    active: tuple[int, ...],
    configs: list[SearchConfig],
    deadline: float,
    final: float,
    progress,
    rounds: int,
) -> list[RawResult]:
    """The portfolio in ``rounds`` rounds until ``deadline``, then the final recombination
    until ``final``. Between two rounds the routes seen so far are recombined (see
    :mod:`routing.recombine`), and every search of the next round starts from that plan,
    cooler, with a seed of its own, and reinserting at random if the plan serves every job.

    Independent searches keep the best of two draws; meeting lets the search that settled
    in a poor basin continue from the better plan, and the recombination joins the good
    routes of both. From the second round on, the searches leave out the unused vehicles
    beyond a few spare ones of each kind (see :mod:`routing.fleet`).
    """
    budget = final - deadline
    if len(configs) == 1:
        results = [run_search(c, active, configs[0], progress, deadline)]
        return _finish(c, active, results, configs, final, budget, progress, None)
    t_start = time.monotonic()
    span = deadline - t_start
    seen: set[tuple[int, tuple[int, ...]]] = set()
    merged: list[RawResult] = []
    round_configs = configs
    fleet = whole(c)
    with _search_pool(len(configs), progress) as pool:
        for k in range(rounds):
            last = k == rounds - 1
            # Choosing among the routes takes a moment, while every search process waits.
            meet = 0.0 if last else min(budget * 2 / 3, 0.25 * span / rounds)
            end = deadline if last else t_start + span * (k + 1) / rounds - meet
            raw = _run_round(pool, fleet.compiled, active, round_configs, end, progress)
            results = [fleet.lift(r) for r in raw]
            offset = time.monotonic() - t_start - max(r.elapsed for r in results)
            for r in results:
                seen.update(r.pool)
                r.pool = []
            if merged:
                results = [_chain(a, b, offset) for a, b in zip(merged, results, strict=True)]
            merged = results
            found = [r for r in results if r.objective is not None]
            if last or not found:
                break
            best = min(found, key=lambda r: r.objective or 0)
            plan = best.routes
            out = recombine(c, active, list(seen), best.routes, time_limit=meet)
            if out is not None:
                plan = out[0]
            # The next round searches with the plan's vehicles and a few spare ones.
            fleet = fleet_for(c, plan)
            start = fleet.plan(plan)
            order = _reinsertion(plan, active)
            round_configs = [
                replace(
                    cfg,
                    initial_routes=start,
                    seed=cfg.seed + 1000 * (k + 1),
                    heat=WARM_HEAT,
                    random_recreate=order,
                )
                for cfg in configs
            ]
        pooled = [r for r in merged if r.objective is not None]
        if pooled:
            min(pooled, key=lambda r: r.objective or 0).pool = list(seen)
        return _finish(c, active, merged, configs, final, budget, progress, pool)


def _finish(
    c: Compiled,
    active: tuple[int, ...],
    results: list[RawResult],
    configs: list[SearchConfig],
    final: float,
    budget: float,
    progress,
    pool: ProcessPoolExecutor | None,
) -> list[RawResult]:
    """``results`` and what the final seconds add: the recombination and its descent in
    this process, and meanwhile, when there is a pool, one more search from the best plan
    in it, so that neither core idles while the routes are chosen (it used to idle 1.1-1.4 s
    of a 30 s solve whenever the recombination found nothing better)."""
    found = [r for r in results if r.objective is not None]
    more: Future[RawResult] | None = None
    fleet = whole(c)
    if pool is not None and found and configs[-1].solution_limit is None:
        best = min(found, key=lambda r: r.objective or 0)
        cfg = configs[-1]
        fleet = fleet_for(c, best.routes)
        last = replace(
            cfg,
            initial_routes=fleet.plan(best.routes),
            seed=cfg.seed + 1000 * (MAX_ROUNDS + 1),
            heat=WARM_HEAT,
            random_recreate=_reinsertion(best.routes, active),
            collect_routes=False,
            name=f"{cfg.name} (last seconds)",
        )
        with search_process_env():
            more = pool.submit(run_search, fleet.compiled, active, last, None, final)
    combined = _recombined(c, active, results, configs[0], final, budget, progress)
    out = results + ([combined] if combined is not None else [])
    if more is not None:
        out.append(fleet.lift(more.result()))
    return out


def _chain(before: RawResult, after: RawResult, offset: float) -> RawResult:
    """One configuration's searches across rounds, as one search: solutions add up, the
    history goes on (times from the first round's start, improvements only), and the
    result is the later round's, which started from the best plan so far."""
    if before.objective is not None and (
        after.objective is None or after.objective > before.objective
    ):
        # The later round could not use the plan (it never happens with a feasible one):
        # keep what this configuration had.
        return replace(before, solutions=before.solutions + after.solutions)
    best = before.history[-1][1] if before.history else None
    later = [(offset + t, v) for t, v in after.history if best is None or v < best]
    return replace(
        after,
        solutions=before.solutions + after.solutions,
        elapsed=offset + after.elapsed,
        history=before.history + later,
        name=before.name,
        warm_start_used=before.warm_start_used,
    )


def _recombined(
    c: Compiled,
    active: tuple[int, ...],
    results: list[RawResult],
    config: SearchConfig,
    deadline: float,
    budget: float,
    report: Callable[[float, int, int], None] | None,
) -> RawResult | None:
    """The best plan made of the searches' routes, improved by a descent until
    ``deadline``; None when neither beats the best search. When no combination beats the
    best search, the descent starts from the best search itself (named "descended")."""
    t0 = time.monotonic()
    found = [r for r in results if r.objective is not None]
    if not found:
        return None
    best = min(found, key=lambda r: r.objective or 0)
    pool = [route for r in found for route in r.pool]
    for r in results:
        r.pool = []  # a few thousand routes each: not kept in the solution's details
    out = recombine(c, active, pool, best.routes, time_limit=budget * 2 / 3)
    name = "recombined" if out is not None else "descended"
    routes, cost = out if out is not None else (best.routes, best.objective or 0)
    history = [(time.monotonic() - t0, cost)]
    if report is not None and out is not None:
        report(0.0, cost, 1)
    fleet = fleet_for(c, routes)
    polish = replace(
        config,
        metaheuristic="guided_local_search",
        initial_routes=fleet.plan(routes),
        collect_routes=False,
        name=name,
    )
    offset = time.monotonic() - t0
    more = fleet.lift(run_search(fleet.compiled, active, polish, None, deadline))
    if more.objective is not None and more.objective < cost:
        more.history = history + [(offset + t, v) for t, v in more.history if v < cost]
        more.elapsed = time.monotonic() - t0
        return more
    if out is None:
        return None
    return RawResult(
        routes=routes,
        objective=cost,
        status=best.status,
        solutions=1,
        elapsed=time.monotonic() - t0,
        history=history,
        name="recombined",
    )


def solve(
    problem: Problem,
    matrix: TravelMatrix | Matrices | None = None,
    params: SolveParams | None = None,
) -> Solution:
    """Plan routes for every technician and explain every job left out.

    The travel matrix is computed once, jobs no plan could serve are set aside with their
    reason, the OR-Tools model searches (several independent processes when
    ``params.workers > 1``, keeping the best), and every job still unassigned is re-checked
    against the final routes to say why.

    Parameters
    ----------
    problem
        Technicians, jobs, weights.
    matrix
        A provider (default :class:`~routing.matrix.HaversineMatrix`) or ready-made
        ``Matrices`` over ``problem.locations``.
    params
        Time limit, strategies, warm start, progress callback.

    Returns
    -------
    Solution
        Routes with timed stops, unassigned jobs with reasons, objective and status.
    """
    params = params or SolveParams()
    mats = resolve_matrices(problem, matrix if matrix is not None else HaversineMatrix())
    t0 = time.monotonic()
    c = compile_problem(problem, mats)
    pre = precheck(c)
    # Keep a little time for the repair pass and the reasons after the search.
    end = t0 + params.time_limit
    deadline = end - min(0.1 * params.time_limit, 0.2 + 0.003 * len(pre.active))

    # None when nobody watches: then every portfolio search may run in a search process.
    report: Callable[[float, int, int], None] | None = None
    if params.progress is not None:
        watcher = params.progress

        reported: list[int] = []
        counted = [0, 0]  # solutions of the phases before this one, and of this one

        def report(elapsed: float, objective: int, count: int) -> None:
            # A round of the portfolio counts its solutions from one again and starts from
            # the best plan so far: the watcher sees one search, improving only.
            if count < counted[1]:
                counted[0] += counted[1]
            counted[1] = count
            if reported and objective >= reported[-1]:
                return
            reported.append(objective)
            watcher(Progress(time.monotonic() - t0, objective / COST_SCALE, sum(counted)))

    results: list[RawResult] = []
    # A daemonic process (a Dask worker by default) may not start children: search in-process.
    workers = 1 if multiprocessing.current_process().daemon else params.workers
    if pre.active and c.n_vehicles:
        configs = portfolio(params, workers)
        warm = _initial_nodes(c, params, set(pre.active))
        if warm is not None:
            configs[0] = replace(configs[0], initial_routes=warm)
        large = len(pre.active) > LARGE and not c.balance_coef
        decomposed = bool(params.decompose or (params.decompose is None and large))
        recombining = (
            params.recombine and not decomposed and len(pre.active) > SMALL and separable(c)
        )
        if decomposed:
            results = [
                solve_decomposed(
                    c,
                    pre.active,
                    configs[0],
                    deadline,
                    workers,
                    report,
                    initial=warm,
                )
            ]
        elif recombining:
            # The last few percent of the time: choose among the routes seen, then a short
            # descent from that choice.
            budget = min(0.06 * params.time_limit, 0.5 + 0.01 * len(pre.active))
            configs = [replace(cfg, collect_routes=True) for cfg in configs]
            rounds = _rounds(params, len(configs))
            results = _cooperative(
                c, pre.active, configs, deadline - budget, deadline, report, rounds
            )
        else:
            results = _run_portfolio(c, pre.active, configs, deadline, report)

    found = [r for r in results if r.objective is not None]
    best = min(found, key=lambda r: r.objective or 0) if found else None
    unassigned: dict[int, Unassigned] = dict(pre.unassigned)
    routes = []
    if best is not None:
        assigned = {n for r in best.routes for n in r}
        dropped = [n for n in pre.active if n not in assigned]
        final, gain = insert_dropped(c, pre, best.routes, dropped, deadline=end)
        assigned = {n for r in final for n in r}
        dropped = [n for n in dropped if n not in assigned]
        unassigned.update(analyse_dropped(c, pre, final, dropped))
        routes = [evaluate_nodes(c, v, nodes) for v, nodes in enumerate(final) if nodes]
        status = best.status
        objective = (best.objective - gain) / COST_SCALE if best.objective is not None else 0.0
    elif pre.active and c.n_vehicles:
        status = results[0].status if results else Status.NO_SOLUTION
        objective = float("nan")
        for n in pre.active:
            unassigned[n] = Unassigned(
                c.problem.jobs[n].id,
                Reason.NO_SOLUTION,
                "The search found no plan within its limits (a job locked as first stop may "
                "make the day impossible, or the time limit is too short).",
            )
    else:
        status = Status.FEASIBLE
        objective = 0.0
    order = {j.id: k for k, j in enumerate(problem.jobs)}
    return Solution(
        routes=routes,
        unassigned=sorted(unassigned.values(), key=lambda u: order[u.job_id]),
        objective=objective,
        status=status,
        elapsed=time.monotonic() - t0,
        solutions_found=sum(r.solutions for r in results),
        details={
            "searches": [
                {
                    "name": r.name,
                    "objective": None if r.objective is None else r.objective / COST_SCALE,
                    "status": r.status.value,
                    "solutions": r.solutions,
                    "warm_start_used": r.warm_start_used,
                    "history": [(round(t, 3), v / COST_SCALE) for t, v in r.history],
                }
                for r in results
            ],
            "best": best.name if best is not None else None,
        },
    )
