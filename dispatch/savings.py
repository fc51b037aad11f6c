"""Savings: the optimised plan of a day against the greedy baseline on the same tickets.

The optimised figures come from the plan as stored (routes and stops); the baseline is
recomputed from the same tickets (every ticket on the plan's routes or in its unassigned
list) and the same engineers (every engineer with a route row in the plan), with the same
travel model, and re-timed with ``routing.evaluate_route`` so both sides are measured the
same way.

Definitions: *km* and *drive hours* include the drive home; *served* counts tickets on a
route; *SLA met* counts served tickets whose service starts by their SLA due time (a
ticket without SLA counts as met when served); *km per served* is km / served.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm.errors import NotFound
from crm.models import Plan, PlanStatus, PlanUnassigned, Route, Stop, Ticket
from crm.settings import Settings
from dispatch.clock import DayClock
from dispatch.greedy import greedy_dispatch
from dispatch.problem_builder import day_problem
from dispatch.records import load_engineers, load_territories, load_tickets
from routing import HaversineMatrix

__all__ = ["Figures", "SavingsReport", "savings_report"]


@dataclass(frozen=True, slots=True)
class Figures:
    """One side of the comparison."""

    km: float
    drive_hours: float
    served: int
    sla_met: int
    km_per_served: float | None

    @classmethod
    def of(cls, metres: int, drive_s: int, served: int, sla_met: int) -> Figures:
        km = metres / 1000
        return cls(
            km=round(km, 3),
            drive_hours=round(drive_s / 3600, 3),
            served=served,
            sla_met=sla_met,
            km_per_served=round(km / served, 4) if served else None,
        )


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 4)


@dataclass(frozen=True, slots=True)
class SavingsReport:
    """Optimised vs greedy for one day's plan, with the ratios optimised / greedy."""

    day: date
    plan_id: int
    plan_status: str
    tickets: int
    engineers: int
    optimised: Figures
    greedy: Figures

    @property
    def ratios(self) -> dict[str, float | None]:
        """optimised / greedy for every figure."""
        o, g = asdict(self.optimised), asdict(self.greedy)
        return {k: _ratio(o[k], g[k]) for k in o}

    @property
    def ratio_km_per_served(self) -> float | None:
        return self.ratios["km_per_served"]

    def as_json(self) -> dict[str, Any]:
        """Exactly the object ``fieldroute report savings --json`` prints."""
        return {
            "optimised": asdict(self.optimised),
            "greedy": asdict(self.greedy),
            "ratio_km_per_served": self.ratio_km_per_served,
        }


def _pick_plan(session: Session, day: date, plan_id: int | None) -> Plan:
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise NotFound("plan", plan_id)
        return plan
    for status in (PlanStatus.published, PlanStatus.draft):
        plan = session.exec(
            select(Plan)
            .where(Plan.day == day, Plan.status == status)
            .order_by(col(Plan.id).desc())
            .limit(1)
        ).first()
        if plan is not None:
            return plan
    raise NotFound("published or draft plan for", day.isoformat())


def savings_report(
    engine: Engine,
    day: date,
    *,
    plan_id: int | None = None,
    settings: Settings | None = None,
    matrix: HaversineMatrix | None = None,
) -> SavingsReport:
    """Compare the day's plan (the published one, else the newest draft) with greedy.

    Raises
    ------
    NotFound
        When the day has no published or draft plan (and no ``plan_id`` is given).
    """
    settings = settings or Settings()
    clock = DayClock.of(day, settings.timezone)
    with Session(engine) as s:
        plan = _pick_plan(s, day, plan_id)
        assert plan.id is not None
        routes = s.exec(select(Route).where(Route.plan_id == plan.id)).all()
        stops = s.exec(
            select(Stop.ticket_id, Stop.start_at, Ticket.sla_due_at)
            .join(Route, col(Route.id) == Stop.route_id)
            .join(Ticket, col(Ticket.id) == Stop.ticket_id)
            .where(Route.plan_id == plan.id)
        ).all()
        left = s.exec(
            select(PlanUnassigned.ticket_id).where(PlanUnassigned.plan_id == plan.id)
        ).all()
        ticket_ids = sorted({int(t) for t, _, _ in stops} | {int(t) for t in left})
        engineer_ids = sorted({r.engineer_id for r in routes})
        territories = load_territories(s, with_geometry=False)
        engineers = load_engineers(s, plan.day, engineer_ids=engineer_ids)
        tickets = load_tickets(s, ticket_ids=ticket_ids) if ticket_ids else []
    met = sum(1 for _, start, sla in stops if sla is None or start <= sla)
    optimised = Figures.of(
        sum(r.distance_m for r in routes), sum(r.drive_s for r in routes), len(stops), met
    )
    problem, _skipped = day_problem(
        engineers,
        tickets,
        clock,
        territory_keys={i: t.key for i, t in territories.items()},
    )
    greedy = greedy_dispatch(problem, matrix or HaversineMatrix())
    sla = {j.id: j.sla_due for j in problem.jobs}
    g_met = 0
    for r in greedy.evaluated.values():
        for stop in r.stops:
            due = sla.get(stop.job_id)
            if due is None or stop.start <= due:
                g_met += 1
    baseline = Figures.of(
        sum(r.distance_m for r in greedy.evaluated.values()),
        sum(r.travel_s for r in greedy.evaluated.values()),
        greedy.assigned,
        g_met,
    )
    return SavingsReport(
        day=plan.day,
        plan_id=plan.id,
        plan_status=str(plan.status),
        tickets=len(ticket_ids),
        engineers=len(engineer_ids),
        optimised=optimised,
        greedy=baseline,
    )
