"""Tickets (work orders), their required skills, time windows and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.coltypes import UTCDateTime, Versioned, str_enum, utcnow
from crm.models.enums import Priority, TicketStatus


class Ticket(SQLModel, Versioned, table=True):
    __tablename__ = "ticket"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    duration_min: int = Field(ge=1)
    priority: Priority = Field(default=Priority.normal, sa_type=str_enum(Priority), index=True)
    sla_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    status: TicketStatus = Field(
        default=TicketStatus.new, sa_type=str_enum(TicketStatus), index=True
    )
    # The status a ticket on hold returns to.
    held_from: TicketStatus | None = Field(default=None, sa_type=str_enum(TicketStatus))
    engineer_id: int | None = Field(default=None, foreign_key="engineer.id", index=True)
    planned_start: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    planned_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when a GPS check-in was far from the site; dispatchers review these.
    checkin_far: bool = Field(default=False, index=True)
    checkin_distance_m: float | None = None
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    __table_args__ = (sa.Index("ix_ticket_status_priority", "status", "priority"),)


class TicketSkill(SQLModel, table=True):
    __tablename__ = "ticket_skill"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    skill_id: int = Field(foreign_key="skill.id", primary_key=True)
    min_level: int = Field(default=1, ge=1, le=5)


class TicketWindow(SQLModel, table=True):
    __tablename__ = "ticket_window"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)


class TicketEvent(SQLModel, table=True):
    """One row per change to a ticket: the audit trail nobody can edit."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor: str = Field(default="system", max_length=100)
    kind: str = Field(default="transition", max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = None


class Attachment(SQLModel, table=True):
    """A photo or signature uploaded on completion; the bytes live on disk."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)
    content_type: str = Field(max_length=64)
    size_bytes: int
    path: str = Field(max_length=500)
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
