"""Closed vocabularies, stored as plain strings (no database enum types, so
adding a value is a code change, not a migration)."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"
    low = "low"


class TicketStatus(StrEnum):
    new = "new"
    scheduled = "scheduled"
    dispatched = "dispatched"
    accepted = "accepted"
    travelling = "travelling"
    on_site = "on_site"
    completed = "completed"
    declined = "declined"
    on_hold = "on_hold"
    cancelled = "cancelled"


class Role(StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    engineer = "engineer"


class TerritoryRole(StrEnum):
    primary = "primary"
    secondary = "secondary"


class PlanStatus(StrEnum):
    running = "running"
    draft = "draft"
    published = "published"
    superseded = "superseded"
    failed = "failed"
    cancelled = "cancelled"
