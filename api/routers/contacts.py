"""Contacts of customers and sites."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import select

from api.deps import IfMatchDep, PagingDep, SessionDep, Staff, set_etag
from api.listing import order_by, page
from crm.models import Contact
from crm.schemas.common import Page
from crm.schemas.customers import ContactCreate, ContactPublic, ContactUpdate
from crm.services import customers as svc
from crm.services.common import get_or_404

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get("", response_model=Page[ContactPublic])
def list_contacts(
    session: SessionDep,
    _: Staff,
    paging: PagingDep,
    customer_id: int | None = None,
    site_id: int | None = None,
) -> Page[ContactPublic]:
    """Contacts of a customer or a site."""
    stmt = select(Contact)
    if customer_id is not None:
        stmt = stmt.where(Contact.customer_id == customer_id)
    if site_id is not None:
        stmt = stmt.where(Contact.site_id == site_id)
    rows, total = page(session, stmt, paging, order_by(None, {}, [Contact.id]))
    return Page(
        data=[ContactPublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("", response_model=ContactPublic, status_code=201)
def create_contact(
    data: ContactCreate, session: SessionDep, _: Staff, response: Response
) -> ContactPublic:
    """Add a contact person to a customer or a site."""
    contact = svc.create_contact(session, data=data)
    session.commit()
    set_etag(response, contact.version)
    return ContactPublic.model_validate(contact)


@router.get("/{contact_id}", response_model=ContactPublic)
def get_contact(
    contact_id: int, session: SessionDep, _: Staff, response: Response
) -> ContactPublic:
    """One contact."""
    contact = get_or_404(session, Contact, contact_id)
    set_etag(response, contact.version)
    return ContactPublic.model_validate(contact)


@router.patch("/{contact_id}", response_model=ContactPublic)
def update_contact(
    contact_id: int,
    data: ContactUpdate,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    response: Response,
) -> ContactPublic:
    """Change a contact; needs If-Match."""
    contact = svc.update_contact(
        session, contact_id=contact_id, data=data, expected_version=version
    )
    session.commit()
    set_etag(response, contact.version)
    return ContactPublic.model_validate(contact)


@router.delete("/{contact_id}", status_code=204)
def delete_contact(contact_id: int, session: SessionDep, _: Staff, version: IfMatchDep) -> None:
    """Delete a contact; needs If-Match."""
    svc.delete_contact(session, contact_id=contact_id, expected_version=version)
    session.commit()
