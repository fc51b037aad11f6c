"""Logging in, tokens and throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.security import issue_token
from crm.models import Role
from tests.factories import PASSWORD, login, make_user


def test_login_returns_an_expiring_bearer_token(client: TestClient, engine: Engine) -> None:
    """The password flow hands out a bearer token and /auth/me names its owner."""
    name = make_user(engine, Role.dispatcher)
    r = client.post("/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == name and me.json()["role"] == "dispatcher"


def test_wrong_password_is_401_problem_json(client: TestClient, engine: Engine) -> None:
    """A wrong password is 401 in problem+json, not a hint about which part was wrong."""
    name = make_user(engine, Role.dispatcher)
    r = client.post("/auth/token", data={"username": name, "password": "nope-nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == "wrong username or password"
    unknown = client.post("/auth/token", data={"username": "ghost", "password": "nope-nope"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == r.json()["detail"]


def test_missing_and_bad_tokens_are_401(client: TestClient) -> None:
    """No token, a forged token: both 401 with a WWW-Authenticate challenge."""
    assert client.get("/customers").status_code == 401
    r = client.get("/customers", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_refused(client: TestClient, engine: Engine, settings) -> None:
    """A token past its expiry is refused even though its signature is right."""
    make_user(engine, Role.admin)
    token = issue_token(
        user_id=1, role="admin", secret=settings.resolved_secret_key, ttl=timedelta(seconds=-5)
    )
    r = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_repeated_failures_lock_the_account(client: TestClient, engine: Engine, settings) -> None:
    """After the allowed number of failures even the right password gets 429 for a while."""
    name = make_user(engine, Role.dispatcher)
    for _ in range(settings.login_max_failures):
        assert (
            client.post("/auth/token", data={"username": name, "password": "x" * 9}).status_code
            == 401
        )
    r = client.post("/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_disabled_user_token_stops_working(client: TestClient, engine: Engine) -> None:
    """Deactivating an account revokes its outstanding tokens."""
    admin = login(client, make_user(engine, Role.admin))
    name = make_user(engine, Role.dispatcher)
    h = login(client, name)
    users = client.get("/users", headers=admin).json()["data"]
    target = next(u for u in users if u["username"] == name)
    r = client.patch(
        f"/users/{target['id']}",
        json={"active": False},
        headers={**admin, "If-Match": f'"{target["version"]}"'},
    )
    assert r.status_code == 200
    assert client.get("/customers", headers=h).status_code == 401


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    """Verified tokens are remembered for speed, but never past their expiry."""
    import time

    from api import security

    secret = "remember-test-secret-remember-test"
    token = security.issue_token(
        user_id=7, role="engineer", secret=secret, ttl=timedelta(seconds=1)
    )
    claims = security.read_token(token, secret)
    assert claims is not None and claims["sub"] == "7"
    assert security.read_token(token, secret) is claims  # remembered
    assert security.read_token(token, "another-secret-another-secret-xx") is None
    time.sleep(max(0.0, claims["exp"] - time.time()) + 0.05)
    assert security.read_token(token, secret) is None


def test_the_password_check_holds_no_write_lock(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes ~0.1 s on purpose; other writers must not wait for it, on a right
    or a wrong password (the failure counter is written after the check)."""
    from crm.db import gate_of
    from crm.services import users

    gate = gate_of(engine)
    if gate is None:
        pytest.skip("the write gate is SQLite's")
    name = make_user(engine, Role.dispatcher)
    real = users.verify_password
    free_during_check: list[bool] = []

    def watching(hashed: str, password: str) -> bool:
        fd = gate.try_take()
        free_during_check.append(fd is not None)
        if fd is not None:
            gate.give_back(fd)
        return real(hashed, password)

    monkeypatch.setattr(users, "verify_password", watching)
    assert (
        client.post("/auth/token", data={"username": name, "password": "wrong"}).status_code == 401
    )
    assert (
        client.post("/auth/token", data={"username": name, "password": PASSWORD}).status_code == 200
    )
    assert free_during_check == [True, True]
