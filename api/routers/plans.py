"""Plans: start a planning job, follow it, publish it, cancel it.

The job runs in a worker process owned by the app (``dispatch.jobs``), never in the web
server's threadpool: OR-Tools holds the GIL for a whole solve.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from api.deps import PagingDep, SessionDep, Staff, actor_of
from api.listing import page
from crm.errors import InvalidInput, NotFound
from crm.models import Engineer, Plan, PlanStatus, PlanUnassigned, Route
from crm.schemas.common import Page, Strict
from dispatch.batch import resolve_territories
from dispatch.clock import parse_day
from dispatch.jobs import DispatchRuntime
from dispatch.plans import cancel_plan, create_plan, publish_plan
from dispatch.records import load_territories

router = APIRouter(prefix="/plans", tags=["plans"])


class PlanCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"date": "tomorrow", "publish": True},
                {"date": "2026-12-02", "territories": ["Xuhui"], "time_limit": 20},
            ]
        },
    )

    date: str = Field(
        default="tomorrow",
        description="Day to plan: YYYY-MM-DD, 'today' or 'tomorrow' (company time zone).",
        examples=["tomorrow"],
    )
    territories: list[str] | None = Field(
        default=None, description="Territory names or ids; all territories when omitted."
    )
    time_limit: float = Field(default=30.0, gt=0, le=3600, description="Seconds per part.")
    solution_limit: int | None = Field(default=None, ge=1)
    executor: Literal["local", "dask"] | None = None
    publish: bool = Field(default=False, description="Publish when every part succeeded.")


class UnassignedPublic(BaseModel):
    ticket_id: int
    reason: str
    message: str


class RouteSummary(BaseModel):
    engineer_id: int
    engineer_name: str
    stop_count: int
    distance_m: int
    drive_s: int
    work_s: int
    start_at: datetime | None
    end_at: datetime | None


class PlanPublic(BaseModel):
    id: int
    day: date
    status: PlanStatus
    scope: dict[str, Any]
    progress: dict[str, Any]
    totals: dict[str, Any]
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    published_at: datetime | None
    unassigned: list[UnassignedPublic] | None = Field(
        default=None, description="When the plan is done: every ticket left out, with why."
    )
    routes: list[RouteSummary] | None = None


class PlanSummary(BaseModel):
    id: int
    day: date
    status: PlanStatus
    scope: dict[str, Any]
    totals: dict[str, Any]
    error: str | None
    created_by: str
    created_at: datetime
    published_at: datetime | None


def runtime(request: Request) -> DispatchRuntime:
    """The app's worker pools, created on first use and shut down with the app."""
    rt = getattr(request.app.state, "dispatch_runtime", None)
    if rt is None:
        engine = request.app.state.engine
        rt = DispatchRuntime(
            engine.url.render_as_string(hide_password=False), request.app.state.settings
        )
        request.app.state.dispatch_runtime = rt
        request.app.router.add_event_handler("shutdown", rt.shutdown)
    return rt


def _public(session: SessionDep, plan: Plan) -> PlanPublic:
    out = PlanPublic.model_validate(plan, from_attributes=True)
    if plan.status in (PlanStatus.draft, PlanStatus.published, PlanStatus.superseded):
        out.unassigned = [
            UnassignedPublic(ticket_id=u.ticket_id, reason=u.reason, message=u.message)
            for u in session.exec(
                select(PlanUnassigned)
                .where(PlanUnassigned.plan_id == plan.id)
                .order_by(col(PlanUnassigned.ticket_id))
            )
        ]
        out.routes = [
            RouteSummary(
                engineer_id=r.engineer_id,
                engineer_name=name,
                stop_count=r.stop_count,
                distance_m=r.distance_m,
                drive_s=r.drive_s,
                work_s=r.work_s,
                start_at=r.start_at,
                end_at=r.end_at,
            )
            for r, name in session.exec(
                select(Route, Engineer.name)
                .join(Engineer, col(Engineer.id) == Route.engineer_id)
                .where(Route.plan_id == plan.id)
                .order_by(col(Route.engineer_id))
            )
        ]
    return out


def _get(session: SessionDep, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("plan", plan_id)
    return plan


@router.get("", response_model=Page[PlanSummary])
def list_plans(
    session: SessionDep,
    user: Staff,
    paging: PagingDep,
    day: Annotated[date | None, Query(alias="date", description="Only plans of this day.")] = None,
    status: Annotated[list[PlanStatus] | None, Query()] = None,
) -> Page[PlanSummary]:
    """Plans, newest first; filter by day and status."""
    stmt = select(Plan)
    if day is not None:
        stmt = stmt.where(Plan.day == day)
    if status:
        stmt = stmt.where(col(Plan.status).in_(status))
    rows, total = page(session, stmt, paging, [col(Plan.id).desc()])
    return Page(
        data=[PlanSummary.model_validate(p, from_attributes=True) for p in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("", response_model=PlanPublic, status_code=202)
def start_plan(
    body: PlanCreate, session: SessionDep, user: Staff, request: Request, response: Response
) -> PlanPublic:
    """Start planning a day in the background; follow it at ``GET /plans/{id}``."""
    settings = request.app.state.settings
    try:
        day = parse_day(body.date, settings.timezone)
    except ValueError as exc:
        raise InvalidInput(str(exc), [{"loc": ["body", "date"], "msg": str(exc)}]) from exc
    scope = resolve_territories(load_territories(session, with_geometry=False), body.territories)
    session.rollback()  # release the request's transaction before another one writes
    engine = request.app.state.engine
    options: dict[str, Any] = {
        "territories": None if scope is None else sorted(scope),
        "time_limit": body.time_limit,
        "solution_limit": body.solution_limit,
        "executor": body.executor,
        "publish": body.publish,
        "actor": actor_of(user),
    }
    plan_id = create_plan(
        engine,
        day,
        scope={"territory_ids": None if scope is None else sorted(scope), "source": "api"},
        created_by=user.username,
    )
    runtime(request).start_plan(plan_id, day, options)
    response.headers["Location"] = f"/plans/{plan_id}"
    plan = _get(session, plan_id)
    return _public(session, plan)


@router.get("/{plan_id}", response_model=PlanPublic)
def get_plan(plan_id: int, session: SessionDep, user: Staff) -> PlanPublic:
    """Status and progress; when done, totals, routes and unassigned tickets with reasons."""
    return _public(session, _get(session, plan_id))


@router.post("/{plan_id}/publish", response_model=PlanPublic)
def publish(plan_id: int, session: SessionDep, user: Staff, request: Request) -> PlanPublic:
    """Publish a draft plan atomically (tickets scheduled, previous plan superseded)."""
    _get(session, plan_id)
    session.rollback()
    publish_plan(request.app.state.engine, plan_id, actor=actor_of(user))
    return _public(session, _get(session, plan_id))


@router.delete("/{plan_id}", response_model=PlanPublic, status_code=202)
def cancel(plan_id: int, session: SessionDep, user: Staff) -> PlanPublic:
    """Cancel a running planning job; it stops within a second, nothing is written."""
    plan = cancel_plan(session, plan_id)
    session.commit()
    return _public(session, plan)
