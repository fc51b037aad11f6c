"""Skill, engineer, shift, absence and membership schemas."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm.models.enums import TerritoryRole
from crm.schemas.common import Latitude, Level, Longitude, Strict, UtcDatetime


class SkillCreate(Strict):
    code: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-.]*$", examples=["hvac"]
    )
    name: str = Field(min_length=1, max_length=200, examples=["Air conditioning"])


class SkillUpdate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Air conditioning and heat pumps"}]}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)


class SkillPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    version: int


class SkillLevel(Strict):
    code: str = Field(min_length=1, max_length=64, examples=["hvac"])
    level: Level = Field(examples=[3])


class EngineerCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Wang Lei"])
    phone: str | None = Field(default=None, max_length=40)
    home_lat: Latitude
    home_lon: Longitude
    active: bool = True
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    max_work_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    skills: list[SkillLevel] = Field(default_factory=list)


class EngineerUpdate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"skills": [{"code": "hvac", "level": 4}], "active": True}]}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    active: bool | None = None
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    max_work_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    skills: list[SkillLevel] | None = None


class EngineerPublic(BaseModel):
    id: int
    name: str
    phone: str | None
    home_lat: float
    home_lon: float
    active: bool
    colour: str | None
    max_work_minutes: int | None
    skills: list[SkillLevel]
    last_lat: float | None
    last_lon: float | None
    last_seen_at: datetime | None
    version: int


class ShiftCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-12-01",
                    "start_at": "2026-12-01T08:00:00+08:00",
                    "end_at": "2026-12-01T17:00:00+08:00",
                    "break_earliest_at": "2026-12-01T11:30:00+08:00",
                    "break_latest_at": "2026-12-01T13:30:00+08:00",
                    "break_minutes": 45,
                }
            ]
        }
    )
    day: date
    start_at: UtcDatetime
    end_at: UtcDatetime
    start_lat: Latitude | None = None
    start_lon: Longitude | None = None
    end_lat: Latitude | None = None
    end_lon: Longitude | None = None
    break_earliest_at: UtcDatetime | None = None
    break_latest_at: UtcDatetime | None = None
    break_minutes: int = Field(default=0, ge=0, le=240)

    @model_validator(mode="after")
    def _consistent(self) -> ShiftCreate:
        if self.end_at <= self.start_at:
            raise ValueError("shift end_at must be after start_at")
        if (self.end_at - self.start_at).total_seconds() > 24 * 3600:
            raise ValueError("a shift cannot last more than 24 hours")
        for a, b in (("start_lat", "start_lon"), ("end_lat", "end_lon")):
            if (getattr(self, a) is None) != (getattr(self, b) is None):
                raise ValueError(f"give both {a} and {b}, or neither (home is used)")
        if self.break_minutes:
            e, l_ = self.break_earliest_at, self.break_latest_at
            if e is None or l_ is None:
                raise ValueError("a break needs break_earliest_at and break_latest_at")
            if l_ < e:
                raise ValueError("break_latest_at must not be before break_earliest_at")
            if e < self.start_at or l_ > self.end_at:
                raise ValueError("the break window must lie inside the shift")
        return self


class ShiftUpdate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"end_at": "2026-12-01T18:00:00+08:00"}]}
    )
    start_at: UtcDatetime | None = None
    end_at: UtcDatetime | None = None
    start_lat: Latitude | None = None
    start_lon: Longitude | None = None
    end_lat: Latitude | None = None
    end_lon: Longitude | None = None
    break_earliest_at: UtcDatetime | None = None
    break_latest_at: UtcDatetime | None = None
    break_minutes: int | None = Field(default=None, ge=0, le=240)


class ShiftPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    engineer_id: int
    day: date
    start_at: datetime
    end_at: datetime
    start_lat: float | None
    start_lon: float | None
    end_lat: float | None
    end_lon: float | None
    break_earliest_at: datetime | None
    break_latest_at: datetime | None
    break_minutes: int
    version: int


class AbsenceCreate(Strict):
    start_at: UtcDatetime
    end_at: UtcDatetime
    reason: str = Field(default="", max_length=200, examples=["annual leave"])

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceCreate:
        if self.end_at <= self.start_at:
            raise ValueError("absence end_at must be after start_at")
        return self


class AbsencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    engineer_id: int
    start_at: datetime
    end_at: datetime
    reason: str
    version: int


class MembershipItem(Strict):
    territory_id: int
    role: TerritoryRole = TerritoryRole.primary


class MembershipSet(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "territories": [
                        {"territory_id": 1, "role": "primary"},
                        {"territory_id": 2, "role": "secondary"},
                    ]
                }
            ]
        }
    )
    territories: list[MembershipItem]


class MembershipPublic(BaseModel):
    territory_id: int
    territory_name: str
    role: TerritoryRole
