"""Territories: electronic fences stored as GeoJSON geometry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.coltypes import UTCDateTime, Versioned, utcnow


class Territory(SQLModel, Versioned, table=True):
    __tablename__ = "territory"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    colour: str = Field(default="#3388ff", max_length=16)
    priority: int = 0
    geometry: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    area_km2: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
