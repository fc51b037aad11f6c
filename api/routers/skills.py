"""The skill catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import select

from api.deps import CurrentUser, IfMatchDep, PagingDep, SessionDep, Staff, set_etag
from api.listing import order_by, page
from crm.models import Skill
from crm.schemas.common import Page
from crm.schemas.engineers import SkillCreate, SkillPublic, SkillUpdate
from crm.services import engineers as svc
from crm.services.common import get_or_404

router = APIRouter(prefix="/skills", tags=["skills"])


@router.get("", response_model=Page[SkillPublic])
def list_skills(session: SessionDep, _: CurrentUser, paging: PagingDep) -> Page[SkillPublic]:
    """Every skill code (engineers may read the catalogue)."""
    rows, total = page(session, select(Skill), paging, order_by(None, {}, [Skill.code]))
    return Page(
        data=[SkillPublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("", response_model=SkillPublic, status_code=201)
def create_skill(
    data: SkillCreate, session: SessionDep, _: Staff, response: Response
) -> SkillPublic:
    """Add a skill code."""
    skill = svc.create_skill(session, data=data)
    session.commit()
    set_etag(response, skill.version)
    return SkillPublic.model_validate(skill)


@router.get("/{skill_id}", response_model=SkillPublic)
def get_skill(
    skill_id: int, session: SessionDep, _: CurrentUser, response: Response
) -> SkillPublic:
    """One skill."""
    skill = get_or_404(session, Skill, skill_id)
    set_etag(response, skill.version)
    return SkillPublic.model_validate(skill)


@router.patch("/{skill_id}", response_model=SkillPublic)
def update_skill(
    skill_id: int,
    data: SkillUpdate,
    session: SessionDep,
    _: Staff,
    version: IfMatchDep,
    response: Response,
) -> SkillPublic:
    """Rename a skill; needs If-Match."""
    skill = svc.update_skill(session, skill_id=skill_id, data=data, expected_version=version)
    session.commit()
    set_etag(response, skill.version)
    return SkillPublic.model_validate(skill)


@router.delete("/{skill_id}", status_code=204)
def delete_skill(skill_id: int, session: SessionDep, _: Staff, version: IfMatchDep) -> None:
    """Delete an unused skill; needs If-Match."""
    svc.delete_skill(session, skill_id=skill_id, expected_version=version)
    session.commit()
