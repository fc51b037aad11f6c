"""Territory properties carried in a GeoJSON Feature's ``properties``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm.schemas.common import Latitude, Longitude, Strict


class TerritoryProps(BaseModel):
    """Unknown properties are kept out of the record but not an error: files
    exported from GIS tools carry many."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=200, examples=["Jing'an"])
    colour: str = Field(default="#3388ff", pattern=r"^#[0-9a-fA-F]{6}$")
    priority: int = Field(default=0, ge=-1000, le=1000)


class TerritoryPropsUpdate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"priority": 5, "colour": "#3cb44b"}]}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    priority: int | None = Field(default=None, ge=-1000, le=1000)


class TerritorySummary(BaseModel):
    id: int
    name: str
    colour: str
    priority: int
    area_km2: float | None
    version: int


class LookupPoint(Strict):
    lat: Latitude
    lon: Longitude


class LookupResult(BaseModel):
    lat: float
    lon: float
    territory_id: int | None
    territory_name: str | None = None
    covering: list[int] = Field(default_factory=list, description="Every fence, winner first.")


class Reassignment(BaseModel):
    total: int
    moved: int
    moves: list[dict[str, Any]]
