"""Accounts, location pings and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.coltypes import UTCDateTime, Versioned, str_enum, utcnow
from crm.models.enums import Role


class User(SQLModel, Versioned, table=True):
    # "user" is reserved in PostgreSQL.
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    password_hash: str = Field(max_length=200)
    role: Role = Field(sa_type=str_enum(Role))
    engineer_id: int | None = Field(default=None, foreign_key="engineer.id", unique=True)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class LocationPing(SQLModel, table=True):
    """A device position. Float32-sized columns would do; rows stay narrow."""

    __tablename__ = "location_ping"

    id: int | None = Field(default=None, primary_key=True)
    engineer_id: int = Field(foreign_key="engineer.id")
    at: datetime = Field(sa_type=UTCDateTime)
    lat: float
    lon: float
    accuracy_m: float | None = None
    __table_args__ = (sa.Index("ix_location_ping_engineer_at", "engineer_id", "at"),)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a request key, replayed when a phone retries."""

    __tablename__ = "idempotency_record"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] | list[Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
