"""Records → map views: the queries behind ``/map``, ``/map/data`` and the day sheet.

``maps`` draws plain data and may not import ``crm`` (ARCHITECTURE.md), and
``dispatch`` may not import ``maps``; so the conversion from rows to
:mod:`maps.data` views lives here, in the front door that may import both.
A page is a handful of set-based queries (no query per ticket), so the map of
5,000 tickets costs the same few round trips as the map of five.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.models import (
    Customer,
    Engineer,
    EngineerSkill,
    EngineerTerritory,
    Plan,
    PlanStatus,
    PlanUnassigned,
    Route,
    Shift,
    Site,
    Skill,
    Stop,
    Territory,
    TerritoryRole,
    Ticket,
    TicketSkill,
    TicketStatus,
    TicketWindow,
)
from geofence import LatLon
from maps.data import (
    OPEN_STATUSES,
    EngineerStatus,
    EngineerView,
    LeaderRow,
    MapData,
    RouteView,
    StopView,
    TerritoryView,
    TicketView,
    UnassignedView,
)
from maps.popups import default_colour

__all__ = [
    "choose_plan",
    "day_bounds",
    "day_plans",
    "load_leaderboard",
    "load_map_data",
    "load_map_frame",
]

_FINAL = (TicketStatus.completed, TicketStatus.cancelled)


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The local day as a UTC half-open interval ``[start, end)``."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def day_plans(session: Session, day: date) -> list[Plan]:
    """The plans a dispatcher means by "the plan of that day", newest first.

    Every published plan of the day (what engineers were sent; per-territory
    runs and real-time assignments may each have published one), else the
    newest draft (what the nightly batch proposes and a dispatcher reviews).
    """
    published = session.exec(
        select(Plan)
        .where(Plan.day == day, Plan.status == PlanStatus.published)
        .order_by(col(Plan.published_at).desc(), col(Plan.id).desc())
    ).all()
    if published:
        return list(published)
    draft = session.exec(
        select(Plan)
        .where(Plan.day == day, Plan.status == PlanStatus.draft)
        .order_by(col(Plan.created_at).desc(), col(Plan.id).desc())
        .limit(1)
    ).first()
    return [draft] if draft is not None else []


def choose_plan(session: Session, day: date) -> Plan | None:
    """The newest of :func:`day_plans` (the one named on the map)."""
    plans = day_plans(session, day)
    return plans[0] if plans else None


def _plan_label(plans: list[Plan], routes: int) -> str:
    if not plans:
        return "no plan for this day"
    newest = plans[0]
    more = f" (+{len(plans) - 1} more)" if len(plans) > 1 else ""
    return f"{newest.status} plan #{newest.id}{more} · {routes} routes"


def _ticket_scope(start: datetime, end: datetime, engineer_id: int | None) -> Any:
    """Tickets that may belong on the day's map (refined by windows afterwards)."""
    cond = sa.or_(
        col(Ticket.status).not_in(_FINAL),
        sa.and_(col(Ticket.completed_at) >= start, col(Ticket.completed_at) < end),
        sa.and_(col(Ticket.planned_start) >= start, col(Ticket.planned_start) < end),
    )
    stmt = select(Ticket.id).where(cond)
    if engineer_id is not None:
        stmt = stmt.where(Ticket.engineer_id == engineer_id)
    return stmt


def load_map_data(
    session: Session, *, day: date, tz: str, engineer_id: int | None = None
) -> MapData:
    """Everything the map of ``day`` shows, read in a fixed number of queries.

    ``engineer_id`` limits tickets and routes to one engineer (his day sheet).
    """
    start, end = day_bounds(day, tz)
    plans = day_plans(session, day)
    plan_ids = [p.id for p in plans if p.id is not None]
    rank = {pid: i for i, pid in enumerate(plan_ids)}

    # --- routes: each engineer's route from the newest plan that has one -------------
    route_rows: list[Route] = []
    stops_by_route: dict[int, list[Any]] = defaultdict(list)
    plan_unassigned: dict[int, PlanUnassigned] = {}
    if plan_ids:
        stmt = select(Route).where(col(Route.plan_id).in_(plan_ids))
        if engineer_id is not None:
            stmt = stmt.where(Route.engineer_id == engineer_id)
        newest: dict[int, Route] = {}
        for r in sorted(session.exec(stmt), key=lambda r: (rank[r.plan_id], r.id or 0)):
            newest.setdefault(r.engineer_id, r)
        route_rows = sorted(newest.values(), key=lambda r: r.engineer_id)
        route_ids = [r.id for r in route_rows if r.id is not None]
        if route_ids:
            # Columns, not ORM objects: thousands of rows build several times faster.
            for s in session.exec(
                select(
                    Stop.route_id,
                    Stop.ticket_id,
                    Stop.seq,
                    Stop.arrival_at,
                    Stop.start_at,
                    Stop.end_at,
                    Stop.leg_m,
                    Stop.wait_s,
                )
                .where(col(Stop.route_id).in_(route_ids))
                .order_by(Stop.route_id, Stop.seq)
            ):
                stops_by_route[s.route_id].append(s)
        if engineer_id is None:
            rows_u = session.exec(
                select(PlanUnassigned).where(col(PlanUnassigned.plan_id).in_(plan_ids))
            ).all()
            for u in sorted(rows_u, key=lambda u: rank[u.plan_id]):
                plan_unassigned.setdefault(u.ticket_id, u)
    stop_ticket_ids = {s.ticket_id for stops in stops_by_route.values() for s in stops}

    # --- tickets ---------------------------------------------------------------
    scope = _ticket_scope(start, end, engineer_id)
    extra_ids = stop_ticket_ids | set(plan_unassigned)
    id_filter: Any = col(Ticket.id).in_(scope)
    if route_rows:
        # Subqueries, not ticket-id lists: a big plan would exceed SQLite's parameter limit.
        routes_q = [r.id for r in route_rows]
        in_plan = [
            col(Ticket.id).in_(select(Stop.ticket_id).where(col(Stop.route_id).in_(routes_q)))
        ]
        if engineer_id is None:
            in_plan.append(
                col(Ticket.id).in_(
                    select(PlanUnassigned.ticket_id).where(
                        col(PlanUnassigned.plan_id).in_(plan_ids)
                    )
                )
            )
        id_filter = sa.or_(id_filter, *in_plan)
    elif plan_ids and engineer_id is None:
        id_filter = sa.or_(
            id_filter,
            col(Ticket.id).in_(
                select(PlanUnassigned.ticket_id).where(col(PlanUnassigned.plan_id).in_(plan_ids))
            ),
        )
    rows = session.exec(
        select(
            Ticket.id,
            Ticket.title,
            Ticket.priority,
            Ticket.status,
            Ticket.sla_due_at,
            Ticket.duration_min,
            Ticket.engineer_id,
            Ticket.planned_start,
            Ticket.completed_at,
            Site.lat,
            Site.lon,
            Site.address,
            Site.territory_id,
            col(Customer.name).label("customer"),
        )
        .join(Site, col(Site.id) == Ticket.site_id)
        .join(Customer, col(Customer.id) == Ticket.customer_id)
        .where(id_filter)
        .order_by(Ticket.id)
    ).all()
    ids = [t.id for t in rows]
    windows: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    skills: dict[int, list[str]] = defaultdict(list)
    if ids:
        for wid, w_start, w_end in session.exec(
            select(TicketWindow.ticket_id, TicketWindow.start_at, TicketWindow.end_at)
            .where(col(TicketWindow.ticket_id).in_(select(Ticket.id).where(id_filter)))
            .order_by(TicketWindow.ticket_id, TicketWindow.start_at)
        ):
            windows[wid].append((w_start, w_end))
        for tid, code, level in session.exec(
            select(TicketSkill.ticket_id, Skill.code, TicketSkill.min_level)
            .join(Skill, col(Skill.id) == TicketSkill.skill_id)
            .where(col(TicketSkill.ticket_id).in_(select(Ticket.id).where(id_filter)))
            .order_by(TicketSkill.ticket_id, Skill.code)
        ):
            skills[tid].append(f"{code} ≥{level}")

    territories = list(session.exec(select(Territory).order_by(Territory.name)))
    territory_names = {t.id: t.name for t in territories}

    tickets: list[TicketView] = []
    for t in rows:
        w = windows.get(t.id, [])
        forced = t.id in extra_ids
        planned_today = t.planned_start is not None and start <= t.planned_start < end
        done_today = t.completed_at is not None and start <= t.completed_at < end
        if not (forced or planned_today or done_today):
            if w:
                if not any(a < end and b > start for a, b in w):
                    continue
            elif t.sla_due_at is not None and t.sla_due_at < start:
                continue
        tickets.append(
            TicketView(
                id=t.id,
                title=t.title,
                customer=t.customer,
                position=LatLon(lat=t.lat, lon=t.lon),
                priority=str(t.priority),
                status=str(t.status),
                address=t.address,
                territory_id=t.territory_id,
                territory=territory_names.get(t.territory_id) if t.territory_id else None,
                windows=tuple(w),
                sla_due=t.sla_due_at,
                duration_min=t.duration_min,
                engineer_id=t.engineer_id,
                planned_start=t.planned_start,
                skills=tuple(skills.get(t.id, ())),
            )
        )

    # --- engineers -----------------------------------------------------------------
    estmt = select(Engineer).where(
        sa.or_(
            col(Engineer.active).is_(True),
            col(Engineer.id).in_([r.engineer_id for r in route_rows]),
        )
    )
    if engineer_id is not None:
        estmt = select(Engineer).where(Engineer.id == engineer_id)
    engineers = list(session.exec(estmt.order_by(Engineer.name, Engineer.id)))
    shifts = {
        s.engineer_id: s
        for s in session.exec(select(Shift).where(Shift.day == day))
        if engineer_id is None or s.engineer_id == engineer_id
    }
    eskills: dict[int, list[str]] = defaultdict(list)
    for eid, code, level in session.exec(
        select(EngineerSkill.engineer_id, Skill.code, EngineerSkill.level)
        .join(Skill, col(Skill.id) == EngineerSkill.skill_id)
        .order_by(EngineerSkill.engineer_id, Skill.code)
    ):
        eskills[eid].append(f"{code} {level}")
    eterritories: dict[int, list[str]] = defaultdict(list)
    for eid, role, name in session.exec(
        select(EngineerTerritory.engineer_id, EngineerTerritory.role, Territory.name)
        .join(Territory, col(Territory.id) == EngineerTerritory.territory_id)
        .order_by(EngineerTerritory.engineer_id, EngineerTerritory.role, Territory.name)
    ):
        eterritories[eid].append(name if role == TerritoryRole.primary else f"{name} (secondary)")
    active_status: dict[int, EngineerStatus] = {}
    for t in tickets:
        if t.engineer_id is None:
            continue
        if t.status == TicketStatus.on_site:
            active_status[t.engineer_id] = EngineerStatus.ON_SITE
        elif t.status == TicketStatus.travelling:
            active_status.setdefault(t.engineer_id, EngineerStatus.TRAVELLING)
    with_route = {r.engineer_id for r in route_rows if stops_by_route.get(r.id or 0)}

    engineer_views: list[EngineerView] = []
    homes: dict[int, tuple[LatLon, LatLon]] = {}
    for e in engineers:
        assert e.id is not None
        shift = shifts.get(e.id)
        home = LatLon(lat=e.home_lat, lon=e.home_lon)
        start_at = (
            LatLon(lat=shift.start_lat, lon=shift.start_lon)
            if shift and shift.start_lat is not None and shift.start_lon is not None
            else home
        )
        end_at = (
            LatLon(lat=shift.end_lat, lon=shift.end_lon)
            if shift and shift.end_lat is not None and shift.end_lon is not None
            else home
        )
        homes[e.id] = (start_at, end_at)
        known = e.last_lat is not None and e.last_lon is not None
        if e.id in active_status:
            status = active_status[e.id]
        elif e.id in with_route:
            status = EngineerStatus.PLANNED
        elif shift is not None:
            status = EngineerStatus.AVAILABLE
        else:
            status = EngineerStatus.OFF_SHIFT
        engineer_views.append(
            EngineerView(
                id=e.id,
                name=e.name,
                colour=e.colour or default_colour(e.id),
                position=LatLon(lat=e.last_lat, lon=e.last_lon) if known else home,  # type: ignore[arg-type]
                status=status,
                position_is_home=not known,
                last_seen_at=e.last_seen_at,
                shift_start=shift.start_at if shift else None,
                shift_end=shift.end_at if shift else None,
                break_minutes=shift.break_minutes if shift else 0,
                skills=tuple(eskills.get(e.id, ())),
                territories=tuple(eterritories.get(e.id, ())),
            )
        )

    # A ticket declined, re-assigned or returned to the pool since the plan was published
    # is not his stop any more (his phone drops it too): it shows in the pool, where the
    # dispatcher can place it again. A draft's tickets are nobody's yet: only one taken
    # by someone else since is dropped.
    holder = {t.id: t.engineer_id for t in rows}
    sent = bool(plans) and plans[0].status == PlanStatus.published
    routes: list[RouteView] = []
    for r in route_rows:
        places = homes.get(r.engineer_id)
        if places is None:
            continue
        his = {r.engineer_id} if sent else {r.engineer_id, None}
        routes.append(
            RouteView(
                engineer_id=r.engineer_id,
                start=places[0],
                end=places[1],
                stops=tuple(
                    StopView(
                        seq=s.seq,
                        ticket_id=s.ticket_id,
                        arrival=s.arrival_at,
                        start=s.start_at,
                        end=s.end_at,
                        leg_m=s.leg_m,
                        wait_s=s.wait_s,
                    )
                    for s in stops_by_route.get(r.id or 0, [])
                    if holder.get(s.ticket_id) in his
                ),
                start_at=r.start_at,
                end_at=r.end_at,
                distance_m=r.distance_m,
                drive_s=r.drive_s,
                work_s=r.work_s,
                wait_s=r.wait_s,
                break_start=r.break_start_at,
                break_end=r.break_end_at,
            )
        )

    # --- unassigned: open tickets no route of the plan takes ------------------------
    unassigned: list[UnassignedView] = []
    if engineer_id is None:
        placed = {s.ticket_id for r in routes for s in r.stops}
        for t in tickets:
            if t.status not in OPEN_STATUSES or t.id in placed:
                continue
            row = plan_unassigned.get(t.id)
            if row is not None:
                unassigned.append(UnassignedView(t.id, row.reason, row.message))
                continue
            message = (
                "no plan for this day yet"
                if not plans
                else "created or returned to the pool after this plan was made"
            )
            if t.outside_fences:
                message += "; its site is outside every fence"
            unassigned.append(UnassignedView(t.id, "not_planned", message))

    return MapData(
        day=day,
        tz=tz,
        territories=tuple(
            TerritoryView(
                id=t.id or 0,
                name=t.name,
                colour=t.colour,
                geometry=t.geometry,
                priority=t.priority,
            )
            for t in territories
            if t.geometry
        ),
        engineers=tuple(engineer_views),
        tickets=tuple(tickets),
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        leaderboard=tuple(load_leaderboard(session, day=day, tz=tz)) if engineer_id is None else (),
        plan_id=plan_ids[0] if plan_ids else None,
        plan_label=_plan_label(plans, len(routes)),
    )


def load_map_frame(session: Session, *, day: date, tz: str) -> MapData:
    """What the map page itself needs: fences and the plan's name (its data comes later).

    The page asks for ``/map/data`` as it loads, so the heavy queries run once
    per page view, not twice.
    """
    plans = day_plans(session, day)
    plan_ids = [p.id for p in plans if p.id is not None]
    routes = 0
    if plan_ids:
        routes = session.exec(
            select(func.count(sa.distinct(Route.engineer_id))).where(
                col(Route.plan_id).in_(plan_ids)
            )
        ).one()
    territories = session.exec(select(Territory).order_by(Territory.name)).all()
    return MapData(
        day=day,
        tz=tz,
        territories=tuple(
            TerritoryView(
                id=t.id or 0, name=t.name, colour=t.colour, geometry=t.geometry, priority=t.priority
            )
            for t in territories
            if t.geometry
        ),
        plan_id=plan_ids[0] if plan_ids else None,
        plan_label=_plan_label(plans, routes),
    )


def load_leaderboard(session: Session, *, day: date, tz: str, days: int = 7) -> list[LeaderRow]:
    """Tickets completed per engineer in the ``days`` local days ending with ``day``.

    On time means completed before the SLA was due; a ticket without an SLA
    counts as on time (nobody promised a time).
    """
    start, _ = day_bounds(day - timedelta(days=days - 1), tz)
    _, end = day_bounds(day, tz)
    on_time = sa.case(
        (col(Ticket.sla_due_at).is_(None), 1),
        (col(Ticket.completed_at) <= col(Ticket.sla_due_at), 1),
        else_=0,
    )
    rows = session.exec(
        select(Engineer.id, Engineer.name, sa.func.count(col(Ticket.id)), sa.func.sum(on_time))
        .join(Engineer, col(Engineer.id) == Ticket.engineer_id)
        .where(
            Ticket.status == TicketStatus.completed,
            col(Ticket.completed_at) >= start,
            col(Ticket.completed_at) < end,
        )
        .group_by(Engineer.id, Engineer.name)
    ).all()
    return [
        LeaderRow(engineer_id=eid, name=name, completed=int(n), on_time=int(ok or 0))
        for eid, name, n, ok in rows
    ]
