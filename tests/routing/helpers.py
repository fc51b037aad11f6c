"""Tiny hand-checkable worlds for routing tests.

``LineWorld`` puts places on a straight road: place ``x`` is ``x`` km from the origin, and one
km takes one minute (60 s). A route's distance and times can then be checked on paper.
"""

from __future__ import annotations

import numpy as np

from routing import ExplicitMatrix, Location, Matrices, Problem

MIN = 60
HOUR = 3600


class LineWorld:
    """Places on a line with an explicit matrix: 1 km = 1000 m = 60 s."""

    def __init__(self) -> None:
        self.xs: list[float] = []

    def at(self, x: float) -> Location:
        """The location ``x`` km along the road (created on first use)."""
        if x not in self.xs:
            self.xs.append(x)
        k = self.xs.index(x)
        return Location(lat=0.0, lon=min(179.0, k * 0.001), index=k)

    def matrix(self) -> ExplicitMatrix:
        """The explicit matrix over every place created so far."""
        xs = np.array(self.xs, dtype=float)
        km = np.abs(xs[:, None] - xs[None, :])
        return ExplicitMatrix(
            np.rint(km * 1000).astype(np.int64), np.rint(km * 60).astype(np.int64)
        )

    def matrices_for(self, problem: Problem) -> Matrices:
        """Matrices over ``problem.locations`` (what the checker needs)."""
        return self.matrix().matrices(problem.locations)
