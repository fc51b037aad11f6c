"""Run every benchmark in bench/ in turn (what `make bench` does).

Each script prints its own figures and ratios; this only sequences them and
reports which exited non-zero. Pass --quick for shorter time limits where a
script supports them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run_all.py"}


def main() -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in SKIP and not p.name.startswith("_")
    )
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        rc = subprocess.call([sys.executable, str(script), *sys.argv[1:]], cwd=HERE.parent)
        if rc != 0:
            failed.append(f"{script.name} (exit {rc})")
    if failed:
        print("\nbenchmarks that failed or missed a target: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
