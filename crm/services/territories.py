"""Territories: electronic fences, and the sites they automatically own.

A site's territory is derived from its position, never typed in. Every write
that can change the answer (a site created or moved, a fence created, edited
or deleted, a priority changed) re-derives it inside the same transaction,
and fence edits report how many sites moved from where to where.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.coltypes import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.models import EngineerTerritory, Site, Territory
from crm.schemas.territories import TerritoryProps, TerritoryPropsUpdate
from crm.services.common import flush_versioned, get_or_404, require_version
from geofence import (
    AssignmentDiff,
    FenceError,
    FenceIndex,
    FenceItem,
    affected_bounds,
    area_km2,
    as_territory_ids,
    diff_assignment,
    fence_to_geojson,
    parse_fence,
)
from geofence.fence import Fence

EMPTY_DIFF = AssignmentDiff(0, 0, (), np.empty(0, dtype=np.intp))


class FenceCache:
    """The FenceIndex of the stored territories, rebuilt only when they change.

    Building an index means parsing every fence; doing that per site write
    would cost more than the write. The cache key is read inside the caller's
    transaction, so a caller always gets the index its transaction sees.
    One cache per process (the app keeps one on ``app.state``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._index: FenceIndex = FenceIndex(())
        self._names: dict[int, str] = {}

    def index(self, session: Session) -> FenceIndex:
        key = tuple(
            session.exec(
                select(func.count(), func.sum(Territory.version), func.max(Territory.id))
            ).one()
        )
        with self._lock:
            if key != self._key:
                rows = session.exec(select(Territory)).all()
                self._index = FenceIndex(
                    FenceItem(
                        territory_id=t.id or 0,
                        geometry=parse_fence(t.geometry).geometry,
                        priority=t.priority,
                    )
                    for t in rows
                )
                self._names = {t.id or 0: t.name for t in rows}
                self._key = key
            return self._index

    def name(self, territory_id: int | None) -> str | None:
        return None if territory_id is None else self._names.get(territory_id)


def _serialise_writers(session: Session) -> None:
    """Fence edits and site writes must not interleave on PostgreSQL.

    SQLite already runs one writer at a time (BEGIN IMMEDIATE); PostgreSQL gets
    a transaction-scoped advisory lock so a site created during a fence edit
    cannot miss the edit's re-assignment.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.text("SELECT pg_advisory_xact_lock(7340033)"))  # type: ignore[call-overload]


# --- sites ------------------------------------------------------------------
def assign_sites(session: Session, sites: Sequence[Site], fences: FenceCache | None = None) -> None:
    """Set ``territory_id`` on sites just created or moved (flushes nothing)."""
    if not sites:
        return
    _serialise_writers(session)
    index = (fences or FenceCache()).index(session)
    ids = index.assign(lat=[s.lat for s in sites], lon=[s.lon for s in sites])
    for site, tid in zip(sites, ids.tolist(), strict=True):
        new = None if tid < 0 else int(tid)
        if site.territory_id != new:
            site.territory_id = new
            session.add(site)


# --- fences -----------------------------------------------------------------
def parse_or_422(body: Any, *, repair: bool) -> Fence:
    try:
        return parse_fence(body, repair=repair)
    except FenceError as exc:
        detail = exc.message
        if exc.code == "self_intersection" and not repair:
            detail += " (send ?repair=true to repair it automatically)"
        raise InvalidInput(
            detail, [{"loc": ["body", "geometry"], "msg": exc.message, **exc.as_dict()}]
        ) from exc


def _props(raw: Any) -> TerritoryProps:
    from pydantic import ValidationError

    try:
        return TerritoryProps.model_validate(raw or {})
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "properties", *map(str, e["loc"])], "msg": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidInput(f"properties: {errors[0]['msg']}", errors) from exc


def _unique_name(session: Session, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Territory).where(Territory.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Territory.id != exclude_id)
    clash = session.exec(stmt).first()
    if clash is not None:
        raise Conflict(f"a territory named {name!r} exists (id {clash.id})", existing_id=clash.id)


def _reassign(
    session: Session,
    before: FenceIndex,
    after: FenceIndex,
    box_geometries: tuple[Any, Any] | None,
) -> AssignmentDiff:
    """Re-derive the territory of every site the edit can affect; update movers.

    Only sites inside the bounding box of the old and new fence can change,
    so the scan is one indexed range query; the update touches movers only.
    A priority change re-checks the sites in the fence's box as well.
    """
    stmt = select(Site.id, Site.lat, Site.lon, Site.territory_id)
    if box_geometries is not None:
        box = affected_bounds(*box_geometries)
        if box is None:
            return EMPTY_DIFF
        stmt = stmt.where(
            col(Site.lat).between(box.min_lat, box.max_lat),
            col(Site.lon).between(box.min_lon, box.max_lon),
        )
    rows = session.exec(stmt).all()
    if not rows:
        return EMPTY_DIFF
    arr = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
    stored = as_territory_ids([r[3] for r in rows])
    new_ids = after.assign(lat=arr[:, 0], lon=arr[:, 1])
    diff = diff_assignment(stored, new_ids)
    if diff.moved:
        now = utcnow()
        params = [
            {"sid": rows[i][0], "tid": None if new_ids[i] < 0 else int(new_ids[i]), "now": now}
            for i in diff.moved_indices.tolist()
        ]
        site = Site.__table__  # type: ignore[attr-defined]
        session.execute(
            site.update()
            .where(site.c.id == sa.bindparam("sid"))
            .values(
                territory_id=sa.bindparam("tid"),
                updated_at=sa.bindparam("now"),
                version=site.c.version + 1,
            ),
            params,
        )
        session.expire_all()
    return diff


def create_territory(
    session: Session, *, body: Any, repair: bool, fences: FenceCache | None = None
) -> tuple[Territory, AssignmentDiff, Fence]:
    fence = parse_or_422(body, repair=repair)
    props = _props(fence.properties)
    _serialise_writers(session)
    _unique_name(session, props.name)
    before = (fences or FenceCache()).index(session)
    territory = Territory(
        name=props.name,
        colour=props.colour,
        priority=props.priority,
        geometry=fence_to_geojson(fence.geometry),
        area_km2=round(area_km2(fence.geometry), 4),
    )
    session.add(territory)
    session.flush()
    assert territory.id is not None
    after = before.replaced(upsert=[FenceItem(territory.id, fence.geometry, territory.priority)])
    diff = _reassign(session, before, after, (None, fence.geometry))
    return territory, diff, fence


def update_territory(
    session: Session,
    *,
    territory_id: int,
    body: Any | None,
    props_update: TerritoryPropsUpdate | None,
    repair: bool,
    expected_version: int | None,
    fences: FenceCache | None = None,
) -> tuple[Territory, AssignmentDiff, Fence | None]:
    """Replace the fence (``body``: a Feature) or change properties only."""
    _serialise_writers(session)
    territory = get_or_404(session, Territory, territory_id)
    require_version(territory, expected_version, "territory")
    before = (fences or FenceCache()).index(session)
    old_geometry = before.item(territory_id).geometry if territory_id in before else None
    fence = None
    geometry = old_geometry
    if body is not None:
        fence = parse_or_422(body, repair=repair)
        props = _props(fence.properties)
        changes: dict[str, Any] = props.model_dump()
        geometry = fence.geometry
        territory.geometry = fence_to_geojson(fence.geometry)
        territory.area_km2 = round(area_km2(fence.geometry), 4)
    else:
        changes = (props_update or TerritoryPropsUpdate()).model_dump(exclude_unset=True)
        changes = {k: v for k, v in changes.items() if v is not None}
    if "name" in changes and changes["name"] != territory.name:
        _unique_name(session, changes["name"], exclude_id=territory_id)
    priority_changed = "priority" in changes and changes["priority"] != territory.priority
    for key, value in changes.items():
        setattr(territory, key, value)
    territory.updated_at = utcnow()
    flush_versioned(session, territory, "territory")
    diff = EMPTY_DIFF
    if fence is not None or priority_changed:
        assert geometry is not None
        after = before.replaced(upsert=[FenceItem(territory_id, geometry, territory.priority)])
        diff = _reassign(session, before, after, (old_geometry, geometry))
    return territory, diff, fence


def delete_territory(
    session: Session,
    *,
    territory_id: int,
    expected_version: int | None,
    fences: FenceCache | None = None,
) -> AssignmentDiff:
    _serialise_writers(session)
    territory = get_or_404(session, Territory, territory_id)
    require_version(territory, expected_version, "territory")
    before = (fences or FenceCache()).index(session)
    old_geometry = before.item(territory_id).geometry
    after = before.replaced(remove=[territory_id])
    diff = _reassign(session, before, after, (old_geometry, None))
    session.exec(  # type: ignore[call-overload]
        sa.delete(EngineerTerritory).where(col(EngineerTerritory.territory_id) == territory_id)
    )
    session.delete(session.get(Territory, territory_id))
    session.flush()
    return diff


def reassign_all(session: Session, fences: FenceCache | None = None) -> AssignmentDiff:
    """Re-derive every site's territory (after bulk loads or a restore)."""
    _serialise_writers(session)
    index = (fences or FenceCache()).index(session)
    return _reassign(session, index, index, None)


def lookup_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Territory.id, Territory.name).where(col(Territory.id).in_(ids)))
    return {i: n for i, n in rows if i is not None}


def require_territory(session: Session, territory_id: int) -> Territory:
    territory = session.get(Territory, territory_id)
    if territory is None:
        raise NotFound("territory", territory_id)
    return territory
