"""Cutting a day into independent parts by territory, and the second pass.

Decisions the issue left open, made here:

* **First pass.** Territories sharing a *primary* engineer are always planned together
  (an engineer can only be in one route); touching territories (fences within 20 m) that
  share an engineer in any role are merged too, so that engineer can cross the border at
  the secondary cost — but only while the merged part stays under ``max_part_jobs``
  tickets: a city whose neighbours all lend engineers to each other would otherwise become
  one problem too big to solve well. Relations left out go to the second pass.
* **Second pass.** Tickets the first pass left unassigned (and tickets of territories
  without any primary engineer that day) are offered to the engineers for whom their
  territory is secondary — each to its three nearest such engineers (by where their day
  starts) who still have room in their shift for it (urgent and high tickets: whether or
  not they have room). Tickets sharing an engineer form one part of at most 12 engineers:
  the engineers keep their first-pass jobs (pinned to them; the search starts from their
  first-pass routes) and may add the new tickets. A first-pass job is never dropped for
  work worth the same or less, but one of lower priority than the part's most valuable
  leftover may give way to it: an urgent ticket a neighbour could serve is not left out
  because his day is full of low-priority work.
* **Third pass.** The same kind of part, with the ticket's own territory's engineers as
  candidates too, for tickets that gave way in the second pass and for every ticket still
  left for lack of time (``own_territory=True``).
* **No territory.** A site outside every fence is planned only with engineers who have no
  territory at all (a company that does not use territories has only those); when there
  are none the ticket is unassigned with reason ``outside_all_territories``.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from dispatch.clock import DayClock
from dispatch.problem_builder import job_for, technician_for
from dispatch.records import EngineerRecord, TerritoryRecord, TicketRecord
from routing import (
    Job,
    Location,
    Priority,
    Problem,
    SkillLevels,
    Technician,
    TravelMatrix,
    Weights,
    feasibility,
)

__all__ = [
    "OUTSIDE_ALL_TERRITORIES",
    "Decomposition",
    "PartPlan",
    "decompose",
    "second_pass",
    "secondary_reasons",
]

OUTSIDE_ALL_TERRITORIES = "outside_all_territories"
NO_ENGINEER_IN_TERRITORY = "no_engineer_in_territory"
DEFAULT_MAX_PART_JOBS = 250
# Second pass: a leftover ticket is offered to its nearest few secondary engineers, and a
# part holds at most this many engineers (each brings his whole first-pass day along).
SECOND_PASS_CANDIDATES = 3
SECOND_PASS_MAX_ENGINEERS = 12
# ... who have at least the ticket's duration plus this many seconds of their shift unused.
SECOND_PASS_MIN_SLACK = 15 * 60
# Reasons a part gives when none of *its* engineers could do a ticket even on an empty day.
# Engineers of other parts (its territory being secondary for them) may still be able to.
PART_PRECHECK_REASONS = frozenset(
    {
        "no_engineer_with_skill",
        NO_ENGINEER_IN_TERRITORY,
        "no_shift_covers_window",
        "window_unreachable",
        "exceeds_working_time",
        "exceeds_capacity",
    }
)


@dataclass(frozen=True, slots=True)
class PartPlan:
    """One independent problem: its name, territories and the solver's problem."""

    key: str
    name: str
    pass_no: int
    territory_ids: tuple[int, ...]
    problem: Problem
    initial_routes: Mapping[str, Sequence[str]] | None = None

    @property
    def size(self) -> int:
        """Jobs in the part (the scheduler starts big parts first)."""
        return len(self.problem.jobs)


@dataclass(slots=True)
class Decomposition:
    """The first-pass parts and what could not go into any part, with the reason."""

    parts: list[PartPlan] = field(default_factory=list)
    # ticket id -> (reason, message) for tickets no first-pass part takes
    orphans: dict[int, tuple[str, str]] = field(default_factory=dict)
    # ticket id -> job, for every ticket servable that day (both passes build on them)
    jobs: dict[int, Job] = field(default_factory=dict)
    technicians: dict[int, Technician] = field(default_factory=dict)


class _UnionFind:
    def __init__(self, items: Iterable[int]) -> None:
        self.parent = {i: i for i in items}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for x in sorted(self.parent):
            out[self.find(x)].append(x)
        return sorted(out.values(), key=lambda g: g[0])


def _territory_key(territories: Mapping[int, TerritoryRecord], tid: int) -> str:
    t = territories.get(tid)
    return t.key if t else f"territory #{tid}"


def decompose(
    *,
    engineers: Sequence[EngineerRecord],
    tickets: Sequence[TicketRecord],
    territories: Mapping[int, TerritoryRecord],
    clock: DayClock,
    weights: Weights,
    touching: Iterable[tuple[int, int]] = (),
    max_part_jobs: int = DEFAULT_MAX_PART_JOBS,
    scope: frozenset[int] | None = None,
    cost_per_hour: float = 0.0,
) -> Decomposition:
    """First-pass parts for a day.

    Parameters
    ----------
    engineers, tickets
        Records already filtered to the day (engineers with a shift, plannable tickets).
    territories
        Every territory, for names.
    touching
        Pairs of territory ids whose fences touch (``geofence.FenceIndex.touching_pairs``).
    scope
        Territory ids to plan (``--territory``); ``None`` plans every territory and the
        unzoned tickets.
    """
    out = Decomposition()
    horizon_end = max(
        [clock.length] + [clock.seconds(e.shift.end_at) for e in engineers if e.shift is not None]
    )
    techs: dict[int, Technician] = {}
    for e in engineers:
        prim = e.primary if scope is None else e.primary & scope
        if scope is not None and not prim:
            continue
        t = technician_for(e, clock, cost_per_hour=cost_per_hour)
        if t is not None:
            techs[e.id] = t
    out.technicians = techs
    eng_by_id = {e.id: e for e in engineers if e.id in techs}

    jobs: dict[int, Job] = {}
    for tk in tickets:
        if scope is not None and tk.territory_id not in scope:
            continue
        key = None if tk.territory_id is None else _territory_key(territories, tk.territory_id)
        job = job_for(tk, clock, horizon_end=horizon_end, territory=key)
        if job is not None:
            jobs[tk.id] = job
    out.jobs = jobs
    ticket_territory = {tk.id: tk.territory_id for tk in tickets if tk.id in jobs}

    # --- unzoned tickets ------------------------------------------------------------------
    unzoned_jobs = [tid for tid, terr in ticket_territory.items() if terr is None]
    unzoned_engineers = [e for e in eng_by_id.values() if not e.zoned]
    if unzoned_jobs:
        if unzoned_engineers:
            problem = Problem(
                tuple(
                    _with_territories(techs[e.id], (), ())
                    for e in sorted(unzoned_engineers, key=lambda e: e.id)
                ),
                tuple(jobs[t] for t in sorted(unzoned_jobs)),
                weights,
            )
            out.parts.append(PartPlan("unzoned", "no territory", 1, (), problem))
        else:
            for tid in unzoned_jobs:
                out.orphans[tid] = (
                    OUTSIDE_ALL_TERRITORIES,
                    "Its site lies outside every territory fence, and no engineer working "
                    "that day is without a territory.",
                )

    # --- territory groups -----------------------------------------------------------------
    zoned = [e for e in eng_by_id.values() if e.primary]
    seen_t = {t for t in ticket_territory.values() if t is not None}
    for e in zoned:
        seen_t |= e.primary if scope is None else e.primary & scope
    uf = _UnionFind(seen_t)
    for e in zoned:
        prim = sorted(e.primary & seen_t)
        for a, b in itertools.pairwise(prim):
            uf.union(a, b)
    count: dict[int, int] = defaultdict(int)
    for terr in ticket_territory.values():
        if terr is not None:
            count[terr] += 1
    shared: set[tuple[int, int]] = set()
    for e in eng_by_id.values():
        terrs = sorted(e.territories & seen_t)
        for i, a in enumerate(terrs):
            for b in terrs[i + 1 :]:
                shared.add((a, b))
    for a, b in sorted((min(p), max(p)) for p in touching):
        if (a, b) not in shared or a not in seen_t or b not in seen_t:
            continue
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            continue
        size = sum(count[t] for t in seen_t if uf.find(t) in (ra, rb))
        if size <= max_part_jobs:
            uf.union(a, b)

    by_group_tickets: dict[int, list[int]] = defaultdict(list)
    for tid, terr in sorted(ticket_territory.items()):
        if terr is not None:
            by_group_tickets[uf.find(terr)].append(tid)
    n = 0
    for group in uf.groups():
        root = uf.find(group[0])
        gset = set(group)
        members = sorted((e for e in zoned if e.primary & gset), key=lambda e: e.id)
        group_tickets = by_group_tickets.get(root, [])
        if not group_tickets:
            continue
        names = ", ".join(
            territories[t].name if t in territories else f"#{t}" for t in sorted(gset)
        )
        if not members:
            for tid in group_tickets:
                out.orphans[tid] = (
                    NO_ENGINEER_IN_TERRITORY,
                    f"No engineer working on {clock.day.isoformat()} has territory {names} "
                    "as primary territory.",
                )
            continue
        n += 1
        team = tuple(
            _with_territories(
                techs[e.id],
                [_territory_key(territories, t) for t in e.primary & gset],
                [_territory_key(territories, t) for t in e.secondary & gset],
            )
            for e in members
        )
        problem = Problem(team, tuple(jobs[t] for t in group_tickets), weights)
        out.parts.append(PartPlan(f"p{n:02d}", names, 1, tuple(sorted(gset)), problem))
    return out


def _with_territories(
    t: Technician, primary: Iterable[str], secondary: Iterable[str]
) -> Technician:
    prim = frozenset(primary)
    return replace(t, territories=prim, secondary_territories=frozenset(secondary) - prim)


def second_pass(
    *,
    decomposition: Decomposition,
    engineers: Sequence[EngineerRecord],
    territories: Mapping[int, TerritoryRecord],
    tickets: Sequence[TicketRecord],
    routes: Mapping[int, Sequence[int]],
    unassigned: Iterable[int],
    weights: Weights,
    free: Mapping[int, int] | None = None,
    own_territory: bool = False,
    pass_no: int = 2,
) -> list[PartPlan]:
    """Parts retrying ``unassigned`` tickets with engineers for whom they are secondary.

    ``routes`` maps engineer id → first-pass ticket ids in order; those jobs are pinned to
    him and kept. ``free`` maps engineer id → seconds of his shift his first-pass route
    leaves unused: an engineer without room for the work is not offered it. Only engineers
    in the run (``decomposition.technicians``) take part. With ``own_territory`` the
    ticket's own (primary) engineers are candidates too: a ticket that gave way to urgent
    work in the second pass goes back to its territory's engineers who have room.
    """
    jobs = decomposition.jobs
    techs = decomposition.technicians
    territory_of = {tk.id: tk.territory_id for tk in tickets}
    eng = {e.id: e for e in engineers if e.id in techs}
    candidates: dict[int, list[int]] = {}
    for tid in sorted(set(unassigned)):
        terr = territory_of.get(tid)
        if terr is None or tid not in jobs:
            continue
        need = SkillLevels(jobs[tid].skills)
        loc = jobs[tid].location
        room = jobs[tid].duration + SECOND_PASS_MIN_SLACK
        # Urgent and high tickets may displace less valuable first-pass work, so a busy
        # engineer is still a candidate for them.
        displaces = jobs[tid].priority.rank >= Priority.HIGH.rank
        able = sorted(
            (
                eid
                for eid, e in eng.items()
                if (terr in e.secondary or (own_territory and terr in e.primary))
                and SkillLevels(dict(e.skills)).covers(need)
                and (displaces or free is None or free.get(eid, room) >= room)
            ),
            key=lambda eid: (_near(techs[eid].start.lat, techs[eid].start.lon, loc), eid),
        )[:SECOND_PASS_CANDIDATES]
        if able:
            candidates[tid] = able
    if not candidates:
        return []
    groups = _cap_groups(candidates, SECOND_PASS_MAX_ENGINEERS)
    parts: list[PartPlan] = []
    for n, (group_tickets, group_engineers) in enumerate(groups, start=1):
        ticket_ids = sorted(group_tickets)
        eng_ids = sorted(group_engineers)
        team = []
        pinned: list[Job] = []
        initial: dict[str, list[str]] = {}
        terr_ids = sorted({t for t in (territory_of[x] for x in ticket_ids) if t is not None})
        top = max(jobs[t].priority.rank for t in ticket_ids)
        for eid in eng_ids:
            e = eng[eid]
            team.append(
                _with_territories(
                    techs[eid],
                    [_territory_key(territories, t) for t in e.primary],
                    [_territory_key(territories, t) for t in e.secondary],
                )
            )
            own = list(routes.get(eid, ()))
            initial[techs[eid].id] = [str(t) for t in own]
            # First-pass work stays with its engineer and is never dropped for work worth
            # the same or less; work of a lower priority than the part's best leftover
            # keeps its priority, so an urgent ticket can take its place.
            pinned.extend(
                replace(
                    jobs[t],
                    pinned_to=techs[eid].id,
                    territory=None,
                    priority=(
                        Priority.URGENT if jobs[t].priority.rank >= top else jobs[t].priority
                    ),
                )
                for t in own
            )
        names = ", ".join(territories[t].name if t in territories else f"#{t}" for t in terr_ids)
        problem = Problem(tuple(team), (*pinned, *(jobs[t] for t in ticket_ids)), weights)
        parts.append(
            PartPlan(
                f"{'s' if pass_no == 2 else f'r{pass_no}-'}{n:02d}",
                f"{'own or secondary' if own_territory else 'secondary'}: {names}",
                pass_no,
                tuple(terr_ids),
                problem,
                initial,
            )
        )
    return parts


def secondary_reasons(
    *,
    decomposition: Decomposition,
    engineers: Sequence[EngineerRecord],
    territories: Mapping[int, TerritoryRecord],
    tickets: Sequence[TicketRecord],
    unassigned: Mapping[int, tuple[str, str]],
    free: Mapping[int, int],
    matrix: TravelMatrix | None = None,
) -> dict[int, tuple[str, str]]:
    """True reasons for leftover tickets that an engineer of another part could do alone.

    A first-pass part judges a ticket only against its own engineers: "no technician in
    this plan has the skill" there may be false for the day, because an engineer for whom
    the territory is secondary has it. Such a ticket was offered to those engineers in the
    second pass if they had room; left unassigned, it is a ticket someone could do whose
    day is full (``over_capacity``), and counts as one. Returns the changed reasons only.
    """
    jobs = decomposition.jobs
    techs = decomposition.technicians
    territory_of = {tk.id: tk.territory_id for tk in tickets}
    leftover = sorted(
        tid
        for tid, (reason, _) in unassigned.items()
        if reason in PART_PRECHECK_REASONS
        and tid in jobs
        and territory_of.get(tid) is not None
        and jobs[tid].pinned_to is None
    )
    wanted = {territory_of[tid] for tid in leftover}
    helpers = sorted(
        (e for e in engineers if e.id in techs and e.secondary & wanted), key=lambda e: e.id
    )
    if not leftover or not helpers:
        return {}
    team = tuple(
        _with_territories(
            techs[e.id],
            [_territory_key(territories, t) for t in e.primary],
            [_territory_key(territories, t) for t in e.secondary],
        )
        for e in helpers
    )
    verdict = feasibility(Problem(team, tuple(jobs[t] for t in leftover)), matrix)
    by_key = {techs[e.id].id: e.id for e in helpers}
    out: dict[int, tuple[str, str]] = {}
    for tid in leftover:
        able = verdict.able.get(jobs[tid].id)
        if not able:
            continue
        room = jobs[tid].duration + SECOND_PASS_MIN_SLACK
        names = _listed(able)
        if all(free.get(by_key[k], 0) < room for k in able):
            why = f"none of them has {room // 60} min free in the day planned for them"
        else:
            why = "it did not fit into the routes planned for them"
        out[tid] = (
            "over_capacity",
            f"{unassigned[tid][1]} From a secondary territory, {names} could do it on an "
            f"otherwise empty day, but {why}.",
        )
    return out


def _listed(ids: Sequence[str], limit: int = 3) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return f"{', '.join(ids[:limit])} and {len(ids) - limit} others"


def _near(lat: float, lon: float, loc: Location) -> float:
    """Squared equirectangular distance: enough to rank engineers by closeness."""
    dx = (lon - loc.lon) * math.cos(math.radians(loc.lat))
    return dx * dx + (lat - loc.lat) ** 2


def _cap_groups(
    candidates: Mapping[int, Sequence[int]], cap: int
) -> list[tuple[set[int], set[int]]]:
    """Group tickets with their candidate engineers; no group above ``cap`` engineers.

    Tickets sharing an engineer go together. When joining two groups would exceed the cap,
    the ticket stays in the group it overlaps most and keeps only the candidates that
    group has (or can still take in): an engineer is in exactly one group.
    """
    groups: list[tuple[set[int], set[int]]] = []
    owner: dict[int, int] = {}
    for tid in sorted(candidates):
        able = list(candidates[tid])
        touched = sorted({owner[e] for e in able if e in owner})
        if not touched:
            groups.append(({tid}, set(able)))
            for e in able:
                owner[e] = len(groups) - 1
            continue
        union = set(able).union(*(groups[g][1] for g in touched))
        if len(union) <= cap:
            keep = touched[0]
            for g in touched[1:]:
                groups[keep][0].update(groups[g][0])
                groups[keep][1].update(groups[g][1])
                for e in groups[g][1]:
                    owner[e] = keep
                groups[g] = (set(), set())
            groups[keep][0].add(tid)
            for e in able:
                groups[keep][1].add(e)
                owner[e] = keep
            continue
        best = max(touched, key=lambda g: (sum(1 for e in able if owner.get(e) == g), -g))
        tickets, members = groups[best]
        tickets.add(tid)
        for e in able:
            if e not in owner and len(members) < cap:
                members.add(e)
                owner[e] = best
    return [(t, e) for t, e in groups if t]
