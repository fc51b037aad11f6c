"""The fleet a search needs: the vehicles a plan uses, and a few spare ones of each kind.

A benchmark-style fleet is many identical vehicles of which a plan uses a few (Solomon's
R201: 8 of 25), and OR-Tools' reinsertion tries every empty vehicle of a kind as if it were
a new place to put a job, so the 17 empty ones of R201 slow every ruin-and-recreate step
without offering anything a single empty one would not: the search ran 790 iterations in
3 s with 25 vehicles and 1,208-1,281 with 9-12 (`log_search` counts). Once the searches
have a plan, the next round searches with the vehicles that plan uses and at most
:data:`SPARE` unused ones of each class of interchangeable vehicles (same places, shift,
capacity, costs, eligible jobs; see :func:`routing.recombine.vehicle_classes`), so a plan
can still open new routes. Technicians who differ in anything (their homes, skills,
territories) are each a class of their own and always stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from routing.compiled import Compiled, restrict
from routing.ortools_model import RawResult
from routing.recombine import vehicle_classes

__all__ = ["SPARE", "Fleet", "fleet_for", "whole"]

SPARE = 2
"""Unused vehicles kept per class: room for a plan to open a route or two more."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """The problem over a subset of the vehicles, and the way back to the whole fleet's
    vehicle numbers (job nodes are the same in both)."""

    compiled: Compiled
    vehicles: tuple[int, ...]  # sub-problem vehicle → vehicle of the whole problem
    n_vehicles: int  # of the whole problem

    def plan(self, routes: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
        """Job nodes per vehicle of the sub-problem, from a plan of the whole fleet."""
        return tuple(tuple(routes[v]) for v in self.vehicles)

    def lift(self, result: RawResult) -> RawResult:
        """A search of the sub-problem as a search of the whole fleet."""
        routes: list[list[int]] = [[] for _ in range(self.n_vehicles)]
        for i, route in enumerate(result.routes):
            routes[self.vehicles[i]] = route
        pool = [(self.vehicles[i], route) for i, route in result.pool]
        return replace(result, routes=routes, pool=pool)


def whole(c: Compiled) -> Fleet:
    """Every vehicle: the fleet of a search that has no plan yet."""
    return Fleet(c, tuple(range(c.n_vehicles)), c.n_vehicles)


def fleet_for(c: Compiled, routes: Sequence[Sequence[int]], spare: int = SPARE) -> Fleet:
    """The vehicles ``routes`` use plus at most ``spare`` unused ones per class of
    interchangeable vehicles (the whole fleet when that is every vehicle)."""
    unused: dict[int, int] = {}
    keep: list[int] = []
    for v, k in enumerate(vehicle_classes(c)):
        if v < len(routes) and routes[v]:
            keep.append(v)
        elif unused.get(k, 0) < spare:
            unused[k] = unused.get(k, 0) + 1
            keep.append(v)
    if len(keep) == c.n_vehicles:
        return whole(c)
    return Fleet(restrict(c, range(c.n_jobs), keep), tuple(keep), c.n_vehicles)
