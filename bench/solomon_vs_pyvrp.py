"""fieldroute vs PyVRP on Solomon VRPTW instances, same time limit, same run.

For each instance: our solve (through the product's routing model, ``--workers`` processes,
default both cores), then PyVRP alone (single-threaded as shipped) with the same wall-clock
limit, one after the other so neither steals the other's cores. Both get the same integer
data (distances x1000, travel times rounded up); both results are re-checked in floating
point by ``routing.benchmarks.vrptw.check_vrptw`` and their exact distances compared.

    .venv/bin/python bench/solomon_vs_pyvrp.py --time-limit 30          # the ten of issue 3
    .venv/bin/python bench/solomon_vs_pyvrp.py --time-limit 30 --all    # all 56
    .venv/bin/python bench/solomon_vs_pyvrp.py --json
    .venv/bin/python bench/solomon_vs_pyvrp.py --time-limit 30 --repeat 3   # seeds 0, 1, 2

One run of the ten moves by about +-0.3 % on the mean from timing alone (both solvers stop
on the clock), so a change worth less than that needs ``--repeat``: each repeat uses the
next seed for both solvers, and the last line gives the mean of the repeats' means with
their range.

PyVRP is a benchmark comparison only; the product never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from routing.benchmarks.solomon import TEN, find_instances
from routing.benchmarks.vrptw import (
    SCALE,
    VrptwInstance,
    check_vrptw,
    load_bks,
    read_vrptw,
    route_distance,
    solve_vrptw,
)

DATA = Path("/work/shared/data/solomon")


def pyvrp_data(inst: VrptwInstance):
    """The instance as PyVRP ProblemData, integerised exactly as our model does."""
    import pyvrp

    d = inst.distances() * SCALE
    dist = np.rint(d).astype(np.int64)
    dur = np.ceil(d - 1e-6).astype(np.int64)
    n = inst.n_customers
    locations = [pyvrp.Location(float(x), float(y)) for x, y in inst.coords]
    depot = pyvrp.Depot(
        0, tw_early=int(inst.windows[0, 0]) * SCALE, tw_late=int(inst.windows[0, 1]) * SCALE
    )
    clients = [
        pyvrp.Client(
            i,
            delivery=[int(inst.demand[i])],
            service_duration=int(inst.service[i]) * SCALE,
            tw_early=int(inst.windows[i, 0]) * SCALE,
            tw_late=int(inst.windows[i, 1]) * SCALE,
        )
        for i in range(1, n + 1)
    ]
    vt = pyvrp.VehicleType(
        num_available=inst.vehicles,
        capacity=[inst.capacity],
        tw_early=int(inst.windows[0, 0]) * SCALE,
        tw_late=int(inst.windows[0, 1]) * SCALE,
    )
    return pyvrp.ProblemData(locations, clients, [depot], [vt], [dist], [dur])


def solve_pyvrp(inst: VrptwInstance, time_limit: float, seed: int = 0) -> dict:
    """PyVRP's best solution after ``time_limit`` seconds, checked and measured by us."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    t0 = time.monotonic()
    data = pyvrp_data(inst)
    res = pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=seed, display=False)
    seconds = time.monotonic() - t0
    # Client activities carry the client's 0-based index; customer numbers are 1-based.
    routes = [[a.idx + 1 for a in r if a.is_client()] for r in res.best.routes()]
    errs = check_vrptw(inst, routes)
    return {
        "vehicles": len(routes),
        "distance": route_distance(inst, routes),
        "feasible": not errs and res.best.is_feasible(),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--instance", action="append", help="only these (repeat); default: the ten")
    ap.add_argument("--all", action="store_true", help="all instances in --data")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="runs of the whole set, seeds seed..")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="5 s per instance, three instances")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    names = None if args.all else (args.instance or list(TEN))
    limit = args.time_limit
    if args.quick:
        limit, names = 5.0, (args.instance or ["C101", "R101", "RC201"])
    bks = load_bks(args.data / "bks.csv")
    rows = []
    load_before = os.getloadavg()
    if not args.json:
        print(
            f"time limit {limit:g} s, ours on {args.workers} processes, PyVRP on 1; "
            f"load average before: {load_before[0]:.2f}"
        )
        print(
            f"{'instance':<8} {'ours':>10} {'veh':>4} {'pyvrp':>10} {'veh':>4} {'ratio':>7} "
            f"{'bks':>10} {'ours s':>7} {'pyvrp s':>7}"
        )
    paths = find_instances(args.data, names)
    per_seed: list[float] = []  # each seed's mean ratio
    for repeat in range(args.repeat):
        seed = args.seed + repeat
        for path in paths:
            inst = read_vrptw(path)
            ours = solve_vrptw(
                inst, limit, workers=args.workers, seed=seed, bks=bks.get(path.stem.upper())
            )
            theirs = solve_pyvrp(inst, limit, seed=seed)
            ratio = (
                ours.distance / theirs["distance"] if ours.feasible and theirs["feasible"] else None
            )
            row = {
                "instance": inst.name,
                "seed": seed,
                "ours_distance": round(ours.distance, 2),
                "ours_vehicles": ours.vehicles,
                "ours_feasible": ours.feasible,
                "ours_seconds": round(ours.seconds, 2),
                "pyvrp_distance": round(theirs["distance"], 2),
                "pyvrp_vehicles": theirs["vehicles"],
                "pyvrp_feasible": theirs["feasible"],
                "pyvrp_seconds": round(theirs["seconds"], 2),
                "ratio": None if ratio is None else round(ratio, 4),
                "bks_distance": ours.bks_distance,
            }
            rows.append(row)
            if not args.json:
                r = "-" if ratio is None else f"{ratio:.4f}"
                flag = "" if ours.feasible else "  OURS INFEASIBLE"
                print(
                    f"{inst.name:<8} {ours.distance:>10.2f} {ours.vehicles:>4} "
                    f"{theirs['distance']:>10.2f} {theirs['vehicles']:>4} {r:>7} "
                    f"{ours.bks_distance or 0:>10.2f} {ours.seconds:>7.1f} "
                    f"{theirs['seconds']:>7.1f}{flag}",
                    flush=True,
                )
        done = [r["ratio"] for r in rows if r["seed"] == seed and r["ratio"] is not None]
        if done:
            per_seed.append(sum(done) / len(done))
            if args.repeat > 1 and not args.json:
                print(f"seed {seed}: mean ratio {per_seed[-1]:.4f}", flush=True)
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    mean = sum(ratios) / len(ratios) if ratios else None
    load_after = os.getloadavg()
    if args.json:
        print(
            json.dumps(
                {
                    "time_limit": limit,
                    "workers": args.workers,
                    "rows": rows,
                    "mean_ratio": mean,
                    "seed_means": per_seed,
                    "load_before": load_before[0],
                    "load_after": load_after[0],
                },
                indent=2,
            )
        )
    else:
        print(
            f"mean ratio ours/PyVRP: {mean:.4f} over {len(ratios)} solves; "
            f"load average after: {load_after[0]:.2f}"
            if mean
            else "no comparable rows"
        )
        if len(per_seed) > 1:
            print(
                f"mean of {len(per_seed)} seeds' means: {sum(per_seed) / len(per_seed):.4f} "
                f"(range {min(per_seed):.4f}-{max(per_seed):.4f})"
            )
    all_feasible = all(r["ours_feasible"] for r in rows)
    return 0 if all_feasible else 1


if __name__ == "__main__":
    sys.exit(main())
