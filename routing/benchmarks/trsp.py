"""Pillac et al. (2013) technician routing and scheduling instances, through our model.

Each instance has a depot (node 0), 25 technicians with their own homes (nodes 1–25),
skills, tools and spare-part stock, and 100 requests that need one skill, some tools and some
spare parts. The objective of the literature is the total duration of the routes (travel,
service and waiting). Distances are Euclidean, not rounded; travel time equals distance.

How the benchmark maps onto fieldroute (a documented simplification):

- a skill is a skill at level 1;
- a tool is modelled as a skill too: a technician may take a request only if they own every
  tool it needs. In the original problem a technician may drive to the depot to pick a tool
  up; our model has no depot visits, so a request whose tools no skilled technician owns is
  left unassigned (reason ``no_engineer_with_skill``) and counted in ``unserved``;
- spare parts are ignored (the original lets technicians replenish at the depot);
- total duration is minimised through ``Technician.cost_per_hour`` (route span cost).

Because depot trips are never needed, our durations are a *relaxation* where every request
is served and are not comparable where requests are left out; the bench prints both.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from routing.domain import Job, Location, Priority, Problem, Technician, TimeWindow, Weights
from routing.matrix import ExplicitMatrix
from routing.params import SolveParams
from routing.solver import solve

__all__ = ["TrspInstance", "TrspResult", "load_bks", "read_trsp", "solve_trsp", "to_problem"]

SCALE = 1000


@dataclass(frozen=True, slots=True, eq=False)
class TrspInstance:
    """Node 0 depot, nodes 1..T technician homes, then requests."""

    name: str
    coords: np.ndarray
    windows: np.ndarray
    service: np.ndarray
    skills: list[list[int]]
    tools: list[list[int]]
    parts: list[list[int]]
    n_technicians: int

    @property
    def requests(self) -> range:
        """Node numbers of the requests."""
        return range(self.n_technicians + 1, len(self.coords))


_LIST = re.compile(r"\[([^\]]*)\]")


def read_trsp(path: str | Path) -> TrspInstance:
    """Read the compact text table (``ID X Y TWS TWE Serv [skills] [tools] [parts]``)."""
    lines = Path(path).read_text().splitlines()
    name = lines[0].strip()
    crew = int(lines[lines.index(next(x for x in lines if x.startswith("CREW"))) + 1].split()[0])
    rows = []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or not parts[0].isdigit():
            continue
        lists = [[int(v) for v in m.split(",") if v.strip()] for m in _LIST.findall(line)]
        rows.append((list(map(float, parts[1:6])), lists))
    coords = np.array([[r[0][0], r[0][1]] for r in rows])
    windows = np.array([[r[0][2], r[0][3]] for r in rows], dtype=np.int64)
    service = np.array([r[0][4] for r in rows], dtype=np.int64)
    return TrspInstance(
        name=name,
        coords=coords,
        windows=windows,
        service=service,
        skills=[r[1][0] for r in rows],
        tools=[r[1][1] for r in rows],
        parts=[r[1][2] for r in rows],
        n_technicians=crew,
    )


def to_problem(inst: TrspInstance) -> tuple[Problem, ExplicitMatrix]:
    """The instance as a fieldroute problem (see the module docstring for the mapping)."""
    d = np.sqrt(((inst.coords[:, None, :] - inst.coords[None, :, :]) ** 2).sum(axis=2)) * SCALE
    matrix = ExplicitMatrix(np.rint(d).astype(np.int64), np.ceil(d - 1e-6).astype(np.int64))
    techs = []
    for k in range(1, inst.n_technicians + 1):
        skills = {f"skill{s}": 1 for s in inst.skills[k]}
        skills.update({f"tool{t}": 1 for t in inst.tools[k]})
        home = Location(lat=0.0, lon=0.0, index=k)
        techs.append(
            Technician(
                id=f"tech{k}",
                start=home,
                shift=TimeWindow(int(inst.windows[k, 0]) * SCALE, int(inst.windows[k, 1]) * SCALE),
                skills=skills,
                cost_per_hour=3600.0 / SCALE,  # one money unit per instance time unit
            )
        )
    jobs = []
    for i in inst.requests:
        need = {f"skill{s}": 1 for s in inst.skills[i]}
        need.update({f"tool{t}": 1 for t in inst.tools[i]})
        jobs.append(
            Job(
                id=f"r{i}",
                location=Location(lat=0.0, lon=0.0, index=i),
                duration=int(inst.service[i]) * SCALE,
                skills=need,
                windows=(
                    TimeWindow(int(inst.windows[i, 0]) * SCALE, int(inst.windows[i, 1]) * SCALE),
                ),
                priority=Priority.URGENT,
            )
        )
    weights = Weights(travel_hour=0.0, distance_km=0.0, secondary_territory=0.0)
    return Problem(tuple(techs), tuple(jobs), weights), matrix


def load_bks(path: str | Path) -> dict[str, tuple[float, float]]:
    """Best-known (duration, distance) per instance name."""
    with open(path, newline="") as f:
        return {
            row["instance"]: (
                float(row["dissertation_duration"]),
                float(row["dissertation_distance"]),
            )
            for row in csv.DictReader(f)
        }


@dataclass(slots=True)
class TrspResult:
    """Figures of one instance."""

    instance: str
    duration: float
    distance: float
    served: int
    unserved: int
    technicians_used: int
    seconds: float
    feasible: bool
    bks_duration: float | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def gap_pct(self) -> float | None:
        """Duration gap to the best-known, only when every request is served."""
        if self.bks_duration is None or self.unserved:
            return None
        return 100.0 * (self.duration - self.bks_duration) / self.bks_duration


def solve_trsp(
    inst: TrspInstance,
    time_limit: float,
    *,
    workers: int = 2,
    bks: tuple[float, float] | None = None,
) -> TrspResult:
    """Solve one instance through :func:`routing.solve`."""
    t0 = time.monotonic()
    problem, matrix = to_problem(inst)
    solution = solve(
        problem,
        matrix,
        SolveParams(
            time_limit=max(0.1, time_limit - (time.monotonic() - t0)),
            workers=workers,
            first_solution="local_cheapest_insertion",
        ),
    )
    reasons: dict[str, int] = {}
    for u in solution.unassigned:
        reasons[u.reason.value] = reasons.get(u.reason.value, 0) + 1
    return TrspResult(
        instance=inst.name,
        duration=sum(r.duration_s for r in solution.routes) / SCALE,
        distance=solution.distance_m / SCALE,
        served=solution.assigned,
        unserved=len(solution.unassigned),
        technicians_used=len(solution.routes),
        seconds=time.monotonic() - t0,
        feasible=solution.is_feasible(),
        bks_duration=None if bks is None else bks[0],
        reasons=reasons,
    )
