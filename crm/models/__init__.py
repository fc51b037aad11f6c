"""Every table of the system of record. Import from here."""

from crm.models.customers import Contact, Customer, Site
from crm.models.engineers import Absence, Engineer, EngineerSkill, EngineerTerritory, Shift, Skill
from crm.models.enums import PlanStatus, Priority, Role, TerritoryRole, TicketStatus, Tier
from crm.models.plans import Plan, PlanUnassigned, Route, Stop
from crm.models.territories import Territory
from crm.models.tickets import Attachment, Ticket, TicketEvent, TicketSkill, TicketWindow
from crm.models.users import IdempotencyRecord, LocationPing, User

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
