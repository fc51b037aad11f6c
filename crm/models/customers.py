"""Customers, their service sites and contacts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.coltypes import UTCDateTime, Versioned, str_enum, utcnow
from crm.models.enums import Tier


class Customer(SQLModel, Versioned, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    phone: str | None = Field(default=None, max_length=32, unique=True)
    licence_no: str | None = Field(default=None, max_length=64, unique=True)
    tier: Tier = Field(default=Tier.B, sa_type=str_enum(Tier, 1))
    notes: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Site(SQLModel, Versioned, table=True):
    """A place where work happens; its territory is derived from its position."""

    __tablename__ = "site"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)
    lat: float
    lon: float
    # Default access window as minutes after local midnight (e.g. 480 = 08:00).
    access_start_min: int | None = None
    access_end_min: int | None = None
    territory_id: int | None = Field(default=None, foreign_key="territory.id", index=True)
    notes: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    __table_args__ = (sa.Index("ix_site_lat_lon", "lat", "lon"),)


class Contact(SQLModel, Versioned, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    role: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
