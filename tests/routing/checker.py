"""An independent feasibility checker for solutions, written without routing's own code.

It reads only the public data (problem, matrices over ``problem.locations``, the reported
times) and re-derives every hard constraint from the definitions in the docstrings of
``routing.domain``. It deliberately does not call ``routing.schedule`` or ``routing.reasons``.
"""

from __future__ import annotations

import itertools

from routing import Matrices, Problem, Route, Solution


def _loc_rows(problem: Problem) -> dict:
    return {loc: k for k, loc in enumerate(problem.locations)}


def check_route(problem: Problem, matrices: Matrices, route: Route) -> list[str]:
    """Every hard constraint a single reported route breaks (empty list: feasible)."""
    errs: list[str] = []
    rows = _loc_rows(problem)
    techs = {t.id: t for t in problem.technicians}
    jobs = {j.id: j for j in problem.jobs}
    tech = techs.get(route.technician_id)
    if tech is None:
        return [f"unknown technician {route.technician_id}"]
    tag = tech.id
    if not route.stops:
        return [f"{tag}: empty route reported"]
    sec, met = matrices.seconds, matrices.metres

    # Who may do what.
    for pos, stop in enumerate(route.stops):
        job = jobs.get(stop.job_id)
        if job is None:
            errs.append(f"{tag}: unknown job {stop.job_id}")
            continue
        for code, level in job.skills.items():
            if tech.skills.get(code, 0) < level:
                errs.append(f"{tag}: lacks {code}>={level} for {job.id}")
        if (
            job.territory is not None
            and (tech.territories or tech.secondary_territories)
            and job.territory not in tech.territories | tech.secondary_territories
        ):
            errs.append(f"{tag}: {job.id} in foreign territory {job.territory}")
        if job.pinned_to is not None and job.pinned_to != tech.id:
            errs.append(f"{tag}: {job.id} is pinned to {job.pinned_to}")
        if job.locked_first and pos != 0:
            errs.append(f"{tag}: locked {job.id} at position {pos}")
    if tech.max_jobs is not None and len(route.stops) > tech.max_jobs:
        errs.append(f"{tag}: {len(route.stops)} jobs > max_jobs {tech.max_jobs}")
    load = sum(jobs[s.job_id].load for s in route.stops if s.job_id in jobs)
    if tech.capacity is not None and load > tech.capacity:
        errs.append(f"{tag}: load {load} > capacity {tech.capacity}")
    if errs:
        return errs

    # Times: service intervals, gaps between them, breaks.
    breaks = sorted(route.breaks)
    if len(breaks) != len(tech.breaks):
        errs.append(f"{tag}: {len(breaks)} breaks reported, {len(tech.breaks)} expected")
    else:
        for (bs, be), spec in zip(
            breaks, sorted(tech.breaks, key=lambda b: b.earliest_start), strict=True
        ):
            if not spec.earliest_start <= bs <= spec.latest_start:
                errs.append(
                    f"{tag}: break at {bs} outside [{spec.earliest_start}, {spec.latest_start}]"
                )
            if be - bs != spec.duration:
                errs.append(f"{tag}: break lasts {be - bs}, not {spec.duration}")
    for (_, e1), (s2, _) in itertools.pairwise(breaks):
        if s2 < e1:
            errs.append(f"{tag}: breaks overlap")

    if route.start_time < tech.shift.start:
        errs.append(f"{tag}: leaves at {route.start_time} before shift start {tech.shift.start}")
    if route.end_time > tech.shift.end:
        errs.append(f"{tag}: back at {route.end_time} after shift end {tech.shift.end}")
    if tech.max_work_seconds is not None and route.end_time - route.start_time > (
        tech.max_work_seconds
    ):
        errs.append(f"{tag}: works {route.end_time - route.start_time} s > max")

    # Gaps: (ready time, next start, travel, place label)
    prev_loc = tech.start
    prev_ready = route.start_time
    gaps: list[tuple[int, int, int]] = []
    distance = 0
    for stop in route.stops:
        job = jobs[stop.job_id]
        a, b = rows[prev_loc], rows[job.location]
        travel = int(sec[a, b])
        if stop.leg_seconds != travel or stop.leg_metres != int(met[a, b]):
            errs.append(f"{tag}: leg to {job.id} misreported")
        distance += int(met[a, b])
        if job.windows and not any(w.start <= stop.start <= w.end for w in job.windows):
            errs.append(f"{tag}: {job.id} starts at {stop.start} outside its windows")
        if stop.end - stop.start != job.duration:
            errs.append(f"{tag}: {job.id} service {stop.end - stop.start} != {job.duration}")
        if stop.start < stop.arrival:
            errs.append(f"{tag}: {job.id} starts before arrival")
        if stop.arrival < prev_ready + travel:
            errs.append(f"{tag}: arrives at {job.id} at {stop.arrival}, faster than travel")
        gaps.append((prev_ready, stop.start, travel))
        prev_ready = stop.end
        prev_loc = job.location
    a, b = rows[prev_loc], rows[tech.end_location]
    back = int(sec[a, b])
    distance += int(met[a, b])
    gaps.append((prev_ready, route.end_time, back))
    if distance != route.distance_m:
        errs.append(f"{tag}: distance {route.distance_m} reported, {distance} computed")

    for stop in route.stops:
        for bs, be in breaks:
            if bs < stop.end and stop.start < be:
                errs.append(f"{tag}: break [{bs}, {be}) overlaps service of {stop.job_id}")
    for lo, hi, travel in gaps:
        inside = sum(be - bs for bs, be in breaks if lo <= bs and be <= hi)
        if hi - lo < travel + inside:
            errs.append(f"{tag}: gap [{lo}, {hi}] too short for {travel} s travel + breaks")
    for bs, be in breaks:
        in_gap = any(lo <= bs and be <= hi for lo, hi, _ in gaps)
        outside = be <= route.start_time or bs >= route.end_time
        if not (in_gap or outside):
            errs.append(f"{tag}: break [{bs}, {be}) straddles work")
    return errs


def check_solution(problem: Problem, matrices: Matrices, solution: Solution) -> list[str]:
    """Every violation in a solution, plus bookkeeping: each job routed once or explained."""
    errs: list[str] = []
    seen: dict[str, int] = {}
    techs_seen: set[str] = set()
    for route in solution.routes:
        if route.technician_id in techs_seen:
            errs.append(f"technician {route.technician_id} has two routes")
        techs_seen.add(route.technician_id)
        errs += check_route(problem, matrices, route)
        for s in route.stops:
            seen[s.job_id] = seen.get(s.job_id, 0) + 1
    for u in solution.unassigned:
        seen[u.job_id] = seen.get(u.job_id, 0) + 1
        if not u.message:
            errs.append(f"unassigned {u.job_id} has no message")
    for job in problem.jobs:
        if seen.get(job.id, 0) != 1:
            errs.append(f"job {job.id} appears {seen.get(job.id, 0)} times (routes+unassigned)")
    return errs
