"""What mixed priorities cost in driving: Solomon instances solved twice, every customer
urgent, then customers cycling urgent, high, normal, low, same seed and time limit.

When every customer fits, the two plans should be equally short: priorities decide who is
left out, not how the routes run. Until 2026-12-08 they were not (R201 1.3 % longer with
priorities), because iterated local search put ruined jobs back most valuable first, while
its strength is a random order (see ``routing.solver._reinsertion``).

    .venv/bin/python bench/priorities.py                        # R201 RC201 RC101 R112, 30 s
    .venv/bin/python bench/priorities.py --instance R201 --seeds 0,1,2
    .venv/bin/python bench/priorities.py --vehicles 10          # a day too short: who is left
    .venv/bin/python bench/priorities.py --quick                # R201, 5 s (make bench --quick)

With ``--vehicles`` below what the instance needs, the mixed run leaves jobs out; the line
then shows the objective and how many jobs of each priority were dropped (never urgent).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from routing import Priority, solve
from routing.benchmarks.vrptw import (
    check_vrptw,
    read_vrptw,
    route_distance,
    solution_routes,
    to_problem,
    vrptw_params,
)

DATA = Path("/work/shared/data/solomon")
CYCLE = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)


def run(name: str, seed: int, limit: float, mixed: bool, vehicles: int | None) -> dict:
    inst = read_vrptw(DATA / f"{name}.txt")
    problem, matrix = to_problem(inst, vehicles=vehicles)
    if mixed:
        jobs = tuple(replace(j, priority=CYCLE[k % 4]) for k, j in enumerate(problem.jobs))
        problem = replace(problem, jobs=jobs)
    sol = solve(problem, matrix, vrptw_params(limit, seed=seed))
    routes = solution_routes(sol)
    priority = {j.id: j.priority for j in problem.jobs}
    left = Counter(priority[u.job_id].value for u in sol.unassigned)
    errors = [e for e in check_vrptw(inst, routes) if " served 0 times" not in e]
    return {
        "distance": route_distance(inst, routes),
        "objective": sol.objective,
        "dropped": {p.value: left[p.value] for p in CYCLE if left[p.value]},
        "feasible": not errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instance", action="append", help="repeat; default R201 RC201 RC101 R112")
    ap.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--vehicles", type=int, help="fewer vehicles than the instance has")
    ap.add_argument("--quick", action="store_true", help="R201 only, 5 s, seed 0")
    args = ap.parse_args(argv)
    if args.quick:
        args.instance, args.seeds, args.time_limit = args.instance or ["R201"], "0", 5.0
    if args.vehicles is not None and args.vehicles < 1:
        ap.error("--vehicles must be at least 1")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds must be integers separated by commas, got {args.seeds!r}")
    names = args.instance or ["R201", "RC201", "RC101", "R112"]
    for name in names:
        if not (DATA / f"{name}.txt").exists():
            ap.error(f"no instance {name} in {DATA}")
    print(f"time limit {args.time_limit:g} s, 2 processes, seeds {seeds}")
    print(f"{'instance':<8} {'seed':>4} {'same':>9} {'mixed':>9} {'ratio':>7}  mixed: dropped")
    ratios = []
    for name in names:
        for seed in seeds:
            same = run(name, seed, args.time_limit, False, args.vehicles)
            mixed = run(name, seed, args.time_limit, True, args.vehicles)
            ratio = mixed["distance"] / same["distance"]
            if not mixed["dropped"] and not same["dropped"]:
                ratios.append(ratio)
            bad = "" if same["feasible"] and mixed["feasible"] else "  INFEASIBLE"
            print(
                f"{name:<8} {seed:>4} {same['distance']:>9.2f} {mixed['distance']:>9.2f} "
                f"{ratio:>7.4f}  {mixed['dropped'] or '-'} objective {mixed['objective']:.1f}"
                f"{bad}",
                flush=True,
            )
    if ratios:
        print(
            f"mean ratio mixed / same over {len(ratios)} runs with every job served: "
            f"{sum(ratios) / len(ratios):.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
