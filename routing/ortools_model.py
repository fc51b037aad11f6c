"""The OR-Tools routing model: the only module that imports OR-Tools' routing library.

Everything about routing indices, callbacks and dimensions stays in here; the rest of the
package speaks in compiled node numbers (see :mod:`routing.compiled`). Every hot path is a
registered matrix or unary vector, so no Python code runs per arc during the search. (The
set-partitioning step of :mod:`routing.recombine` uses OR-Tools' MIP wrapper instead.)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_ils_pb2,
    routing_parameters_pb2,
)
from ortools.util import optional_boolean_pb2

from routing.compiled import Compiled
from routing.solution import Status

__all__ = ["RawResult", "SearchConfig", "run_search"]

WARM_HEAT = 0.5  # ILS start temperature, in mean arcs, when continuing a good plan
TINY = 3  # jobs; see run_search
SMALL = 20  # jobs; see run_search
_SORT = routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters
_SCHEDULING = routing_parameters_pb2.RoutingSearchParameters.SchedulingSolver

_STATUS = {
    routing_enums_pb2.RoutingSearchStatus.ROUTING_NOT_SOLVED: Status.NO_SOLUTION,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_SUCCESS: Status.FEASIBLE,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED: (
        Status.FEASIBLE_PARTIAL
    ),
    routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL: Status.NO_SOLUTION,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT: Status.NO_SOLUTION,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_INVALID: Status.INVALID,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_INFEASIBLE: Status.INFEASIBLE,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_OPTIMAL: Status.OPTIMAL,
}


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """One search: everything a worker process needs besides the compiled problem."""

    first_solution: str = "automatic"
    metaheuristic: str = "guided_local_search"
    time_limit: float = 10.0
    solution_limit: int | None = None
    initial_routes: tuple[tuple[int, ...], ...] | None = None  # job nodes per vehicle
    log_search: bool = False
    strategy: str = "default"
    seed: int = 0
    gls_lambda: float | None = None
    neighbors: int | None = None  # restrict LS operators to this many nearest neighbours
    lean: tuple[str, ...] = ()  # local-search operators to switch off (names without use_)
    ruin: int = 10  # ILS: average number of visits removed per perturbation
    temperatures: tuple[float, float] | None = None  # ILS: simulated annealing, start/end
    heat: float = 2.5  # ILS: start temperature in mean arcs when ``temperatures`` is None
    ils_improve: bool = False  # ILS: local search after each recreate (slower, not better)
    # Routes with breaks or split windows: cost them with CP-SAT (exact, about ten times
    # slower) instead of Glop's linear relaxation (see _search_parameters)
    exact_scheduling: bool = False
    # ILS reinsertion order: random (True), most valuable first (False), or random only when
    # every job is worth the same (None; see _search_parameters)
    random_recreate: bool | None = None
    collect_routes: bool = False  # keep every distinct route seen (see routing.recombine)
    name: str = ""


@dataclass(slots=True)
class RawResult:
    """What a search found, in compiled node numbers (plain data: crosses processes)."""

    routes: list[list[int]]
    objective: int | None
    status: Status
    solutions: int
    elapsed: float
    history: list[tuple[float, int]] = field(default_factory=list)
    name: str = ""
    warm_start_used: bool = False
    pool: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (vehicle, jobs)


def _int_matrix(m: np.ndarray) -> list[list[int]]:
    return m.astype(np.int64).tolist()


def _search_parameters(
    config: SearchConfig, time_limit: float, mean_arc: float = 1.0, same_value: bool = False
) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, config.first_solution.upper()
    )
    if config.metaheuristic == "iterated_local_search":
        params.use_iterated_local_search = True
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        )
        # Simulated annealing in units of a typical arc: from 2.5 arcs down to 1/40 of one
        # (100 → 1 distance units on Solomon, the setting of the SISR paper); a search that
        # continues from a recombined plan starts cooler (``heat``) so as not to lose it.
        temps = config.temperatures or (config.heat * mean_arc, 0.025 * mean_arc)
        random_order = same_value if config.random_recreate is None else config.random_recreate
        _ruin_and_recreate(params, config.ruin, temps, config.ils_improve, random_order)
    else:
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, config.metaheuristic.upper()
        )
    # Insertion heuristics take the most valuable jobs first: urgent before low priority.
    order = [_SORT.SORTING_PROPERTY_PENALTY, _SORT.SORTING_PROPERTY_ALLOWED_VEHICLES]
    for lci in (
        params.local_cheapest_insertion_parameters,
        params.local_cheapest_cost_insertion_parameters,
    ):
        del lci.insertion_sorting_properties[:]
        lci.insertion_sorting_properties.extend(order)
    if not config.exact_scheduling:
        # OR-Tools costs a route whose schedule has a break or a hole in a window with a
        # mixed-integer model, by default a CP-SAT solve per route check; it was most of a
        # nightly part's search. Glop's relaxation is ten times faster (1,335 iterations of
        # iterated local search in 10 s against 134, on a 214-ticket part with lunch breaks)
        # and only guides the search: every solution is still scheduled by the constraint
        # solver and checked, and its reported cost is its schedule's.
        params.mixed_integer_scheduling_solver = _SCHEDULING.SCHEDULING_GLOP
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    if config.solution_limit is not None:
        params.solution_limit = config.solution_limit
    if config.gls_lambda is not None:
        params.guided_local_search_lambda_coefficient = config.gls_lambda
    params.log_search = config.log_search
    for name in config.lean:
        setattr(params.local_search_operators, f"use_{name}", optional_boolean_pb2.BOOL_FALSE)
    if config.neighbors is not None:
        params.ls_operator_neighbors_ratio = 1e-9
        params.ls_operator_min_neighbors = config.neighbors
    if config.strategy == "vrptw":
        _tune_vrptw(params)
    return params


def _ruin_and_recreate(
    params: Any,
    removed: int = 10,
    temperatures: tuple[float, float] | None = None,
    improve: bool = True,
    random_order: bool = True,
) -> None:
    """Iterated local search: SISR ruin (strings of nearby visits), cheapest reinsertion,
    simulated-annealing acceptance with temperatures set from the objective scale."""
    rr = params.iterated_local_search_parameters.ruin_recreate_parameters  # type: ignore[attr-defined]
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = removed
    sisr.avg_num_removed_visits = removed
    sisr.bypass_factor = 0.01
    rr.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ALL_SEQUENTIALLY
    rr.recreate_strategy.heuristic = (
        routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    )
    # SISR's diversity comes from varying the reinsertion order: with the most valuable jobs
    # always first, the Solomon instances with mixed priorities ended up to 1.3 % longer
    # (R201, two 30 s searches, three seeds). But OR-Tools allows a random order only on its
    # own (not "by value, then at random"), and when not every job fits, value first keeps
    # the better jobs; routing.solver chooses per search (portfolio, _reinsertion).
    lci = rr.recreate_strategy.parameters.local_cheapest_insertion
    del lci.insertion_sorting_properties[:]
    lci.insertion_sorting_properties.extend(
        [_SORT.SORTING_PROPERTY_RANDOM]
        if random_order
        else [_SORT.SORTING_PROPERTY_PENALTY, _SORT.SORTING_PROPERTY_ALLOWED_VEHICLES]
    )
    ils = params.iterated_local_search_parameters  # type: ignore[attr-defined]
    ils.improve_perturbed_solution = improve
    sa = ils.reference_solution_acceptance_strategy.simulated_annealing
    sa.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    if temperatures is None:
        sa.automatic_temperatures = True
    else:
        sa.automatic_temperatures = False
        sa.initial_temperature, sa.final_temperature = temperatures


def _tune_vrptw(params: Any) -> None:
    """Settings for benchmark-style VRPTW (distance only, every job must go)."""
    ops = params.local_search_operators  # type: ignore[attr-defined]
    ops.use_relocate_neighbors = optional_boolean_pb2.BOOL_TRUE
    ops.use_cross_exchange = optional_boolean_pb2.BOOL_TRUE


@dataclass(slots=True)
class _Model:
    manager: Any
    routing: Any
    nodes: list[int]  # model node → compiled node
    index_of: dict[int, int]  # compiled job node → routing index


def _shared_places(c: Compiled, active: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """Model nodes (as compiled nodes), and each vehicle's start and end model node, with
    one node per distinct start or end place.

    OR-Tools 9.15 copies a dimension's transit matrix, all of it, every time a filter checks
    a route (``FillDimensionValuesFromRoutingDimension`` takes its evaluator by value), so
    the search's speed goes with the square of the node count. Technicians who leave from
    and return to the same depot or home share one node: Solomon's 25 vehicles become one
    depot instead of 50 nodes, 150 → 101 nodes, and iterated local search runs a third more
    iterations (R201: 460 → 600 a second).
    """
    nodes = list(active)
    model_node: dict[int, int] = {}  # place → model node

    def node_of(compiled: int) -> int:
        place = int(c.place[compiled])
        if place not in model_node:
            model_node[place] = len(nodes)
            nodes.append(compiled)
        return model_node[place]

    starts = [node_of(c.start(v)) for v in range(c.n_vehicles)]
    ends = [node_of(c.end(v)) for v in range(c.n_vehicles)]
    return nodes, starts, ends


def build_model(c: Compiled, active: Sequence[int]) -> _Model:
    """The routing model over the ``active`` job nodes (pre-checks removed the others)."""
    n_a, n_v = len(active), c.n_vehicles
    nodes, starts, ends = _shared_places(c, active)
    idx = np.asarray(nodes, dtype=np.intp)
    manager = pywrapcp.RoutingIndexManager(len(nodes), n_v, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    seconds = c.seconds[np.ix_(idx, idx)]
    service = c.service[idx]
    transit = seconds + service[:, None]
    # An unused technician goes nowhere: start → end costs no time and no money. (No route
    # ever leaves an end or enters a start, so a start → end arc is always an empty route.)
    start_end = np.ix_(sorted(set(starts)), sorted(set(ends)))
    transit[start_end] = 0
    time_cb = routing.RegisterTransitMatrix(_int_matrix(transit))

    for k, arc in enumerate(c.arc_costs):
        sub = arc[np.ix_(idx, idx)].copy()
        sub[start_end] = 0
        cb = routing.RegisterTransitMatrix(_int_matrix(sub))
        for v in range(n_v):
            if c.arc_class[v] == k:
                routing.SetArcCostEvaluatorOfVehicle(cb, v)

    horizon = c.horizon
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for v in range(n_v):
        s0, s1 = c.shift[v]
        time_dim.CumulVar(routing.Start(v)).SetRange(s0, s1)
        time_dim.CumulVar(routing.End(v)).SetRange(s0, s1)
        max_work = c.max_work[v]
        if max_work is not None:
            time_dim.SetSpanUpperBoundForVehicle(int(max_work), v)
        if c.span_coef[v]:
            time_dim.SetSpanCostCoefficientForVehicle(int(c.span_coef[v]), v)

    index_of: dict[int, int] = {}
    copy_dim = None
    for k, node in enumerate(active):
        index = manager.NodeToIndex(k)
        index_of[node] = index
        cumul = time_dim.CumulVar(index)
        windows = c.windows[node]
        if windows:
            cumul.SetRange(windows[0][0], windows[-1][1])
            for (_, hi), (lo, _) in itertools.pairwise(windows):
                if lo - 1 >= hi + 1:
                    cumul.RemoveInterval(hi + 1, lo - 1)
        due, sla = c.late_due[node], c.sla_due[node]
        late_coef, sla_coef = c.late_coef[node], c.sla_coef
        soft = [(d, w) for d, w in ((due, late_coef), (sla, sla_coef)) if d is not None and w]
        if len(soft) == 2 and soft[0][0] == soft[1][0]:
            soft = [(soft[0][0], soft[0][1] + soft[1][1])]
        if soft:
            time_dim.SetCumulVarSoftUpperBound(index, int(soft[0][0]), int(soft[0][1]))
        if len(soft) == 2:
            # One soft bound per cumul: a copy of the time dimension carries the second.
            if copy_dim is None:
                routing.AddDimension(time_cb, horizon, horizon, False, "time_sla")
                copy_dim = routing.GetDimensionOrDie("time_sla")
            solver.Add(copy_dim.CumulVar(index) == cumul)
            copy_dim.SetCumulVarSoftUpperBound(index, int(soft[1][0]), int(soft[1][1]))

    if any(c.breaks):
        visit = [0] * routing.Size()
        for node, index in index_of.items():
            visit[index] = int(c.service[node])
        for v in range(n_v):
            if not c.breaks[v]:
                continue
            intervals = [
                solver.FixedDurationIntervalVar(e, lst, d, False, f"break_{v}_{k}")
                for k, (e, lst, d) in enumerate(c.breaks[v])
            ]
            time_dim.SetBreakIntervalsOfVehicle(intervals, v, visit)

    loads = c.load[idx]
    if int(loads.sum()) > 0 and any(cap is not None for cap in c.capacity):
        total = int(loads.sum())
        load_cb = routing.RegisterUnaryTransitVector([int(x) for x in loads])
        caps = [total if cap is None else int(cap) for cap in c.capacity]
        routing.AddDimensionWithVehicleCapacity(load_cb, 0, caps, True, "load")

    if any(m is not None for m in c.max_jobs):
        ones = [1] * n_a + [0] * (len(nodes) - n_a)
        count_cb = routing.RegisterUnaryTransitVector(ones)
        caps = [n_a if m is None else int(m) for m in c.max_jobs]
        routing.AddDimensionWithVehicleCapacity(count_cb, 0, caps, True, "jobs")

    if n_a and c.affinity[list(active)].any():
        cbs: list[int] = []
        registered: dict[bytes, int] = {}
        cap = 0
        for v in range(n_v):
            vec = np.zeros(len(nodes), dtype=np.int64)
            vec[:n_a] = c.affinity[list(active), v]
            key = vec.tobytes()
            if key not in registered:
                registered[key] = routing.RegisterUnaryTransitVector([int(x) for x in vec])
            cbs.append(registered[key])
            cap = max(cap, int(vec.sum()))
        routing.AddDimensionWithVehicleTransits(cbs, 0, cap, True, "affinity")
        routing.GetDimensionOrDie("affinity").SetSpanCostCoefficientForAllVehicles(1)

    if c.balance_coef:
        routing.AddDimension(time_cb, 0, horizon, True, "work")
        routing.GetDimensionOrDie("work").SetGlobalSpanCostCoefficient(int(c.balance_coef))

    jobs = c.problem.jobs
    tech_index = {t.id: v for v, t in enumerate(c.problem.technicians)}
    for node, index in index_of.items():
        allowed = [int(v) for v in np.flatnonzero(c.eligible[node])]
        job = jobs[node]
        if job.locked_first and job.pinned_to in tech_index:
            v = tech_index[job.pinned_to]
            routing.VehicleVar(index).SetValues([v])
            routing.NextVar(routing.Start(v)).SetValues([index])
        else:
            # (SetAllowedVehiclesForIndex's Python binding rejects lists in ortools 9.15;
            # restricting the vehicle variable is equivalent, -1 meaning "not performed".)
            if len(allowed) < n_v:
                routing.VehicleVar(index).SetValues([-1, *allowed])
            routing.AddDisjunction([index], int(c.penalty[node]))

    return _Model(manager, routing, nodes, index_of)


def _mean_arc_cost(c: Compiled, active: Sequence[int]) -> float:
    """Mean cost of an arc between two jobs (sampled), the scale of a typical move."""
    if len(active) < 2:
        return 1.0
    idx = np.asarray(active[:400], dtype=np.intp)
    return max(1.0, float(c.arc_costs[0][np.ix_(idx, idx)].mean()))


def run_search(
    c: Compiled,
    active: Sequence[int],
    config: SearchConfig,
    progress: Callable[[float, int, int], None] | None = None,
    deadline: float | None = None,
) -> RawResult:
    """Build the model, search, and return the routes as compiled job nodes.

    Parameters
    ----------
    c
        The compiled problem.
    active
        Job nodes that passed the pre-checks.
    config
        Strategy, limits, warm start.
    progress
        Called as ``progress(elapsed, objective, solutions)`` at each improving solution.
    deadline
        ``time.monotonic()`` value the search must end by (defaults to now + time limit).
    """
    t0 = time.monotonic()
    original = config
    deadline = deadline if deadline is not None else t0 + config.time_limit
    if len(active) <= SMALL:
        # Guided local search on a small problem can run out of acceptable moves and then
        # spins until the time limit without a new solution; its optimum is found in
        # milliseconds, so small problems get a short leash.
        deadline = min(deadline, t0 + 0.5 + 0.1 * len(active))
    if config.seed:
        # OR-Tools' search takes no seed (its generators start from a constant), so the seed
        # shuffles the jobs' model indices instead: the same random draws then pick other
        # visits to ruin and break ties differently, and two searches differ for real.
        order = np.random.default_rng(config.seed).permutation(len(active))
        active = [active[int(k)] for k in order]
    model = build_model(c, active)
    routing, manager = model.routing, model.manager
    if len(active) <= TINY and config.metaheuristic != "greedy_descent":
        # A metaheuristic on a handful of jobs has nothing left to explore once the first
        # local optimum is reached, yet would run until the time limit: descend and stop.
        config = replace(config, metaheuristic="greedy_descent")
    # OR-Tools' iterated local search cannot start from an assignment (it stops after one
    # descent), but it does start from its first solution: an evaluator that costs nothing
    # along the warm start's arcs and a lot elsewhere makes the construction rebuild it.
    warm_ils = config.initial_routes is not None and config.metaheuristic == "iterated_local_search"
    if warm_ils:
        assert config.initial_routes is not None
        follow = _FollowRoutes(model, config.initial_routes)  # kept alive for the search
        routing.SetFirstSolutionEvaluator(follow)
    # The arc scale and "all jobs worth the same" only tune iterated local search; every
    # decomposition piece and dispatch part runs this, so the others skip the sampling.
    ils = config.metaheuristic == "iterated_local_search"
    # OR-Tools' iterated local search keeps the best *recreated* solution, which no local
    # search has touched (improving each perturbation is too slow): a short descent with all
    # operators at the end finds what the recreate missed (R205 at 30 s: 970.1 -> 963.5).
    polish = _polish_seconds(len(active), deadline - t0) if ils else 0.0
    ils_deadline = deadline - polish
    params = _search_parameters(
        config,
        max(0.05, ils_deadline - time.monotonic()),
        _mean_arc_cost(c, active) if ils else 1.0,
        ils and len({c.penalty[n] for n in active}) <= 1,
    )
    if warm_ils:
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.EVALUATOR_STRATEGY
    routing.CloseModelWithParameters(params)

    history: list[tuple[float, int]] = []
    count = [0]

    # The callback must not reference ``routing``: the model holds the callback, and a
    # callback holding the model is a cycle through C++ that Python's collector never
    # sees, so every model (and all its search memory) stayed alive: +350 MB per 30 s
    # solve in a long-running process. The cost variable alone does not own the model.
    cost = routing.CostVar()

    collect = _route_collector(model, c.n_vehicles) if config.collect_routes else None

    def on_solution() -> None:
        if not cost.Bound():
            # Iterated local search reports candidates whose span costs are not scheduled
            # yet; Value() on an unbound variable aborts the process.
            return
        value = int(cost.Value())
        count[0] += 1
        if collect is not None:
            collect(value)
        if not history or value < history[-1][1]:
            history.append((time.monotonic() - t0, value))
            if progress is not None:
                progress(time.monotonic() - t0, value, count[0])

    routing.AddAtSolutionCallback(on_solution)

    warm_used = False
    assignment = None
    if config.initial_routes is not None:
        routes = [
            [model.index_of[n] for n in r if n in model.index_of] for r in config.initial_routes
        ]
        initial = routing.ReadAssignmentFromRoutes(routes, True)
        if initial is not None and warm_ils:
            assignment = routing.SolveWithIteratedLocalSearch(params)
            warm_used = True
        elif initial is not None:
            assignment = routing.SolveFromAssignmentWithParameters(initial, params)
            warm_used = True
        elif warm_ils:
            # An infeasible warm start: the evaluator would steer the construction nowhere
            # useful, so the search starts from the strategy the caller asked for.
            return run_search(c, active, replace(original, initial_routes=None), progress, deadline)
    if assignment is None and not warm_used:
        if config.metaheuristic == "iterated_local_search":
            # The parameter alone only runs the first descent; this entry point iterates.
            assignment = routing.SolveWithIteratedLocalSearch(params)
        else:
            assignment = routing.SolveWithParameters(params)
    status = _STATUS.get(routing.status(), Status.NO_SOLUTION)
    if status is Status.INVALID:
        raise RuntimeError(
            f"OR-Tools rejected the model or search parameters of search {config.name!r} "
            "(ROUTING_INVALID); its log on stderr names the field"
        )
    out_routes: list[list[int]] = []
    objective = None
    if assignment is not None:
        objective = int(assignment.ObjectiveValue())
        for v in range(c.n_vehicles):
            index = routing.Start(v)
            route: list[int] = []
            index = assignment.Value(routing.NextVar(index))
            while not routing.IsEnd(index):
                route.append(model.nodes[manager.IndexToNode(index)])
                index = assignment.Value(routing.NextVar(index))
            out_routes.append(route)
        if status is Status.NO_SOLUTION:
            status = Status.FEASIBLE
    result = RawResult(
        routes=out_routes,
        objective=objective,
        status=status,
        solutions=count[0],
        elapsed=time.monotonic() - t0,
        history=history,
        name=config.name,
        warm_start_used=warm_used,
        pool=collect.routes() if collect is not None else [],
    )
    if polish and objective is not None:
        result = _polished(c, active, config, result, progress, deadline, t0)
    return result


class _FollowRoutes:
    """First-solution evaluator that rebuilds given routes: zero along their arcs (start →
    first job → … → end, and a dropped job to itself), a prohibitive cost on any other arc.

    OR-Tools calls it for every candidate arc of the construction, so it is a dictionary
    lookup and nothing more: on RC101 (100 jobs) 7,574 calls, and the whole warm start,
    model building included, took 14 ms."""

    FAR = 1 << 40

    def __init__(self, model: _Model, routes: Sequence[Sequence[int]]) -> None:
        routing = model.routing
        self._next: dict[int, int] = {}
        for v in range(routing.vehicles()):  # a vehicle the plan leaves out stays unused
            route = routes[v] if v < len(routes) else ()
            chain = [model.index_of[n] for n in route if n in model.index_of]
            path = [routing.Start(v), *chain, routing.End(v)]
            self._next.update(itertools.pairwise(path))

    def __call__(self, i: int, j: int) -> int:
        return 0 if self._next.get(i, i) == j else self.FAR


class _RouteCollector:
    """The distinct routes of the solutions a search passes through, for recombination.

    Reading a solution costs one ``Value()`` per visit (about 0.1 ms on Solomon), so only
    solutions within :attr:`SLACK` of the best so far are read: the routes of a much worse
    solution are rarely part of a better combination. Measured on R201 and RC101 (10 s of
    iterated local search): 2.3-3.3 % of the search's time, 700-900 distinct routes.
    """

    SLACK = 0.02

    def __init__(self, nexts: list[Any], starts: list[int], node_of: np.ndarray) -> None:
        self._nexts = nexts
        self._starts = starts
        self._node_of = node_of  # routing index → compiled node, -1 for start/end indices
        self._seen: set[tuple[int, tuple[int, ...]]] = set()
        self._best: int | None = None

    def __call__(self, value: int) -> None:
        if self._best is None or value < self._best:
            self._best = value
        elif value > self._best * (1 + self.SLACK):
            return
        nexts, node_of = self._nexts, self._node_of
        for v, start in enumerate(self._starts):
            index = nexts[start].Value()
            route: list[int] = []
            while node_of[index] >= 0:
                route.append(int(node_of[index]))
                index = nexts[index].Value()
            if route:
                self._seen.add((v, tuple(route)))

    def routes(self) -> list[tuple[int, tuple[int, ...]]]:
        """Every distinct (vehicle, route) seen, in no particular order."""
        return list(self._seen)


def _route_collector(model: _Model, n_vehicles: int) -> _RouteCollector:
    routing = model.routing
    size = routing.Size() + n_vehicles
    node_of = np.full(size, -1, dtype=np.int64)
    for node, index in model.index_of.items():
        node_of[index] = node
    nexts = [routing.NextVar(i) for i in range(routing.Size())]
    starts = [routing.Start(v) for v in range(n_vehicles)]
    return _RouteCollector(nexts, starts, node_of)


def _polish_seconds(n_jobs: int, budget: float) -> float:
    """Time kept for the final descent of an iterated local search: a descent over 100 jobs
    ends in a tenth of a second, so 0.5 s plus 5 ms a job, never more than 5 % of the
    budget (a short solve is mostly search)."""
    return min(0.5 + 0.005 * n_jobs, 0.05 * budget)


def _polished(
    c: Compiled,
    active: Sequence[int],
    config: SearchConfig,
    found: RawResult,
    progress: Callable[[float, int, int], None] | None,
    deadline: float,
    t0: float,
) -> RawResult:
    """``found`` improved by guided local search from its routes until ``deadline``."""
    offset = time.monotonic() - t0
    report = None
    if progress is not None:
        report = lambda t, v, k: progress(offset + t, v, found.solutions + k)  # noqa: E731
    polish = replace(
        config,
        metaheuristic="guided_local_search",
        initial_routes=tuple(tuple(r) for r in found.routes),
    )
    more = run_search(c, active, polish, report, deadline)
    best = found.objective or 0
    pool = list({*found.pool, *more.pool})
    if more.objective is None or more.objective >= best:
        found.elapsed = time.monotonic() - t0
        found.solutions += more.solutions
        found.pool = pool
        return found
    history = found.history + [(offset + t, v) for t, v in more.history if v < best]
    return replace(
        more,
        solutions=found.solutions + more.solutions,
        elapsed=time.monotonic() - t0,
        history=history,
        name=config.name,
        warm_start_used=False,
        pool=pool,
    )
