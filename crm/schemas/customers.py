"""Customer, site and contact schemas (create / update / public)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm.models.enums import Tier
from crm.schemas.common import Latitude, Longitude, MinuteOfDay, Strict


class CustomerBase(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Jing'an Dental Clinic"])
    phone: str | None = Field(default=None, max_length=40, examples=["+86 138 1234 5678"])
    licence_no: str | None = Field(default=None, max_length=64, examples=["91310000MA1FL0XQ2K"])
    tier: Tier = Tier.B
    notes: str = ""


class CustomerCreate(CustomerBase):
    pass


class CustomerUpdate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tier": "A", "notes": "Key from the front desk"}]}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    licence_no: str | None = Field(default=None, max_length=64)
    tier: Tier | None = None
    notes: str | None = None


class CustomerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    phone: str | None
    licence_no: str | None
    tier: Tier
    notes: str
    created_at: datetime
    updated_at: datetime
    version: int


class _AccessWindow(Strict):
    access_start_min: MinuteOfDay | None = Field(default=None, examples=[480])
    access_end_min: MinuteOfDay | None = Field(default=None, examples=[1080])

    @model_validator(mode="after")
    def _ordered(self) -> _AccessWindow:
        s, e = self.access_start_min, self.access_end_min
        if s is not None and e is not None and e <= s:
            raise ValueError("access_end_min must be after access_start_min")
        return self


class SiteCreate(_AccessWindow):
    customer_id: int
    name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500, examples=["1376 Nanjing West Rd, Jing'an"])
    lat: Latitude | None = None
    lon: Longitude | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _both_or_neither(self) -> SiteCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither (to geocode the address)")
        return self


class SiteUpdate(_AccessWindow):
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    lat: Latitude | None = None
    lon: Longitude | None = None
    notes: str | None = None


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    name: str
    address: str
    lat: float
    lon: float
    access_start_min: int | None
    access_end_min: int | None
    territory_id: int | None
    notes: str
    created_at: datetime
    updated_at: datetime
    version: int


class ContactCreate(Strict):
    customer_id: int | None = None
    site_id: int | None = None
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    role: str = Field(default="", max_length=100, examples=["facility manager"])

    @model_validator(mode="after")
    def _owner(self) -> ContactCreate:
        if self.customer_id is None and self.site_id is None:
            raise ValueError("a contact belongs to a customer or a site: give one of them")
        return self


class ContactUpdate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+86 139 0000 1111", "role": "site manager"}]}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    role: str | None = Field(default=None, max_length=100)


class ContactPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int | None
    site_id: int | None
    name: str
    phone: str | None
    role: str
    version: int
