"""One search of each portfolio round explores the plans with fewer routes.

When the searches meet (see ``routing.solver._cooperative``), all of them restart from the
best plan, so they all stay with its number of routes. Moving a plan to one route fewer
takes many moves that each look worse (a route is emptied one visit at a time), so a local
search seldom crosses that ridge on its own. Yet the fewer-route basin is often the better
one: on Solomon RC101, 15 routes lead to 1,620-1,637 and 16 routes to 1,640-1,653, and a
search that starts with 16 routes ends there in about one run in three.

So at the first meetings, one search starts from the best plan with its smallest route
removed, limited to one vehicle fewer: its jobs are dropped and the iterated local search,
whose drop penalty dwarfs any distance, puts them back into the other routes if it can.
Once a plan with fewer routes is known and close to the best (within :attr:`tolerance`),
that search keeps improving it, still limited to its number of routes, while the others
improve the best plan; whichever basin is cheaper at the end wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from routing.ortools_model import RawResult

__all__ = ["Probe", "RouteCountProbe"]

Plan = tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class Probe:
    """Where the probing search starts, and how many vehicles it may use."""

    routes: Plan
    max_vehicles: int
    eliminating: bool  # True: a route was just removed; False: a known plan is improved


@dataclass(slots=True)
class RouteCountProbe:
    """The best plan seen for each number of routes, and the probe of the next round.

    Parameters
    ----------
    tolerance
        A known plan with fewer routes is improved further while it costs at most this
        fraction more than the best plan (1 %: RC101's 15-route plans are 0.3-0.8 % above
        the 16-route ones when first found, and end 1-2 % below them).
    eliminations
        Route removals are tried at the first meetings only: later rounds improve what is
        known rather than gamble a search on a new basin.
    """

    tolerance: float = 0.01
    eliminations: int = 2
    best: dict[int, tuple[int, Plan]] = field(default_factory=dict)
    tried: set[int] = field(default_factory=set)
    served: int = 0

    def record(self, results: Iterable[RawResult]) -> None:
        """Remember each search's final plan under its number of routes, when it serves as
        many jobs as the best plans do (a probe that could not place every job of the
        removed route is not a plan with fewer routes, it is a worse plan)."""
        for r in results:
            if r.objective is None:
                continue
            served = sum(len(route) for route in r.routes)
            if served < self.served:
                continue
            if served > self.served:
                self.served = served
                self.best.clear()
            n = sum(1 for route in r.routes if route)
            if n not in self.best or r.objective < self.best[n][0]:
                self.best[n] = (r.objective, tuple(tuple(route) for route in r.routes))

    def next(self, plan: Sequence[Sequence[int]], cost: int, meeting: int) -> Probe | None:
        """The probe for the round after ``meeting`` (0 for the first), given the plan every
        other search starts from and its cost; None when the probing search should start
        from that plan like the others."""
        n = sum(1 for route in plan if route)
        fewer = [(value, k, routes) for k, (value, routes) in self.best.items() if k < n]
        if fewer:
            value, k, routes = min(fewer)
            if value <= cost * (1 + self.tolerance):
                return Probe(routes, k, eliminating=False)
        if n <= 1 or meeting >= self.eliminations or n - 1 in self.tried:
            return None
        self.tried.add(n - 1)
        smallest = min((v for v, route in enumerate(plan) if route), key=lambda v: len(plan[v]))
        routes = tuple(() if v == smallest else tuple(route) for v, route in enumerate(plan))
        return Probe(routes, n - 1, eliminating=True)
