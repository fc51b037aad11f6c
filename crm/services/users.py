"""Accounts: argon2 password hashes and login throttling."""

from __future__ import annotations

import os
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from crm.coltypes import utcnow
from crm.errors import Conflict, InvalidInput, TooManyAttempts
from crm.models import Engineer, Role, User
from crm.schemas.users import UserCreate, UserUpdate
from crm.services.common import apply_changes, flush_versioned, get_or_404, require_version

# RFC 9106's low-memory profile (argon2id, 64 MiB, 3 passes). The test suite
# sets FIELDROUTE_FAST_PASSWORD_HASH=1 for argon2's cheapest profile: hashing
# hundreds of test users with the real cost would dominate its run time.
_hasher = PasswordHasher.from_parameters(
    profiles.CHEAPEST
    if os.environ.get("FIELDROUTE_FAST_PASSWORD_HASH") == "1"
    else profiles.RFC_9106_LOW_MEMORY
)
# Verifying against this keeps unknown usernames as slow as known ones, so
# response time does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_engineer_link(session: Session, role: Role, engineer_id: int | None) -> None:
    if role is Role.engineer and engineer_id is None:
        raise InvalidInput(
            "an engineer account must be linked to an engineer (engineer_id)",
            [{"loc": ["body", "engineer_id"], "msg": "required for role engineer"}],
        )
    if engineer_id is not None:
        get_or_404(session, Engineer, engineer_id)
        taken = session.exec(select(User).where(User.engineer_id == engineer_id)).first()
        if taken is not None:
            raise Conflict(
                f"engineer {engineer_id} already has the login {taken.username!r}",
                existing_id=taken.id,
            )


def create_user(session: Session, *, data: UserCreate) -> User:
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict(f"username {data.username!r} is taken", field="username")
    _check_engineer_link(session, data.role, data.engineer_id)
    user = User(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        engineer_id=data.engineer_id,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session, *, user_id: int, data: UserUpdate, expected_version: int | None
) -> User:
    user = get_or_404(session, User, user_id)
    require_version(user, expected_version, "user")
    changes = data.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    role = changes.get("role") or user.role
    if "engineer_id" in changes and changes["engineer_id"] != user.engineer_id:
        _check_engineer_link(session, Role(role), changes["engineer_id"])
    elif Role(role) is Role.engineer and changes.get("engineer_id", user.engineer_id) is None:
        _check_engineer_link(session, Role(role), None)
    if password:
        changes["password_hash"] = hash_password(password)
        changes["failed_logins"] = 0
        changes["locked_until"] = None
    apply_changes(user, {k: v for k, v in changes.items() if v is not None or k == "engineer_id"})
    flush_versioned(session, user, "user")
    return user


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    max_failures: int = 5,
    lockout_seconds: int = 300,
) -> User | None:
    """The user if the password is right; None if not; 429 while locked out.

    Repeated failures lock the account for a while: a phone-sized keyboard
    makes typos, a script guessing passwords makes thousands.
    """
    user = session.exec(select(User).where(User.username == username)).first()
    now = utcnow()
    if user is not None:
        # The password check is slow on purpose (argon2, ~0.1 s here): hold no
        # transaction — on SQLite no write lock — while it runs. The account is
        # read again, in a write, only when a counter must change.
        session.expunge(user)
    session.rollback()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise TooManyAttempts(
            f"too many failed logins for {username!r}; try again in {wait} s",
            retry_after=wait,
        )
    if not verify_password(user.password_hash, password) or not user.active:
        current = session.get(User, user.id)
        if current is not None:
            current.failed_logins += 1
            if current.failed_logins >= max_failures:
                current.locked_until = now + timedelta(seconds=lockout_seconds)
                current.failed_logins = 0
            session.flush()
        return None
    if user.failed_logins or user.locked_until:
        current = session.get(User, user.id)
        if current is not None:
            current.failed_logins = 0
            current.locked_until = None
            session.flush()
            return current
    return user
