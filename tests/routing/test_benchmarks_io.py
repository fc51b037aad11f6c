"""Solomon reader, conversion to a fieldroute problem, .sol writer round trip, CLI wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routing.benchmarks.vrptw import (
    check_vrptw,
    load_bks,
    read_sol,
    read_vrptw,
    route_distance,
    solve_vrptw,
    write_sol,
)

DATA = Path("/work/shared/data/solomon")
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="benchmark data not available")


def test_read_c101() -> None:
    """C101 has 100 customers, 25 vehicles of capacity 200, depot window [0, 1236]."""
    inst = read_vrptw(DATA / "C101.txt")
    assert (inst.n_customers, inst.vehicles, inst.capacity) == (100, 25, 200)
    assert inst.windows[0].tolist() == [0, 1236]
    assert load_bks(DATA / "bks.csv")["C101"] == (10, 828.94)


def test_solve_write_read_round_trip(tmp_path: Path) -> None:
    """Solve C101 with a solution limit, write the .sol, read it back: same routes, cost,
    and the independent float checker accepts it."""
    inst = read_vrptw(DATA / "C101.txt")
    result = solve_vrptw(inst, time_limit=60, workers=1, solution_limit=30)
    assert result.feasible, result.violations
    path = tmp_path / "C101.sol"
    write_sol(path, result.routes, result.distance)
    routes, cost = read_sol(path)
    assert routes == result.routes
    assert cost == pytest.approx(route_distance(inst, routes), abs=0.006)
    assert check_vrptw(inst, routes) == []
    assert path.read_text().startswith("Route #1: ")


def test_checker_rejects_a_late_visit() -> None:
    """Serving customer 1 (window 912–967) first and then 3 (due 146) is caught."""
    inst = read_vrptw(DATA / "C101.txt")
    routes = [[1, 3], *[[c] for c in range(2, 101) if c != 3]]
    errs = check_vrptw(inst, routes)
    assert any("customer 3" in e for e in errs)
    assert any("routes, fleet is 25" in e for e in errs)


def test_cli_json(tmp_path: Path) -> None:
    """`bench solomon DIR --json` prints the documented keys and writes .sol files."""
    from api.cli_bench import bench_app

    run = CliRunner().invoke(
        bench_app,
        [
            "solomon",
            str(DATA),
            "--time-limit",
            "1",
            "--instance",
            "C101",
            "--workers",
            "1",
            "--json",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert run.exit_code == 0, run.output
    (row,) = json.loads(run.output)
    assert set(row) == {"instance", "vehicles", "distance", "bks_distance", "gap_pct", "seconds"}
    assert (tmp_path / "C101.sol").exists()
