"""Customers."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import col, or_, select

from api.deps import IfMatchDep, PagingDep, SessionDep, Staff, set_etag
from api.listing import order_by, page
from crm.models import Customer, Tier
from crm.phone import normalise_phone
from crm.schemas.common import Page
from crm.schemas.customers import CustomerCreate, CustomerPublic, CustomerUpdate
from crm.services import customers as svc
from crm.services.common import get_or_404

router = APIRouter(prefix="/customers", tags=["customers"])
SORTABLE = {
    "id": Customer.id,
    "name": Customer.name,
    "tier": Customer.tier,
    "created_at": Customer.created_at,
}


@router.get("", response_model=Page[CustomerPublic])
def list_customers(
    session: SessionDep,
    _: Staff,
    paging: PagingDep,
    q: Annotated[str | None, Query(description="Name, phone or licence contains.")] = None,
    tier: Tier | None = None,
    sort: str | None = None,
) -> Page[CustomerPublic]:
    """Customers, filtered and paged."""
    stmt = select(Customer)
    if tier:
        stmt = stmt.where(Customer.tier == tier)
    if q:
        like = f"%{q.strip()}%"
        terms = [col(Customer.name).ilike(like), col(Customer.licence_no).ilike(like)]
        with contextlib.suppress(ValueError):
            terms.append(col(Customer.phone).contains(normalise_phone(q)[1:]))
        stmt = stmt.where(or_(*terms))
    rows, total = page(session, stmt, paging, order_by(sort, SORTABLE, [Customer.id]))
    return Page(
        data=[CustomerPublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("", response_model=CustomerPublic, status_code=201)
def create_customer(
    data: CustomerCreate, session: SessionDep, _: Staff, response: Response
) -> CustomerPublic:
    """Create a customer; 409 names the existing customer with the same phone or licence."""
    customer = svc.create_customer(session, data=data)
    session.commit()
    set_etag(response, customer.version)
    response.headers["Location"] = f"/customers/{customer.id}"
    return CustomerPublic.model_validate(customer)


@router.get("/{customer_id}", response_model=CustomerPublic)
def get_customer(
    customer_id: int, session: SessionDep, _: Staff, response: Response
) -> CustomerPublic:
    """One customer, with its ETag."""
    customer = get_or_404(session, Customer, customer_id)
    set_etag(response, customer.version)
    return CustomerPublic.model_validate(customer)


@router.patch("/{customer_id}", response_model=CustomerPublic)
def update_customer(
    customer_id: int,
    data: CustomerUpdate,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    response: Response,
) -> CustomerPublic:
    """Change a customer; needs If-Match."""
    customer = svc.update_customer(
        session, customer_id=customer_id, data=data, expected_version=version
    )
    session.commit()
    set_etag(response, customer.version)
    return CustomerPublic.model_validate(customer)


@router.delete("/{customer_id}", status_code=204)
def delete_customer(customer_id: int, session: SessionDep, _: Staff, version: IfMatchDep) -> None:
    """Delete a customer without tickets (its sites and contacts go with it); needs If-Match."""
    svc.delete_customer(session, customer_id=customer_id, expected_version=version)
    session.commit()
