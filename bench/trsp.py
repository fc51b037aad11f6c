"""Pillac 2013 TRSP instances through fieldroute's routing model, against best-known.

Tools are modelled as skills and spare parts are ignored (see routing/benchmarks/trsp.py):
requests whose tools no skilled technician owns stay unassigned with a reason, and the gap
to the best-known duration is only printed when every request is served.

    .venv/bin/python bench/trsp.py --time-limit 20                 # a sample of 8
    .venv/bin/python bench/trsp.py --time-limit 20 --all --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from routing.benchmarks.trsp import load_bks, read_trsp, solve_trsp

DATA = Path("/work/shared/data/trsp_pillac2013")
SAMPLE = ("C101", "C201", "R101", "R112", "R201", "RC101", "RC105", "RC201")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--instance", action="append", help="Solomon-style prefix, e.g. C101")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="5 s, three instances")
    args = ap.parse_args(argv)
    limit = 5.0 if args.quick else args.time_limit
    prefixes = args.instance or (["C101", "R101", "RC101"] if args.quick else list(SAMPLE))
    files = sorted((args.data / "txt").glob("*.txt"))
    if not args.all:
        files = [f for f in files if f.name.split(".")[0].upper() in {p.upper() for p in prefixes}]
    bks = load_bks(args.data / "bks.csv")
    rows = []
    if not args.json:
        print(f"time limit {limit:g} s, {args.workers} processes; load {os.getloadavg()[0]:.2f}")
        print(
            f"{'instance':<20} {'duration':>10} {'bks':>10} {'gap %':>7} {'served':>6} "
            f"{'unserved':>8} {'techs':>5} {'s':>5}"
        )
    for path in files:
        inst = read_trsp(path)
        r = solve_trsp(inst, limit, workers=args.workers, bks=bks.get(inst.name))
        row = {
            "instance": r.instance,
            "duration": round(r.duration, 3),
            "bks_duration": r.bks_duration,
            "gap_pct": None if r.gap_pct is None else round(r.gap_pct, 2),
            "served": r.served,
            "unserved": r.unserved,
            "unserved_reasons": r.reasons,
            "technicians_used": r.technicians_used,
            "distance": round(r.distance, 3),
            "seconds": round(r.seconds, 2),
            "feasible": r.feasible,
        }
        rows.append(row)
        if not args.json:
            gap = "-" if r.gap_pct is None else f"{r.gap_pct:+.2f}"
            print(
                f"{r.instance:<20} {r.duration:>10.2f} {r.bks_duration or 0:>10.2f} {gap:>7} "
                f"{r.served:>6} {r.unserved:>8} {r.technicians_used:>5} {r.seconds:>5.1f}",
                flush=True,
            )
    gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    summary = {
        "instances": len(rows),
        "all_served": sum(1 for r in rows if not r["unserved"]),
        "mean_gap_pct_where_all_served": None if not gaps else round(sum(gaps) / len(gaps), 2),
        "load_after": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps({"time_limit": limit, "rows": rows, "summary": summary}, indent=2))
    else:
        print(summary)
    return 0 if all(r["feasible"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
