"""Territories: electronic fences as GeoJSON, lookups and coverage gaps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from api.deps import CurrentUser, IfMatchDep, PagingDep, SessionDep, Staff, fences
from api.listing import page
from crm.errors import InvalidInput
from crm.models import Site, Territory
from crm.schemas.common import Latitude, Longitude, Page
from crm.schemas.customers import SitePublic
from crm.schemas.territories import (
    LookupPoint,
    LookupResult,
    TerritoryPropsUpdate,
    TerritorySummary,
)
from crm.services import territories as svc
from crm.services.common import get_or_404
from geofence import GEOJSON_MEDIA_TYPE, AssignmentDiff, feature_collection, fence_to_feature

router = APIRouter(prefix="/territories", tags=["territories"])
MAX_LOOKUP = 10_000

FEATURE_EXAMPLE = {
    "type": "Feature",
    "properties": {"name": "Jing'an", "colour": "#e6194b", "priority": 0},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[121.43, 31.22], [121.47, 31.22], [121.47, 31.25], [121.43, 31.25], [121.43, 31.22]]
        ],
    },
}


def _feature(t: Territory, **extra: Any) -> dict[str, Any]:
    feature = fence_to_feature(
        _shape(t),
        properties={
            "name": t.name,
            "colour": t.colour,
            "priority": t.priority,
            "area_km2": t.area_km2,
            "version": t.version,
        },
        feature_id=t.id,
    )
    feature.update(extra)
    return feature


def _shape(t: Territory) -> Any:
    from shapely.geometry import shape

    return shape(t.geometry)


def _geojson(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, media_type=GEOJSON_MEDIA_TYPE, headers=headers)


def _moves(diff: AssignmentDiff) -> dict[str, Any]:
    return diff.as_dict()


@router.get("", response_model=Page[TerritorySummary])
def list_territories(session: SessionDep, _: Staff, paging: PagingDep) -> Page[TerritorySummary]:
    """Territories without their geometry (see /territories/export for GeoJSON)."""
    rows, total = page(session, select(Territory), paging, [Territory.name])
    return Page(
        data=[TerritorySummary.model_validate(r, from_attributes=True) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/export", response_class=Response, responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}}
)
def export_geojson(session: SessionDep, _: CurrentUser) -> Response:
    """Every fence as one GeoJSON FeatureCollection."""
    rows = session.exec(select(Territory).order_by(col(Territory.id))).all()
    return _geojson(feature_collection([_feature(t) for t in rows]))


@router.post(
    "",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {GEOJSON_MEDIA_TYPE: {}}}},
)
def create_territory(
    request: Request,
    session: SessionDep,
    _: Staff,
    body: Annotated[dict[str, Any], Body(examples=[FEATURE_EXAMPLE])],
    repair: Annotated[
        bool, Query(description="Repair self-intersections with make_valid.")
    ] = False,
) -> Response:
    """Create a fence from a GeoJSON Feature; sites inside move to it (see `reassignment`)."""
    territory, diff, fence = svc.create_territory(
        session, body=body, repair=repair, fences=fences(request)
    )
    session.commit()
    extra: dict[str, Any] = {"reassignment": _moves(diff)}
    if fence.repaired is not None:
        extra["repaired"] = str(fence.repaired)
    return _geojson(
        _feature(territory, **extra),
        201,
        {"ETag": f'"{territory.version}"', "Location": f"/territories/{territory.id}"},
    )


@router.get("/lookup", response_model=LookupResult)
def lookup(
    request: Request, session: SessionDep, _: CurrentUser, lat: Latitude, lon: Longitude
) -> LookupResult:
    """The territory a point belongs to (overlaps resolved by priority, then smaller area)."""
    index = fences(request).index(session)
    covering = index.territories_at(lat=lat, lon=lon)
    best = covering[0] if covering else None
    return LookupResult(
        lat=lat,
        lon=lon,
        territory_id=best,
        territory_name=fences(request).name(best),
        covering=covering,
    )


@router.post("/lookup", response_model=list[LookupResult])
def lookup_many(
    request: Request,
    session: SessionDep,
    _: CurrentUser,
    points: Annotated[
        list[LookupPoint],
        Body(examples=[[{"lat": 31.2295, "lon": 121.4475}, {"lat": 31.1, "lon": 121.9}]]),
    ],
) -> list[LookupResult]:
    """The territory of each of many points (up to 10,000 per call), vectorised."""
    if len(points) > MAX_LOOKUP:
        raise InvalidInput(f"at most {MAX_LOOKUP} points per call, got {len(points)}")
    cache = fences(request)
    index = cache.index(session)
    ids = index.assign(lat=[p.lat for p in points], lon=[p.lon for p in points]).tolist()
    return [
        LookupResult(
            lat=p.lat,
            lon=p.lon,
            territory_id=None if t < 0 else t,
            territory_name=None if t < 0 else cache.name(t),
        )
        for p, t in zip(points, ids, strict=True)
    ]


@router.get("/coverage-gaps", response_model=Page[SitePublic])
def coverage_gaps(session: SessionDep, _: Staff, paging: PagingDep) -> Page[SitePublic]:
    """Sites outside every fence: nobody is responsible for them."""
    stmt = select(Site).where(col(Site.territory_id).is_(None))
    rows, total = page(session, stmt, paging, [Site.id])
    return Page(
        data=[SitePublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/{territory_id}",
    response_class=Response,
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}},
)
def get_territory(territory_id: int, session: SessionDep, _: CurrentUser) -> Response:
    """One fence as a GeoJSON Feature, with its ETag."""
    t = get_or_404(session, Territory, territory_id)
    return _geojson(_feature(t), headers={"ETag": f'"{t.version}"'})


@router.put(
    "/{territory_id}",
    response_class=Response,
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}},
)
def replace_territory(
    territory_id: int,
    request: Request,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    body: Annotated[dict[str, Any], Body(examples=[FEATURE_EXAMPLE])],
    repair: bool = False,
) -> Response:
    """Redraw a fence (Feature with geometry and properties); needs If-Match."""
    t, diff, fence = svc.update_territory(
        session,
        territory_id=territory_id,
        body=body,
        props_update=None,
        repair=repair,
        expected_version=version,
        fences=fences(request),
    )
    session.commit()
    extra: dict[str, Any] = {"reassignment": _moves(diff)}
    if fence is not None and fence.repaired is not None:
        extra["repaired"] = str(fence.repaired)
    return _geojson(_feature(t, **extra), headers={"ETag": f'"{t.version}"'})


@router.patch(
    "/{territory_id}",
    response_class=Response,
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}},
)
def update_territory(
    territory_id: int,
    data: TerritoryPropsUpdate,
    request: Request,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
) -> Response:
    """Rename, recolour or re-prioritise a fence; needs If-Match."""
    t, diff, _f = svc.update_territory(
        session,
        territory_id=territory_id,
        body=None,
        props_update=data,
        repair=False,
        expected_version=version,
        fences=fences(request),
    )
    session.commit()
    return _geojson(_feature(t, reassignment=_moves(diff)), headers={"ETag": f'"{t.version}"'})


@router.delete("/{territory_id}")
def delete_territory(
    territory_id: int, request: Request, session: SessionDep, _: Staff, version: IfMatchDep
) -> dict[str, Any]:
    """Delete a fence; its sites move to the next fence or become coverage gaps."""
    diff = svc.delete_territory(
        session, territory_id=territory_id, expected_version=version, fences=fences(request)
    )
    session.commit()
    return {"deleted": territory_id, "reassignment": _moves(diff)}


@router.get("/{territory_id}/sites", response_model=Page[SitePublic])
def territory_sites(
    territory_id: int, session: SessionDep, _: Staff, paging: PagingDep
) -> Page[SitePublic]:
    """The sites inside a fence."""
    get_or_404(session, Territory, territory_id)
    stmt = select(Site).where(Site.territory_id == territory_id)
    rows, total = page(session, stmt, paging, [Site.id])
    return Page(
        data=[SitePublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )
