"""Bearer tokens: short-lived signed JWTs naming a user and role."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt

from crm.coltypes import utcnow

ALGORITHM = "HS256"


def issue_token(*, user_id: int, role: str, secret: str, ttl: timedelta) -> str:
    now = utcnow()
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> dict[str, Any] | None:
    """Claims of a valid, unexpired token; None for anything else.

    A token is checked once and remembered until it expires: a phone or a
    dispatcher's page sends the same token with every request, and verifying
    it each time was a tenth of a small request's CPU. What can change under
    a valid token (the account disabled, its role) is checked per request by
    the caller, not here.
    """
    key = (token, secret)
    hit = _VERIFIED.get(key)
    if hit is not None and hit[0] > time.time():
        return hit[1]
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (float(claims["exp"]), claims)
    return claims


_VERIFIED: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_VERIFIED_MAX = 10_000
