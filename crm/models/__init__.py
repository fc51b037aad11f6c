"""Every table of the system of record. Import from here."""

from crm.models.customers import Contact, Customer, Site
from crm.models.engineers import Absence, Engineer, EngineerSkill, EngineerTerritory, Shift, Skill
from crm.models.enums import PlanStatus, Priority, Role, TerritoryRole, TicketStatus, Tier
from crm.models.plans import Plan, PlanUnassigned, Route, Stop
from crm.models.territories import Territory
from crm.models.tickets import Attachment, Ticket, TicketEvent, TicketSkill, TicketWindow
from crm.models.users import IdempotencyRecord, LocationPing, User


def _drop_version_private_attrs() -> None:
    """Each versioned table names its version column with a walrus in the class body
    (``_v := version_column()``); pydantic keeps ``_v`` as a private attribute whose
    default — the Column, bound to the whole MetaData — it deep-copies for every new
    instance: ~120 ms and megabytes per row. The mapping does not need it."""
    from sqlmodel import SQLModel

    for cls in SQLModel.__subclasses__():
        getattr(cls, "__private_attributes__", {}).pop("_v", None)


_drop_version_private_attrs()

__all__ = [
    "Absence",
    "Attachment",
    "Contact",
    "Customer",
    "Engineer",
    "EngineerSkill",
    "EngineerTerritory",
    "IdempotencyRecord",
    "LocationPing",
    "Plan",
    "PlanStatus",
    "PlanUnassigned",
    "Priority",
    "Role",
    "Route",
    "Shift",
    "Site",
    "Skill",
    "Stop",
    "Territory",
    "TerritoryRole",
    "Ticket",
    "TicketEvent",
    "TicketSkill",
    "TicketStatus",
    "TicketWindow",
    "Tier",
    "User",
]
