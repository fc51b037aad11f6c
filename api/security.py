"""Bearer tokens: short-lived signed JWTs naming a user and role."""

from __future__ import annotations

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
    """Claims of a valid, unexpired token; None for anything else."""
    try:
        return jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
