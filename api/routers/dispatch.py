"""Real-time dispatch: candidates for a ticket, assign, re-optimise the rest of today.

Candidates and assign are numpy and a few exact re-timings: they run in the threadpool
like any request. Re-optimisation is an OR-Tools solve: it runs in the app's solve pool
(a worker process) while the request awaits it, so neither the event loop nor the
threadpool is held by the GIL.

``at`` in a body (or query) computes everything as of that moment instead of now: for
simulations, training and tests; the map page never sends it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session

from api.deps import SessionDep, Staff, actor_of
from api.routers.plans import runtime
from crm.db import session_scope
from crm.schemas.common import Strict
from dispatch.realtime import assign_ticket, find_candidates
from dispatch.reoptimize import (
    apply_reoptimization,
    prepare_reoptimization,
    solve_reoptimization,
)

router = APIRouter(prefix="/dispatch", tags=["dispatch"])


class CandidatesRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"ticket_id": 1042, "k": 5}]}
    )

    ticket_id: int
    k: int = Field(default=5, ge=1, le=50, description="How many engineers to return.")
    at: AwareDatetime | None = Field(default=None, description="As of this moment (default now).")


class DelayPublic(BaseModel):
    ticket_id: int
    minutes: float


class CandidatePublic(BaseModel):
    engineer_id: int
    engineer_name: str
    position: int = Field(description="Index in his remaining route where the ticket goes.")
    eta: datetime = Field(description="Arrival at the site.")
    start_at: datetime
    end_at: datetime
    added_km: float
    added_minutes: float = Field(description="Extra driving minutes.")
    day_extended_minutes: float = Field(description="How much later his day ends.")
    cost: float = Field(description="Added cost in the objective's money units (lower first).")
    territory_role: str
    delays: list[DelayPublic] = Field(description="Planned stops that would start later.")
    route_after: list[int] = Field(description="His remaining tickets with this one, in order.")


class ExcludedPublic(BaseModel):
    engineer_id: int
    engineer_name: str
    reason: str


class CandidatesPublic(BaseModel):
    ticket_id: int
    at: datetime
    considered: int
    candidates: list[CandidatePublic]
    excluded: list[ExcludedPublic]


class AssignRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ticket_id": 1042, "engineer_id": 17},
                {"ticket_id": 1042, "engineer_id": 17, "position": 2},
            ]
        },
    )

    ticket_id: int
    engineer_id: int
    position: int | None = Field(
        default=None, ge=0, description="Index in his remaining route; cheapest when omitted."
    )
    at: AwareDatetime | None = None


class RouteStopPublic(BaseModel):
    ticket_id: int
    arrival_at: datetime
    start_at: datetime
    end_at: datetime


class AssignPublic(BaseModel):
    ticket_id: int
    engineer_id: int
    position: int
    eta: datetime
    planned_start: datetime
    planned_end: datetime
    delays: list[DelayPublic]
    route: list[RouteStopPublic]


class ReoptimizeRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"territory_id": 3},
                {"engineer_ids": [17, 18], "minimal_change": True, "time_limit": 3},
            ]
        },
    )

    territory_id: int | None = None
    engineer_ids: list[int] | None = Field(default=None, min_length=1)
    minimal_change: bool = Field(
        default=False, description="Penalise moving scheduled tickets between engineers."
    )
    time_limit: float = Field(default=3.0, gt=0, le=60)
    solution_limit: int | None = Field(default=None, ge=1)
    at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> ReoptimizeRequest:
        if (self.territory_id is None) == (self.engineer_ids is None):
            raise ValueError("give exactly one of territory_id and engineer_ids")
        return self


class ReoptimizePublic(BaseModel):
    engineers: int
    tickets: int
    moved: list[dict[str, Any]]
    scheduled: list[int]
    returned_to_pool: list[int]
    unassigned: list[dict[str, Any]]
    routes: list[dict[str, Any]]
    objective: float | None
    elapsed: float


def _candidates(session: Session, request: Request, ticket_id: int, k: int, at: Any) -> Any:
    # Read-only: a POST's session is a SQLite writer (it took the write lock for the login
    # check); end that transaction and read in a plain session, so writers are not held.
    session.rollback()
    tz = request.app.state.settings.timezone
    with Session(request.app.state.engine) as reader:
        found = find_candidates(reader, ticket_id=ticket_id, k=k, now=at, tz=tz)
    return CandidatesPublic.model_validate(found, from_attributes=True)


@router.post("/candidates", response_model=CandidatesPublic)
def candidates(body: CandidatesRequest, session: SessionDep, user: Staff, request: Request) -> Any:
    """The best k engineers for a ticket by cheapest feasible insertion into their day."""
    return _candidates(session, request, body.ticket_id, body.k, body.at)


@router.get("/candidates", response_model=CandidatesPublic)
def candidates_get(
    session: SessionDep,
    user: Staff,
    request: Request,
    ticket_id: int,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    at: AwareDatetime | None = None,
) -> Any:
    """Same as ``POST /dispatch/candidates``, for links and refreshes (e.g. after a decline)."""
    return _candidates(session, request, ticket_id, k, at)


@router.post("/assign", response_model=AssignPublic)
def assign(body: AssignRequest, session: SessionDep, user: Staff, request: Request) -> Any:
    """Insert a ticket into an engineer's day; 409 with the reason when it does not fit."""
    result = assign_ticket(
        session,
        ticket_id=body.ticket_id,
        engineer_id=body.engineer_id,
        position=body.position,
        actor=actor_of(user),
        now=body.at,
        tz=request.app.state.settings.timezone,
    )
    session.commit()
    return AssignPublic.model_validate(result, from_attributes=True)


@router.post("/reoptimize", response_model=ReoptimizePublic)
async def reoptimize(
    body: ReoptimizeRequest, session: SessionDep, user: Staff, request: Request
) -> Any:
    """Re-solve the rest of today for a territory or engineers, started work fixed."""
    actor = actor_of(user)
    # The request's session took SQLite's write lock for the login check: release it
    # before the solve, so other writers are not blocked for seconds.
    await run_in_threadpool(session.rollback)
    engine = request.app.state.engine
    tz = request.app.state.settings.timezone

    def prepare() -> Any:
        with Session(engine) as s:
            return prepare_reoptimization(
                s,
                territory_id=body.territory_id,
                engineer_ids=body.engineer_ids,
                minimal_change=body.minimal_change,
                now=body.at,
                tz=tz,
                time_limit=body.time_limit,
                solution_limit=body.solution_limit,
            )

    reopt = await run_in_threadpool(prepare)
    future = runtime(request).submit_solve(solve_reoptimization, reopt.problem, reopt.params)
    solution = await asyncio.wrap_future(future)

    def apply() -> Any:
        with session_scope(engine) as s:
            return apply_reoptimization(s, reopt, solution, actor=actor, now=body.at)

    result = await run_in_threadpool(apply)
    return ReoptimizePublic.model_validate(result, from_attributes=True)
