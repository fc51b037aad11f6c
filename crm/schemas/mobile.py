"""Shapes of the engineer mobile API (``/me``): my day, ticket actions,
location pings and offline sync.

Phones on flaky networks send small bodies and get small answers; every
action body is strict (an unknown field is a client bug worth hearing about)
and carries the device position where the action is a GPS check-in.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crm.models.enums import Priority, TicketStatus
from crm.schemas.common import Latitude, Longitude, Strict, UtcDatetime

# Letters, digits and a few separators: UUIDs, ULIDs and "phone-123:45" all fit,
# and nothing needs escaping in logs or URLs.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,200}$"
IdempotencyKey = Annotated[
    str, StringConstraints(pattern=IDEMPOTENCY_KEY_PATTERN, min_length=1, max_length=200)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Accuracy = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False, examples=[12.5])]

MAX_LOCATION_POINTS = 1000
MAX_SYNC_ITEMS = 200


class Action(StrEnum):
    """What an engineer can do to his ticket from the phone."""

    accept = "accept"
    decline = "decline"
    start_travel = "start_travel"
    arrive = "arrive"
    complete = "complete"
    unable_to_complete = "unable_to_complete"


class Outcome(StrEnum):
    fixed = "fixed"
    temporary_fix = "temporary_fix"
    needs_follow_up = "needs_follow_up"


# --- action bodies -------------------------------------------------------------
class DevicePosition(Strict):
    """Where the phone was when the engineer pressed the button."""

    lat: Latitude | None = None
    lon: Longitude | None = None
    accuracy_m: Accuracy | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> DevicePosition:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None


class _PositionNote(DevicePosition):
    """Where the phone is, and an optional note: the body of accept, start travel, arrive."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"lat": 31.2295, "lon": 121.4475, "accuracy_m": 15}]}
    )
    note: Note | None = None


class AcceptBody(_PositionNote):
    pass


class DeclineBody(DevicePosition):
    reason: Reason = Field(examples=["Van broke down"])


class StartTravelBody(_PositionNote):
    pass


class ArriveBody(_PositionNote):
    pass


class PartUsed(Strict):
    code: str = Field(min_length=1, max_length=64, examples=["FLT-20"])
    name: str = Field(default="", max_length=200, examples=["Air filter 20 cm"])
    quantity: float = Field(default=1, gt=0, le=10_000, allow_inf_nan=False)


class CompleteBody(DevicePosition):
    outcome: Outcome = Field(examples=["fixed"])
    notes: str = Field(default="", max_length=4000, examples=["Replaced the filter."])
    parts_used: list[PartUsed] = Field(default_factory=list, max_length=100)
    attachment_ids: list[int] = Field(
        default_factory=list,
        max_length=20,
        description="Attachments uploaded earlier with POST /me/tickets/{id}/attachments.",
    )


class UnableBody(DevicePosition):
    reason: Reason = Field(examples=["Customer not at home"])
    notes: str = Field(default="", max_length=4000)


ACTION_BODIES: dict[Action, type[DevicePosition]] = {
    Action.accept: AcceptBody,
    Action.decline: DeclineBody,
    Action.start_travel: StartTravelBody,
    Action.arrive: ArriveBody,
    Action.complete: CompleteBody,
    Action.unable_to_complete: UnableBody,
}


class AttachmentPublic(BaseModel):
    id: int
    ticket_id: int
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class TicketState(BaseModel):
    """A ticket after a mobile action: enough for the phone to update its list."""

    id: int
    status: TicketStatus
    version: int
    engineer_id: int | None
    checkin_far: bool
    checkin_distance_m: float | None
    allowed_actions: list[Action]
    attachments: list[AttachmentPublic] = Field(default_factory=list)


# --- my day ----------------------------------------------------------------------
class DayContact(BaseModel):
    name: str
    phone: str | None
    role: str


class DaySite(BaseModel):
    id: int
    name: str
    address: str
    lat: float
    lon: float
    notes: str


class DaySkill(BaseModel):
    code: str
    name: str
    min_level: int


class DayWindow(BaseModel):
    start: datetime
    end: datetime


class DayStop(BaseModel):
    seq: int
    ticket_id: int
    title: str
    description: str
    status: TicketStatus
    priority: Priority
    duration_min: int
    customer_name: str
    customer_phone: str | None
    site: DaySite
    contact: DayContact | None
    windows: list[DayWindow]
    planned_arrival: datetime
    planned_start: datetime
    planned_end: datetime
    sla_due_at: datetime | None
    required_skills: list[DaySkill]
    allowed_actions: list[Action]
    version: int


class MyDay(BaseModel):
    """An engineer's published route for one day, stops in driving order."""

    date: date
    engineer_id: int
    plan_id: int | None = None
    route_id: int | None = None
    published_at: datetime | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    break_start_at: datetime | None = None
    break_end_at: datetime | None = None
    distance_m: int = 0
    drive_s: int = 0
    stops: list[DayStop] = Field(default_factory=list)
    note: str | None = Field(
        default=None, description="Why the day is empty, when it is.", examples=[None]
    )


# --- locations -------------------------------------------------------------------
class LocationPoint(Strict):
    at: UtcDatetime
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy | None = None


class LocationBatch(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "points": [
                        {
                            "at": "2026-12-01T09:14:05+08:00",
                            "lat": 31.2291,
                            "lon": 121.4479,
                            "accuracy_m": 12,
                        },
                        {
                            "at": "2026-12-01T09:14:35+08:00",
                            "lat": 31.2297,
                            "lon": 121.4486,
                            "accuracy_m": 9,
                        },
                    ]
                }
            ]
        }
    )
    points: list[LocationPoint] = Field(min_length=1, max_length=MAX_LOCATION_POINTS)


class LocationReceipt(BaseModel):
    received: int
    stored: int
    duplicates: int = Field(description="Points already stored (a resent batch).")
    too_old: int = Field(description="Points older than the retention period, not stored.")
    last_seen_at: datetime | None = Field(description="The engineer's latest known position time.")
    problem: dict[str, Any] | None = Field(
        default=None, description="In a sync: why no point of the batch was stored."
    )


class LocationPublic(BaseModel):
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None


# --- offline sync ------------------------------------------------------------------
class SyncItem(Strict):
    key: IdempotencyKey = Field(description="Idempotency key of this queued action.")
    client_at: UtcDatetime = Field(description="When the engineer did it on the phone.")
    ticket_id: int = Field(ge=1)
    action: str = Field(max_length=32, examples=["arrive"])
    payload: dict[str, Any] = Field(default_factory=dict, description="The action's body.")


class SyncRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "key": "a1c9-0001",
                            "client_at": "2026-12-01T09:02:00+08:00",
                            "ticket_id": 42,
                            "action": "start_travel",
                            "payload": {},
                        },
                        {
                            "key": "a1c9-0002",
                            "client_at": "2026-12-01T09:31:00+08:00",
                            "ticket_id": 42,
                            "action": "arrive",
                            "payload": {"lat": 31.2295, "lon": 121.4475, "accuracy_m": 15},
                        },
                    ],
                    "locations": [
                        {"at": "2026-12-01T09:30:40+08:00", "lat": 31.2294, "lon": 121.4474}
                    ],
                }
            ]
        }
    )
    items: list[SyncItem] = Field(default_factory=list, max_length=MAX_SYNC_ITEMS)
    locations: list[LocationPoint] = Field(default_factory=list, max_length=MAX_LOCATION_POINTS)


class SyncItemResult(BaseModel):
    key: str
    ticket_id: int
    action: str
    outcome: Literal["applied", "rejected"]
    status: int = Field(description="The HTTP status the action alone would have had.")
    replayed: bool = Field(description="True when the key was seen before: the first result.")
    ticket: TicketState | None = None
    problem: dict[str, Any] | None = None


class SyncResponse(BaseModel):
    results: list[SyncItemResult]
    applied: int
    rejected: int
    replayed: int
    locations: LocationReceipt | None = None
    server_time: datetime
