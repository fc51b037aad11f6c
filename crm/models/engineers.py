"""Engineers, their skills, shifts, absences and territories."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.coltypes import UTCDateTime, Versioned, str_enum, utcnow
from crm.models.enums import TerritoryRole


class Skill(SQLModel, Versioned, table=True):
    __tablename__ = "skill"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Engineer(SQLModel, Versioned, table=True):
    __tablename__ = "engineer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    phone: str | None = Field(default=None, max_length=32)
    home_lat: float
    home_lon: float
    active: bool = True
    colour: str | None = Field(default=None, max_length=16)
    max_work_minutes: int | None = None
    last_lat: float | None = None
    last_lon: float | None = None
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class EngineerSkill(SQLModel, table=True):
    __tablename__ = "engineer_skill"

    engineer_id: int = Field(foreign_key="engineer.id", primary_key=True)
    skill_id: int = Field(foreign_key="skill.id", primary_key=True, index=True)
    level: int = Field(ge=1, le=5)


class Shift(SQLModel, Versioned, table=True):
    """One working day. Places default to the engineer's home when empty."""

    __tablename__ = "shift"

    id: int | None = Field(default=None, primary_key=True)
    engineer_id: int = Field(foreign_key="engineer.id", index=True)
    day: date = Field(index=True)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    start_lat: float | None = None
    start_lon: float | None = None
    end_lat: float | None = None
    end_lon: float | None = None
    break_earliest_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    break_latest_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    break_minutes: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    __table_args__ = (sa.UniqueConstraint("engineer_id", "day", name="uq_shift_engineer_day"),)


class Absence(SQLModel, Versioned, table=True):
    __tablename__ = "absence"

    id: int | None = Field(default=None, primary_key=True)
    engineer_id: int = Field(foreign_key="engineer.id", index=True)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class EngineerTerritory(SQLModel, table=True):
    __tablename__ = "engineer_territory"

    engineer_id: int = Field(foreign_key="engineer.id", primary_key=True)
    territory_id: int = Field(foreign_key="territory.id", primary_key=True, index=True)
    role: TerritoryRole = Field(default=TerritoryRole.primary, sa_type=str_enum(TerritoryRole))
