"""Field-service day, 1,000 jobs x 60 technicians: first feasible solution, objective after
the time limit, jobs assigned, peak memory, every unassigned job with its reason.

    .venv/bin/python bench/field_service.py                 # 60 s, both cores
    .venv/bin/python bench/field_service.py --time-limit 20 --workers 1 --json

Targets (issue 3): first feasible solution <= 10 s, peak memory <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter

from routing import HaversineMatrix, Progress, SolveParams, solve
from routing.benchmarks.field_service import generate


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its (finished) children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--technicians", type=int, default=60)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first-solution", default="automatic")
    ap.add_argument("--metaheuristic", default="guided_local_search")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="20 s")
    args = ap.parse_args(argv)
    limit = 20.0 if args.quick else args.time_limit
    load_before = os.getloadavg()[0]

    t0 = time.monotonic()
    problem = generate(args.jobs, args.technicians, args.seed)
    t_gen = time.monotonic() - t0
    t1 = time.monotonic()
    matrices = HaversineMatrix().matrices(problem.locations)
    t_matrix = time.monotonic() - t1
    first: list[Progress] = []

    def progress(p: Progress) -> None:
        if not first:
            first.append(p)

    t2 = time.monotonic()
    solution = solve(
        problem,
        matrices,
        SolveParams(
            time_limit=limit,
            workers=args.workers,
            first_solution=args.first_solution,
            metaheuristic=args.metaheuristic,
            progress=progress,
        ),
    )
    t_solve = time.monotonic() - t2
    own, children = peak_rss_mb()
    reasons = Counter(u.reason.value for u in solution.unassigned)
    explained = all(u.message for u in solution.unassigned)
    accounted = solution.assigned + len(solution.unassigned) == len(problem.jobs)
    first_s = first[0].elapsed + t_matrix if first else None
    out = {
        "jobs": len(problem.jobs),
        "technicians": len(problem.technicians),
        "time_limit": limit,
        "workers": args.workers,
        "generate_s": round(t_gen, 2),
        "matrix_s": round(t_matrix, 2),
        "first_feasible_s": None if first_s is None else round(first_s, 2),
        "first_objective": None if not first else round(first[0].objective, 2),
        "objective": round(solution.objective, 2),
        "solve_s": round(t_solve, 2),
        "status": solution.status.value,
        "feasible": solution.is_feasible(),
        "assigned": solution.assigned,
        "unassigned": len(solution.unassigned),
        "unassigned_by_reason": dict(reasons),
        "unassigned_by_priority": dict(
            Counter(problem.job(u.job_id).priority.value for u in solution.unassigned)
        ),
        "every_unassigned_explained": explained and accounted,
        "distance_km": round(solution.distance_m / 1000, 1),
        "routes": len(solution.routes),
        "peak_rss_mb": round(own, 1),
        "peak_rss_children_mb": round(children, 1),
        "searches": [
            {k: s[k] for k in ("name", "objective", "status", "solutions")}
            for s in solution.details["searches"]  # type: ignore[union-attr]
        ],
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>28}: {v}")
    ok = (
        first_s is not None
        and first_s <= 10
        and own <= 2048
        and children <= 2048
        and out["every_unassigned_explained"]
        and solution.is_feasible()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
