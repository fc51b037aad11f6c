"""Customers, sites and contacts: one customer, one identity."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, func, or_, select

from crm.errors import Conflict, DuplicateRecord, InvalidInput
from crm.models import Contact, Customer, Site, Ticket
from crm.phone import normalise_phone
from crm.schemas.customers import (
    ContactCreate,
    ContactUpdate,
    CustomerCreate,
    CustomerUpdate,
    SiteCreate,
    SiteUpdate,
)
from crm.services.common import apply_changes, flush_versioned, get_or_404, require_version
from crm.services.territories import FenceCache, assign_sites


def _phone_or_422(raw: str | None, field: str = "phone") -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc), [{"loc": ["body", field], "msg": str(exc)}]) from exc


def _licence(raw: str | None) -> str | None:
    if raw is None:
        return None
    cleaned = "".join(raw.split()).upper()
    return cleaned or None


def find_duplicate(
    session: Session, *, phone: str | None, licence_no: str | None, exclude_id: int | None = None
) -> Customer | None:
    clauses = []
    if phone:
        clauses.append(Customer.phone == phone)
    if licence_no:
        clauses.append(Customer.licence_no == licence_no)
    if not clauses:
        return None
    stmt = select(Customer).where(or_(*clauses))
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return session.exec(stmt.limit(1)).first()


def _refuse_duplicate(existing: Customer, phone: str | None, licence: str | None) -> None:
    field = "phone" if phone and existing.phone == phone else "licence_no"
    value = phone if field == "phone" else licence
    raise DuplicateRecord(
        f"customer {existing.id} ({existing.name}) already has {field} {value}: "
        "one customer, one identity — update that customer instead",
        existing_id=existing.id,
        existing_name=existing.name,
        field=field,
    )


def create_customer(session: Session, *, data: CustomerCreate) -> Customer:
    phone = _phone_or_422(data.phone)
    licence = _licence(data.licence_no)
    existing = find_duplicate(session, phone=phone, licence_no=licence)
    if existing is not None:
        _refuse_duplicate(existing, phone, licence)
    customer = Customer(
        name=data.name.strip(),
        phone=phone,
        licence_no=licence,
        tier=data.tier,
        notes=data.notes,
    )
    session.add(customer)
    session.flush()
    return customer


def update_customer(
    session: Session, *, customer_id: int, data: CustomerUpdate, expected_version: int | None
) -> Customer:
    customer = get_or_404(session, Customer, customer_id)
    require_version(customer, expected_version, "customer")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "phone" in changes:
        changes["phone"] = _phone_or_422(changes["phone"])
    if "licence_no" in changes:
        changes["licence_no"] = _licence(changes["licence_no"])
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("name cannot be empty", [{"loc": ["body", "name"], "msg": "required"}])
    if "tier" in changes and changes["tier"] is None:
        del changes["tier"]
    phone = changes.get("phone", customer.phone)
    licence = changes.get("licence_no", customer.licence_no)
    existing = find_duplicate(session, phone=phone, licence_no=licence, exclude_id=customer.id)
    if existing is not None:
        _refuse_duplicate(existing, phone, licence)
    apply_changes(customer, changes)
    flush_versioned(session, customer, "customer")
    return customer


def delete_customer(session: Session, *, customer_id: int, expected_version: int | None) -> None:
    customer = get_or_404(session, Customer, customer_id)
    require_version(customer, expected_version, "customer")
    tickets = session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.customer_id == customer_id)
    ).one()
    if tickets:
        raise Conflict(
            f"customer {customer_id} has {tickets} ticket(s); cancel or move them first",
            tickets=tickets,
        )
    for contact in session.exec(select(Contact).where(Contact.customer_id == customer_id)):
        session.delete(contact)
    for site in session.exec(select(Site).where(Site.customer_id == customer_id)):
        for contact in session.exec(select(Contact).where(Contact.site_id == site.id)):
            session.delete(contact)
        session.delete(site)
    session.delete(customer)
    flush_versioned(session, customer, "customer")


def create_site(
    session: Session,
    *,
    data: SiteCreate,
    lat: float,
    lon: float,
    fences: FenceCache | None = None,
) -> Site:
    """Coordinates are passed separately: the caller may have geocoded them.

    The territory follows from the position; pass the process's FenceCache
    to avoid rebuilding the fence index for every site.
    """
    get_or_404(session, Customer, data.customer_id)
    site = Site(**data.model_dump(exclude={"lat", "lon"}), lat=lat, lon=lon)
    assign_sites(session, [site], fences)
    session.add(site)
    session.flush()
    return site


def update_site(
    session: Session,
    *,
    site_id: int,
    data: SiteUpdate,
    expected_version: int | None,
    fences: FenceCache | None = None,
) -> tuple[Site, bool]:
    """Returns the site and whether it moved (so its territory is recomputed)."""
    site = get_or_404(session, Site, site_id)
    require_version(site, expected_version, "site")
    changes = data.model_dump(exclude_unset=True)
    for key in ("lat", "lon", "name", "address", "notes"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be null", [{"loc": ["body", key], "msg": "null"}])
    start = changes.get("access_start_min", site.access_start_min)
    end = changes.get("access_end_min", site.access_end_min)
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            "access_end_min must be after access_start_min",
            [{"loc": ["body", "access_end_min"], "msg": "before start"}],
        )
    moved = ("lat" in changes and changes["lat"] != site.lat) or (
        "lon" in changes and changes["lon"] != site.lon
    )
    apply_changes(site, changes)
    if moved:
        assign_sites(session, [site], fences)
    flush_versioned(session, site, "site")
    return site, moved


def delete_site(session: Session, *, site_id: int, expected_version: int | None) -> None:
    site = get_or_404(session, Site, site_id)
    require_version(site, expected_version, "site")
    tickets = session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.site_id == site_id)
    ).one()
    if tickets:
        raise Conflict(f"site {site_id} has {tickets} ticket(s); it cannot be deleted")
    for contact in session.exec(select(Contact).where(Contact.site_id == site_id)):
        session.delete(contact)
    session.delete(site)
    flush_versioned(session, site, "site")


def create_contact(session: Session, *, data: ContactCreate) -> Contact:
    if data.customer_id is not None:
        get_or_404(session, Customer, data.customer_id)
    if data.site_id is not None:
        site = get_or_404(session, Site, data.site_id)
        if data.customer_id is not None and site.customer_id != data.customer_id:
            raise InvalidInput(
                f"site {site.id} belongs to customer {site.customer_id}, not {data.customer_id}",
                [{"loc": ["body", "site_id"], "msg": "belongs to another customer"}],
            )
    contact = Contact(**data.model_dump(exclude={"phone"}), phone=_phone_or_422(data.phone))
    session.add(contact)
    session.flush()
    return contact


def update_contact(
    session: Session, *, contact_id: int, data: ContactUpdate, expected_version: int | None
) -> Contact:
    contact = get_or_404(session, Contact, contact_id)
    require_version(contact, expected_version, "contact")
    changes = data.model_dump(exclude_unset=True)
    if "phone" in changes:
        changes["phone"] = _phone_or_422(changes["phone"])
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("name cannot be null", [{"loc": ["body", "name"], "msg": "null"}])
    apply_changes(contact, changes)
    flush_versioned(session, contact, "contact")
    return contact


def delete_contact(session: Session, *, contact_id: int, expected_version: int | None) -> None:
    contact = get_or_404(session, Contact, contact_id)
    require_version(contact, expected_version, "contact")
    session.delete(contact)
    flush_versioned(session, contact, "contact")
