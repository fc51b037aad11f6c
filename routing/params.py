"""Search controls: how long, which construction heuristic, which metaheuristic, warm start."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from routing.solution import Progress

__all__ = ["FIRST_SOLUTIONS", "METAHEURISTICS", "SolveParams"]

FIRST_SOLUTIONS: tuple[str, ...] = (
    "automatic",
    "path_cheapest_arc",
    "path_most_constrained_arc",
    "savings",
    "parallel_savings",
    "sweep",
    "christofides",
    "best_insertion",
    "parallel_cheapest_insertion",
    "sequential_cheapest_insertion",
    "local_cheapest_insertion",
    "local_cheapest_cost_insertion",
    "global_cheapest_arc",
    "local_cheapest_arc",
    "first_unbound_min_value",
)
"""Construction heuristics (OR-Tools' ``FirstSolutionStrategy``, lower case)."""

METAHEURISTICS: tuple[str, ...] = (
    "automatic",
    "greedy_descent",
    "guided_local_search",
    "simulated_annealing",
    "tabu_search",
    "generic_tabu_search",
    "iterated_local_search",
)
"""Improvement phases: OR-Tools' ``LocalSearchMetaheuristic`` plus its iterated local search
(ruin-and-recreate with simulated-annealing acceptance)."""


@dataclass(frozen=True, slots=True)
class SolveParams:
    """How to search.

    Parameters
    ----------
    time_limit
        Wall-clock seconds for the whole solve (matrix excluded). The search stops earlier on
        ``solution_limit``. Problems with at most 20 schedulable jobs stop after at most
        0.5 s + 0.1 s per job: their optimum is found in milliseconds, and guided local
        search would otherwise spin without new solutions until the limit.
    solution_limit
        Stop after this many improving solutions: makes tests deterministic and independent
        of machine speed. ``None``: only the time limit.
    first_solution
        Construction heuristic, one of :data:`FIRST_SOLUTIONS`.
    metaheuristic
        Improvement phase, one of :data:`METAHEURISTICS`.
    seed
        Varies the randomised parts (the portfolio's configurations, ruin-and-recreate).
    workers
        Processes searching independently (a portfolio of different configurations); the
        best result wins. OR-Tools holds the GIL, so parallel searches must be processes.
    initial_routes
        Warm start: technician id → job ids in order (yesterday's plan, a dispatcher's edit).
        Jobs or technicians that no longer exist are ignored; an infeasible warm start falls
        back to a fresh construction.
    progress
        Called with a :class:`~routing.solution.Progress` at each improving solution of the
        in-process search. Leave ``None`` when the params cross a process boundary.
    log_search
        Let OR-Tools log its search to stderr.
    decompose
        Solve as a sequence of sub-problems (clusters, then neighbourhoods of routes): the
        only way OR-Tools makes progress on 1,000 jobs. ``None`` decides by size (more than
        300 schedulable jobs, and no workload-balance weight, which is global).
    strategy
        Named tuning preset of the search (``"default"``, or ``"vrptw"`` for benchmark-style
        problems where all that matters is distance).
    recombine
        Keep the routes the searches pass through and, at the end, pick the cheapest plan
        made of them (see :mod:`routing.recombine`). Only where a plan's cost is the sum of
        its routes' (no cost per working hour, lateness, SLA or balance costs), and not for
        decomposed solves; it takes the last few percent of the time limit.
    rounds
        With recombination and several workers: how many times the searches meet. At each
        meeting their routes so far are recombined and every search goes on from that plan.
        ``None`` decides by the time limit: a round per 6 s, at most eight, for a portfolio of
        iterated local searches; one round otherwise, and under a solution limit.
    """

    time_limit: float = 10.0
    solution_limit: int | None = None
    first_solution: str = "automatic"
    metaheuristic: str = "guided_local_search"
    seed: int = 0
    workers: int = 1
    initial_routes: Mapping[str, Sequence[str]] | None = None
    progress: Callable[[Progress], None] | None = field(default=None, compare=False)
    log_search: bool = False
    strategy: str = "default"
    decompose: bool | None = None
    recombine: bool = True
    rounds: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise ValueError(f"SolveParams.time_limit must be > 0 seconds, got {self.time_limit}")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValueError(f"SolveParams.solution_limit must be >= 1, got {self.solution_limit}")
        object.__setattr__(self, "first_solution", self.first_solution.lower())
        object.__setattr__(self, "metaheuristic", self.metaheuristic.lower())
        if self.first_solution not in FIRST_SOLUTIONS:
            raise ValueError(
                f"SolveParams.first_solution {self.first_solution!r} is not one of "
                f"{', '.join(FIRST_SOLUTIONS)}"
            )
        if self.metaheuristic not in METAHEURISTICS:
            raise ValueError(
                f"SolveParams.metaheuristic {self.metaheuristic!r} is not one of "
                f"{', '.join(METAHEURISTICS)}"
            )
        if self.rounds is not None and self.rounds < 1:
            raise ValueError(f"SolveParams.rounds must be >= 1, got {self.rounds}")
        if self.workers < 1:
            raise ValueError(f"SolveParams.workers must be >= 1, got {self.workers}")
        if self.strategy not in ("default", "vrptw"):
            raise ValueError(
                f"SolveParams.strategy must be 'default' or 'vrptw', got {self.strategy!r}"
            )
        if self.initial_routes is not None:
            object.__setattr__(
                self,
                "initial_routes",
                {str(k): tuple(v) for k, v in self.initial_routes.items()},
            )
