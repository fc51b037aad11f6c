"""Accounts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlmodel import select

from api.deps import Admin, IfMatchDep, PagingDep, SessionDep, set_etag
from api.listing import page
from crm.models import User
from crm.schemas.common import Page
from crm.schemas.users import UserCreate, UserPublic, UserUpdate
from crm.services import users as svc
from crm.services.common import get_or_404

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserPublic])
def list_users(session: SessionDep, _: Admin, paging: PagingDep) -> Page[UserPublic]:
    """Every account."""
    rows, total = page(session, select(User), paging, [User.id])
    return Page(
        data=[UserPublic.model_validate(r) for r in rows],
        count=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("", response_model=UserPublic, status_code=201)
def create_user(data: UserCreate, session: SessionDep, _: Admin, response: Response) -> UserPublic:
    """Create an account; engineer accounts link to their engineer."""
    user = svc.create_user(session, data=data)
    session.commit()
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.get("/{user_id}", response_model=UserPublic)
def get_user(user_id: int, session: SessionDep, _: Admin, response: Response) -> UserPublic:
    """One account."""
    user = get_or_404(session, User, user_id)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: int,
    data: UserUpdate,
    session: SessionDep,
    _: Admin,
    version: IfMatchDep,
    request: Request,
    response: Response,
) -> UserPublic:
    """Change role, password or activity; needs If-Match."""
    user = svc.update_user(session, user_id=user_id, data=data, expected_version=version)
    session.commit()
    request.app.state.accounts.forget(user_id)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)
