"""Field types shared by the API schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[31.2304])]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[121.4737])]
MinuteOfDay = Annotated[int, Field(ge=0, le=24 * 60)]
Level = Annotated[int, Field(ge=1, le=5)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Inputs carry any zone; the API answers in UTC. Converting on the way in keeps
# the answer to a write the same as a later read of the stored row.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

T = TypeVar("T")


class Strict(BaseModel):
    """Unknown fields are a client bug worth reporting, not ignoring."""

    model_config = ConfigDict(extra="forbid")


class Window(Strict):
    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self


class Point(Strict):
    lat: Latitude
    lon: Longitude


class Page(BaseModel, Generic[T]):
    """A page of a list, with the total count for pagers."""

    data: list[T]
    count: int
    limit: int
    offset: int
