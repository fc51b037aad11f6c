"""Engineers, their shifts, absences and territory memberships."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import col, select

from api.deps import CurrentUser, IfMatchDep, PagingDep, SessionDep, Staff, set_etag
from api.listing import order_by, page
from crm.errors import NotFound
from crm.models import Absence, Engineer, EngineerSkill, EngineerTerritory, Role, Shift, Skill, User
from crm.schemas.common import Page
from crm.schemas.engineers import (
    AbsenceCreate,
    AbsencePublic,
    EngineerCreate,
    EngineerPublic,
    EngineerUpdate,
    MembershipPublic,
    MembershipSet,
    ShiftCreate,
    ShiftPublic,
    ShiftUpdate,
)
from crm.services import engineers as svc
from crm.services.common import get_or_404

router = APIRouter(prefix="/engineers", tags=["engineers"])
SORTABLE = {"id": Engineer.id, "name": Engineer.name, "last_seen_at": Engineer.last_seen_at}


def _own_or_staff(user: User, engineer_id: int) -> None:
    """Engineers see only themselves; anyone else's record does not exist for them."""
    if user.role == Role.engineer and user.engineer_id != engineer_id:
        raise NotFound("engineer", engineer_id)


@router.get("", response_model=Page[EngineerPublic])
def list_engineers(
    session: SessionDep,
    _: Staff,
    paging: PagingDep,
    active: bool | None = None,
    territory_id: int | None = None,
    skill: Annotated[str | None, Query(description="Holds this skill code.")] = None,
    q: str | None = None,
    sort: str | None = None,
) -> Page[EngineerPublic]:
    """Engineers, filtered by activity, territory, skill or name."""
    stmt = select(Engineer)
    if active is not None:
        stmt = stmt.where(Engineer.active == active)
    if territory_id is not None:
        stmt = stmt.where(
            col(Engineer.id).in_(
                select(EngineerTerritory.engineer_id).where(
                    EngineerTerritory.territory_id == territory_id
                )
            )
        )
    if skill:
        stmt = stmt.where(
            col(Engineer.id).in_(
                select(EngineerSkill.engineer_id)
                .join(Skill, Skill.id == EngineerSkill.skill_id)
                .where(Skill.code == skill)
            )
        )
    if q:
        stmt = stmt.where(col(Engineer.name).ilike(f"%{q}%"))
    rows, total = page(session, stmt, paging, order_by(sort, SORTABLE, [Engineer.id]))
    return Page(
        data=svc.to_public(session, rows), count=total, limit=paging.limit, offset=paging.offset
    )


@router.post("", response_model=EngineerPublic, status_code=201)
def create_engineer(
    data: EngineerCreate, session: SessionDep, _: Staff, response: Response
) -> EngineerPublic:
    """Add an engineer with skills and levels."""
    engineer = svc.create_engineer(session, data=data)
    session.commit()
    set_etag(response, engineer.version)
    response.headers["Location"] = f"/engineers/{engineer.id}"
    return svc.to_public(session, [engineer])[0]


@router.get("/{engineer_id}", response_model=EngineerPublic)
def get_engineer(
    engineer_id: int, session: SessionDep, user: CurrentUser, response: Response
) -> EngineerPublic:
    """One engineer (an engineer may read only his own record)."""
    _own_or_staff(user, engineer_id)
    engineer = get_or_404(session, Engineer, engineer_id)
    set_etag(response, engineer.version)
    return svc.to_public(session, [engineer])[0]


@router.patch("/{engineer_id}", response_model=EngineerPublic)
def update_engineer(
    engineer_id: int,
    data: EngineerUpdate,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    response: Response,
) -> EngineerPublic:
    """Change an engineer (skills replace the whole list); needs If-Match."""
    engineer = svc.update_engineer(
        session, engineer_id=engineer_id, data=data, expected_version=version
    )
    session.commit()
    set_etag(response, engineer.version)
    return svc.to_public(session, [engineer])[0]


@router.delete("/{engineer_id}", status_code=204)
def delete_engineer(engineer_id: int, session: SessionDep, _: Staff, version: IfMatchDep) -> None:
    """Delete an engineer without history (otherwise deactivate); needs If-Match."""
    svc.delete_engineer(session, engineer_id=engineer_id, expected_version=version)
    session.commit()


# --- shifts -------------------------------------------------------------------
@router.get("/{engineer_id}/shifts", response_model=Page[ShiftPublic])
def list_shifts(
    engineer_id: int,
    session: SessionDep,
    user: CurrentUser,
    paging: PagingDep,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page[ShiftPublic]:
    """An engineer's shifts in a date range."""
    _own_or_staff(user, engineer_id)
    get_or_404(session, Engineer, engineer_id)
    stmt = select(Shift).where(Shift.engineer_id == engineer_id)
    if date_from:
        stmt = stmt.where(Shift.day >= date_from)
    if date_to:
        stmt = stmt.where(Shift.day <= date_to)
    rows, total = page(session, stmt, paging, [Shift.day])
    return Page(
        data=[ShiftPublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/{engineer_id}/shifts", response_model=ShiftPublic, status_code=201)
def create_shift(
    engineer_id: int, data: ShiftCreate, session: SessionDep, _: Staff, response: Response
) -> ShiftPublic:
    """Add a shift (one per engineer per day)."""
    shift = svc.create_shift(session, engineer_id=engineer_id, data=data)
    session.commit()
    set_etag(response, shift.version)
    return ShiftPublic.model_validate(shift)


@router.patch("/{engineer_id}/shifts/{shift_id}", response_model=ShiftPublic)
def update_shift(
    engineer_id: int,
    shift_id: int,
    data: ShiftUpdate,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    response: Response,
) -> ShiftPublic:
    """Change a shift; needs If-Match."""
    shift = svc.update_shift(
        session, engineer_id=engineer_id, shift_id=shift_id, data=data, expected_version=version
    )
    session.commit()
    set_etag(response, shift.version)
    return ShiftPublic.model_validate(shift)


@router.delete("/{engineer_id}/shifts/{shift_id}", status_code=204)
def delete_shift(
    engineer_id: int, shift_id: int, session: SessionDep, _: Staff, version: IfMatchDep
) -> None:
    """Remove a shift; needs If-Match."""
    svc.delete_shift(session, engineer_id=engineer_id, shift_id=shift_id, expected_version=version)
    session.commit()


# --- absences -----------------------------------------------------------------
@router.get("/{engineer_id}/absences", response_model=Page[AbsencePublic])
def list_absences(
    engineer_id: int, session: SessionDep, user: CurrentUser, paging: PagingDep
) -> Page[AbsencePublic]:
    """An engineer's absences."""
    _own_or_staff(user, engineer_id)
    get_or_404(session, Engineer, engineer_id)
    stmt = select(Absence).where(Absence.engineer_id == engineer_id)
    rows, total = page(session, stmt, paging, [Absence.start_at])
    return Page(
        data=[AbsencePublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/{engineer_id}/absences", response_model=AbsencePublic, status_code=201)
def create_absence(
    engineer_id: int, data: AbsenceCreate, session: SessionDep, _: Staff, response: Response
) -> AbsencePublic:
    """Record an absence (leave, sickness, training)."""
    absence = svc.create_absence(session, engineer_id=engineer_id, data=data)
    session.commit()
    set_etag(response, absence.version)
    return AbsencePublic.model_validate(absence)


@router.delete("/{engineer_id}/absences/{absence_id}", status_code=204)
def delete_absence(
    engineer_id: int, absence_id: int, session: SessionDep, _: Staff, version: IfMatchDep
) -> None:
    """Remove an absence; needs If-Match."""
    svc.delete_absence(
        session, engineer_id=engineer_id, absence_id=absence_id, expected_version=version
    )
    session.commit()


# --- territories ------------------------------------------------------------------
@router.get("/{engineer_id}/territories", response_model=list[MembershipPublic])
def list_memberships(
    engineer_id: int, session: SessionDep, user: CurrentUser
) -> list[MembershipPublic]:
    """The territories an engineer serves, primary first."""
    _own_or_staff(user, engineer_id)
    get_or_404(session, Engineer, engineer_id)
    return svc.memberships(session, engineer_id)


@router.put("/{engineer_id}/territories", response_model=list[MembershipPublic])
def set_memberships(
    engineer_id: int, data: MembershipSet, session: SessionDep, _: Staff
) -> list[MembershipPublic]:
    """Replace an engineer's territories (primary and secondary)."""
    result = svc.set_memberships(session, engineer_id=engineer_id, items=data.territories)
    session.commit()
    return result
