"""Logging in: the OAuth2 password flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, LateGateSessionDep, SettingsDep
from api.security import issue_token
from crm.schemas.users import Token, UserPublic
from crm.services.users import authenticate

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: LateGateSessionDep,
    settings: SettingsDep,
) -> Token:
    """Exchange a username and password for a bearer token that expires."""
    user = authenticate(
        session,
        username=form.username,
        password=form.password,
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
    )
    session.commit()
    if user is None or user.id is None:
        raise HTTPException(
            401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = issue_token(
        user_id=user.id, role=user.role, secret=settings.resolved_secret_key, ttl=ttl
    )
    return Token(access_token=token, expires_in=int(ttl.total_seconds()), role=user.role)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """The account the token belongs to."""
    return UserPublic.model_validate(user)
