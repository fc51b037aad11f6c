"""VRPTW benchmarks (Solomon, Gehring–Homberger) through the product's routing model.

Conventions of the literature: Euclidean distances, not rounded; travel time equals
distance; service must start inside the window, waiting allowed; every vehicle starts and
ends at the depot within the depot's window; at most the instance's number of vehicles.
Distances are scaled by :data:`SCALE` to integers for the solver; travel times are rounded
*up*, so a plan feasible for the solver is feasible in exact arithmetic, and the distance
reported is recomputed in floating point from the coordinates.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import vrplib

from routing.domain import Job, Location, Priority, Problem, Technician, TimeWindow, Weights
from routing.matrix import ExplicitMatrix
from routing.params import SolveParams
from routing.solution import Solution
from routing.solver import solve

__all__ = [
    "SCALE",
    "BenchResult",
    "VrptwInstance",
    "check_vrptw",
    "load_bks",
    "read_sol",
    "read_vrptw",
    "route_distance",
    "solve_vrptw",
    "to_problem",
    "vrptw_params",
    "write_sol",
]

SCALE = 1000
"""Integer units per instance distance unit (three decimals kept)."""


@dataclass(frozen=True, slots=True, eq=False)
class VrptwInstance:
    """A VRPTW instance: node 0 is the depot, nodes 1..n the customers."""

    name: str
    coords: np.ndarray
    demand: np.ndarray
    windows: np.ndarray
    service: np.ndarray
    vehicles: int
    capacity: int

    @property
    def n_customers(self) -> int:
        """Number of customers (depot excluded)."""
        return int(self.coords.shape[0]) - 1

    def distances(self) -> np.ndarray:
        """Exact Euclidean distances between all nodes (floating point)."""
        d = self.coords[:, None, :] - self.coords[None, :, :]
        return np.sqrt((d**2).sum(axis=2))


def read_vrptw(path: str | Path) -> VrptwInstance:
    """Read a Solomon-format instance (Solomon, Gehring–Homberger) with ``vrplib``."""
    data = vrplib.read_instance(str(path), instance_format="solomon")
    return VrptwInstance(
        name=str(data["name"]).strip() or Path(path).stem,
        coords=np.asarray(data["node_coord"], dtype=np.float64),
        demand=np.asarray(data["demand"], dtype=np.int64),
        windows=np.asarray(data["time_window"], dtype=np.int64),
        service=np.asarray(data["service_time"], dtype=np.int64),
        vehicles=int(data["vehicles"]),
        capacity=int(data["capacity"]),
    )


def to_problem(inst: VrptwInstance, vehicles: int | None = None) -> tuple[Problem, ExplicitMatrix]:
    """The instance as a fieldroute problem: technicians are vehicles, customers are jobs.

    Every job is ``urgent`` (a VRPTW must serve everyone; the urgent penalty lets the search
    pass through partial solutions instead of failing to find a first one), distance is the
    only cost, capacity is the job load.
    """
    n = inst.n_customers
    d = inst.distances() * SCALE
    metres = np.rint(d).astype(np.int64)
    seconds = np.ceil(d - 1e-6).astype(np.int64)
    depot = Location(lat=0.0, lon=0.0, index=0)
    shift = TimeWindow(int(inst.windows[0, 0]) * SCALE, int(inst.windows[0, 1]) * SCALE)
    techs = tuple(
        Technician(id=f"v{k + 1}", start=depot, shift=shift, capacity=inst.capacity)
        for k in range(vehicles or inst.vehicles)
    )
    jobs = tuple(
        Job(
            id=f"c{i}",
            location=Location(lat=0.0, lon=0.0, index=i),
            duration=int(inst.service[i]) * SCALE,
            windows=(TimeWindow(int(inst.windows[i, 0]) * SCALE, int(inst.windows[i, 1]) * SCALE),),
            priority=Priority.URGENT,
            load=int(inst.demand[i]),
        )
        for i in range(1, n + 1)
    )
    weights = Weights(travel_hour=0.0, distance_km=1.0, secondary_territory=0.0)
    return Problem(techs, jobs, weights), ExplicitMatrix(metres, seconds)


def solution_routes(solution: Solution) -> list[list[int]]:
    """Customer numbers (1-based) of each non-empty route."""
    return [[int(s.job_id[1:]) for s in r.stops] for r in solution.routes if r.stops]


def route_distance(inst: VrptwInstance, routes: Sequence[Sequence[int]]) -> float:
    """Total Euclidean length of the routes, depot to depot, in floating point."""
    d = inst.distances()
    total = 0.0
    for r in routes:
        path = [0, *r, 0]
        total += float(sum(d[a, b] for a, b in itertools.pairwise(path)))
    return total


def check_vrptw(inst: VrptwInstance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Independent feasibility check in exact (floating point) arithmetic.

    Each customer exactly once, at most the fleet size, capacity, service start within the
    window after travelling (waiting allowed), back at the depot before it closes.
    """
    errs: list[str] = []
    d = inst.distances()
    seen: dict[int, int] = {}
    if len(routes) > inst.vehicles:
        errs.append(f"{len(routes)} routes, fleet is {inst.vehicles}")
    for k, r in enumerate(routes):
        load = int(sum(int(inst.demand[c]) for c in r))
        if load > inst.capacity:
            errs.append(f"route {k + 1}: load {load} > capacity {inst.capacity}")
        t = float(inst.windows[0, 0])
        prev = 0
        for c in r:
            if not 1 <= c <= inst.n_customers:
                errs.append(f"route {k + 1}: no customer {c}")
                break
            seen[c] = seen.get(c, 0) + 1
            t = max(t + float(d[prev, c]), float(inst.windows[c, 0]))
            if t > inst.windows[c, 1] + 1e-9:
                errs.append(
                    f"route {k + 1}: customer {c} starts {t:.3f} > due {inst.windows[c, 1]}"
                )
            t += float(inst.service[c])
            prev = c
        back = t + float(d[prev, 0])
        if back > inst.windows[0, 1] + 1e-9:
            errs.append(f"route {k + 1}: back at depot {back:.3f} > {inst.windows[0, 1]}")
    for c in range(1, inst.n_customers + 1):
        if seen.get(c, 0) != 1:
            errs.append(f"customer {c} served {seen.get(c, 0)} times")
    return errs


def write_sol(path: str | Path, routes: Sequence[Sequence[int]], cost: float) -> None:
    """Write a VRPLIB solution: ``Route #k: c1 c2 …`` lines, then ``Cost X``."""
    vrplib.write_solution(str(path), [list(map(int, r)) for r in routes], {"Cost": round(cost, 2)})


def read_sol(path: str | Path) -> tuple[list[list[int]], float]:
    """Read a VRPLIB solution file back: routes and cost."""
    data = vrplib.read_solution(str(path))
    return [list(map(int, r)) for r in data["routes"]], float(data["cost"])


def load_bks(path: str | Path) -> dict[str, tuple[int, float]]:
    """Best-known (vehicles, distance) per instance from a ``bks.csv``.

    Reads the Solomon layout (``instance,vehicles,distance``) and the Gehring–Homberger one
    (``instance,…,routes,distance,…``).
    """
    out: dict[str, tuple[int, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            vehicles = row.get("vehicles") or row.get("routes") or "0"
            out[row["instance"].strip().upper()] = (int(vehicles), float(row["distance"]))
    return out


@dataclass(slots=True)
class BenchResult:
    """One instance solved: the figures a benchmark table prints."""

    instance: str
    vehicles: int
    distance: float
    bks_distance: float | None
    gap_pct: float | None
    seconds: float
    feasible: bool
    violations: list[str] = field(default_factory=list)
    routes: list[list[int]] = field(default_factory=list)
    bks_vehicles: int | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON keys of ``fieldroute bench solomon --json``."""
        return {
            "instance": self.instance,
            "vehicles": self.vehicles,
            "distance": round(self.distance, 2),
            "bks_distance": self.bks_distance,
            "gap_pct": None if self.gap_pct is None else round(self.gap_pct, 2),
            "seconds": round(self.seconds, 2),
        }


def vrptw_params(
    time_limit: float,
    *,
    workers: int = 2,
    seed: int = 0,
    solution_limit: int | None = None,
    first_solution: str = "parallel_cheapest_insertion",
    metaheuristic: str = "iterated_local_search",
) -> SolveParams:
    """The search settings of the VRPTW benchmarks (see :func:`solve_vrptw`), for harnesses
    that change the problem before solving it."""
    return SolveParams(
        time_limit=time_limit,
        solution_limit=solution_limit,
        first_solution=first_solution,
        metaheuristic=metaheuristic,
        seed=seed,
        workers=workers,
        strategy="vrptw",
    )


def solve_vrptw(
    inst: VrptwInstance,
    time_limit: float,
    *,
    workers: int = 2,
    seed: int = 0,
    solution_limit: int | None = None,
    first_solution: str = "parallel_cheapest_insertion",
    metaheuristic: str = "iterated_local_search",
    bks: tuple[int, float] | None = None,
) -> BenchResult:
    """Solve one instance through :func:`routing.solve` and verify the result independently.

    Parameters
    ----------
    inst
        The instance.
    time_limit
        Wall-clock seconds for the solve (model building included).
    workers
        Independent searches in parallel processes (both cores by default).
    seed, solution_limit, first_solution, metaheuristic
        Passed on to :class:`~routing.params.SolveParams`.
    bks
        Best-known (vehicles, distance), for the gap.
    """
    t0 = time.monotonic()
    problem, matrix = to_problem(inst)
    params = vrptw_params(
        max(0.1, time_limit - (time.monotonic() - t0)),
        workers=workers,
        seed=seed,
        solution_limit=solution_limit,
        first_solution=first_solution,
        metaheuristic=metaheuristic,
    )
    solution = solve(problem, matrix, params)
    seconds = time.monotonic() - t0
    routes = solution_routes(solution)
    violations = check_vrptw(inst, routes)
    distance = route_distance(inst, routes)
    gap = None
    if bks is not None and bks[1] > 0 and not violations:
        gap = 100.0 * (distance - bks[1]) / bks[1]
    return BenchResult(
        instance=inst.name,
        vehicles=len(routes),
        distance=distance,
        bks_distance=None if bks is None else bks[1],
        gap_pct=gap,
        seconds=seconds,
        feasible=not violations,
        violations=violations,
        routes=routes,
        bks_vehicles=None if bks is None else bks[0],
    )
