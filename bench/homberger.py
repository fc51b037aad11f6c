"""fieldroute vs PyVRP on Gehring–Homberger 1,000-customer VRPTW instances, same time limit.

Ours runs first (decomposition on ``--workers`` processes, default both cores), then PyVRP
alone (single-threaded as shipped) with the same wall-clock limit. Both get the same integer
data and are re-checked in floating point. Target (issue 3): distance within 5 % of PyVRP's
at 120 s.

    .venv/bin/python bench/homberger.py                       # r1_10_1, 120 s
    .venv/bin/python bench/homberger.py --instance c1_10_1 --instance rc2_10_1 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from solomon_vs_pyvrp import solve_pyvrp

from routing.benchmarks.vrptw import load_bks, read_vrptw, solve_vrptw

DATA = Path("/work/shared/data/homberger")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA / "instances_1000")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--instance", action="append", help="e.g. r1_10_1 (repeat)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pyvrp", action="store_true", help="ours only")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="30 s, ours only")
    args = ap.parse_args(argv)
    limit = 30.0 if args.quick else args.time_limit
    names = args.instance or ["r1_10_1"]
    bks = load_bks(DATA / "bks.csv")
    rows = []
    for name in names:
        inst = read_vrptw(args.data / f"{name}.txt")
        load_before = os.getloadavg()[0]
        ours = solve_vrptw(
            inst, limit, workers=args.workers, seed=args.seed, bks=bks.get(name.upper())
        )
        row = {
            "instance": name,
            "ours_distance": round(ours.distance, 1),
            "ours_vehicles": ours.vehicles,
            "ours_feasible": ours.feasible,
            "ours_seconds": round(ours.seconds, 1),
            "bks_distance": ours.bks_distance,
            "bks_vehicles": ours.bks_vehicles,
            "ours_gap_to_bks_pct": None if ours.gap_pct is None else round(ours.gap_pct, 2),
            "load_before": round(load_before, 2),
        }
        if not (args.no_pyvrp or args.quick):
            theirs = solve_pyvrp(inst, limit, seed=args.seed)
            row.update(
                pyvrp_distance=round(theirs["distance"], 1),
                pyvrp_vehicles=theirs["vehicles"],
                pyvrp_feasible=theirs["feasible"],
                ratio=round(ours.distance / theirs["distance"], 4)
                if ours.feasible and theirs["feasible"]
                else None,
            )
        row["load_after"] = round(os.getloadavg()[0], 2)
        rows.append(row)
        if not args.json:
            print(row, flush=True)
    if args.json:
        print(json.dumps({"time_limit": limit, "workers": args.workers, "rows": rows}, indent=2))
    ok = all(r["ours_feasible"] for r in rows) and all(
        r.get("ratio") is None or r["ratio"] <= 1.05 for r in rows
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
