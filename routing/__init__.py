"""fieldroute's optimizer: plain dataclasses in, routes and reasons out.

Nothing here knows about databases or HTTP. Build a :class:`Problem` (or use
:class:`ProblemBuilder`), pick a :class:`TravelMatrix` provider, call :func:`solve`.
"""

from routing.domain import (
    Break,
    Job,
    Location,
    Priority,
    Problem,
    ProblemBuilder,
    SkillLevels,
    Technician,
    TimeWindow,
    Weights,
)
from routing.feasibility import Feasibility, feasibility
from routing.matrix import (
    ExplicitMatrix,
    HaversineMatrix,
    Matrices,
    OsrmMatrix,
    TravelMatrix,
    TravelMatrixError,
    geodesic_metres,
)
from routing.params import FIRST_SOLUTIONS, METAHEURISTICS, SolveParams
from routing.schedule import evaluate_route
from routing.solution import Progress, Reason, Route, Solution, Status, Stop, Unassigned
from routing.solver import solve

__all__ = [
    "FIRST_SOLUTIONS",
    "METAHEURISTICS",
    "Break",
    "ExplicitMatrix",
    "Feasibility",
    "HaversineMatrix",
    "Job",
    "Location",
    "Matrices",
    "OsrmMatrix",
    "Priority",
    "Problem",
    "ProblemBuilder",
    "Progress",
    "Reason",
    "Route",
    "SkillLevels",
    "Solution",
    "SolveParams",
    "Status",
    "Stop",
    "Technician",
    "TimeWindow",
    "TravelMatrix",
    "TravelMatrixError",
    "Unassigned",
    "Weights",
    "evaluate_route",
    "feasibility",
    "geodesic_metres",
    "solve",
]
