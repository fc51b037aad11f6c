"""Service sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import select

from api.deps import (
    IfMatchDep,
    LateGateSessionDep,
    PagingDep,
    SessionDep,
    Staff,
    fences,
    set_etag,
)
from api.listing import order_by, page
from crm.geocoding import geocode
from crm.models import Site
from crm.schemas.common import Latitude, Longitude, Page
from crm.schemas.customers import SiteCreate, SitePublic, SiteUpdate
from crm.services import customers as svc
from crm.services.common import get_or_404

router = APIRouter(prefix="/sites", tags=["sites"])
SORTABLE = {
    "id": Site.id,
    "name": Site.name,
    "customer_id": Site.customer_id,
    "territory_id": Site.territory_id,
}


@router.get("", response_model=Page[SitePublic])
def list_sites(
    session: SessionDep,
    _: Staff,
    paging: PagingDep,
    customer_id: int | None = None,
    territory_id: Annotated[
        int | None, Query(description="0 lists sites outside every fence.")
    ] = None,
    min_lat: Latitude | None = None,
    min_lon: Longitude | None = None,
    max_lat: Latitude | None = None,
    max_lon: Longitude | None = None,
    sort: str | None = None,
) -> Page[SitePublic]:
    """Sites, by customer, territory or bounding box."""
    stmt = select(Site)
    if customer_id is not None:
        stmt = stmt.where(Site.customer_id == customer_id)
    if territory_id == 0:
        stmt = stmt.where(Site.territory_id == None)  # noqa: E711
    elif territory_id is not None:
        stmt = stmt.where(Site.territory_id == territory_id)
    if min_lat is not None:
        stmt = stmt.where(Site.lat >= min_lat)
    if max_lat is not None:
        stmt = stmt.where(Site.lat <= max_lat)
    if min_lon is not None:
        stmt = stmt.where(Site.lon >= min_lon)
    if max_lon is not None:
        stmt = stmt.where(Site.lon <= max_lon)
    rows, total = page(session, stmt, paging, order_by(sort, SORTABLE, [Site.id]))
    return Page(
        data=[SitePublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("", response_model=SitePublic, status_code=201)
def create_site(
    data: SiteCreate, session: LateGateSessionDep, _: Staff, request: Request, response: Response
) -> SitePublic:
    """Create a site; its territory follows from its coordinates (or its geocoded address)."""
    if data.lat is None or data.lon is None:
        found = geocode(request.app.state.geocoder, data.address)
        lat, lon = found.lat, found.lon
    else:
        lat, lon = data.lat, data.lon
    site = svc.create_site(session, data=data, lat=lat, lon=lon, fences=fences(request))
    session.commit()
    set_etag(response, site.version)
    response.headers["Location"] = f"/sites/{site.id}"
    return SitePublic.model_validate(site)


@router.get("/{site_id}", response_model=SitePublic)
def get_site(site_id: int, session: SessionDep, _: Staff, response: Response) -> SitePublic:
    """One site, with its ETag."""
    site = get_or_404(session, Site, site_id)
    set_etag(response, site.version)
    return SitePublic.model_validate(site)


@router.patch("/{site_id}", response_model=SitePublic)
def update_site(
    site_id: int,
    data: SiteUpdate,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    request: Request,
    response: Response,
) -> SitePublic:
    """Change a site; moving it re-derives its territory. Needs If-Match."""
    site, _moved = svc.update_site(
        session, site_id=site_id, data=data, expected_version=version, fences=fences(request)
    )
    session.commit()
    set_etag(response, site.version)
    return SitePublic.model_validate(site)


@router.delete("/{site_id}", status_code=204)
def delete_site(site_id: int, session: SessionDep, _: Staff, version: IfMatchDep) -> None:
    """Delete a site without tickets; needs If-Match."""
    svc.delete_site(session, site_id=site_id, expected_version=version)
    session.commit()
