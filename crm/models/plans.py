"""Planning results: a plan holds one route per engineer per day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.coltypes import UTCDateTime, str_enum, utcnow
from crm.models.enums import PlanStatus


class Plan(SQLModel, table=True):
    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    status: PlanStatus = Field(default=PlanStatus.draft, sa_type=str_enum(PlanStatus), index=True)
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    progress: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    totals: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str = Field(default="system", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Route(SQLModel, table=True):
    __tablename__ = "route"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    engineer_id: int = Field(foreign_key="engineer.id", index=True)
    day: date = Field(index=True)
    start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    break_start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    break_end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    distance_m: int = 0
    drive_s: int = 0
    work_s: int = 0
    wait_s: int = 0
    stop_count: int = 0


class Stop(SQLModel, table=True):
    __tablename__ = "stop"

    id: int | None = Field(default=None, primary_key=True)
    route_id: int = Field(foreign_key="route.id", index=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    seq: int
    arrival_at: datetime = Field(sa_type=UTCDateTime)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    wait_s: int = 0
    leg_m: int = 0
    leg_s: int = 0


class PlanUnassigned(SQLModel, table=True):
    """A ticket the plan could not place, and the reason a dispatcher reads."""

    __tablename__ = "plan_unassigned"

    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    reason: str = Field(max_length=40)
    message: str = Field(default="", sa_type=sa.Text)
