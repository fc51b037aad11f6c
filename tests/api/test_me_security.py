"""Mobile security: an engineer reaches only his own work; tokens expire; logins throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.security import issue_token
from crm.db import session_scope
from crm.models import Plan, PlanStatus, Role
from crm.settings import Settings
from tests import factories as f
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401

ACTIONS = {
    "accept": {},
    "decline": {"reason": "x"},
    "start-travel": {},
    "arrive": {"lat": 31.23, "lon": 121.47},
    "complete": {"outcome": "fixed"},
    "unable-to-complete": {"reason": "x"},
}
ENDPOINTS = [
    ("GET", "/me/day", None),
    ("GET", "/me/day.ics", None),
    ("GET", "/me/locations", None),
    ("POST", "/me/locations", {"points": []}),
    ("POST", "/me/sync", {"items": []}),
    *[("POST", f"/me/tickets/1/{a}", body) for a, body in ACTIONS.items()],
]


def test_engineer_cannot_touch_another_engineers_ticket(client: TestClient, engine: Engine) -> None:
    """Every action and upload on B's ticket by A is 404, indistinguishable from no ticket."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    theirs = mf.dispatched_ticket(client, b)
    for action, body in ACTIONS.items():
        r = client.post(f"/me/tickets/{theirs['id']}/{action}", json=body, headers=a.me)
        missing = client.post(f"/me/tickets/987654/{action}", json=body, headers=a.me)
        assert r.status_code == missing.status_code == 404, action
        assert r.json()["detail"] == f"ticket {theirs['id']} not found"
    up = client.post(
        f"/me/tickets/{theirs['id']}/attachments",
        data={"kind": "photo"},
        files={"file": ("p.jpg", mf.JPEG, "image/jpeg")},
        headers=a.me,
    )
    assert up.status_code == 404
    assert client.get(f"/tickets/{theirs['id']}", headers=a.me).status_code == 404
    assert client.get(f"/tickets/{theirs['id']}/attachments", headers=a.me).status_code == 404
    assert client.get(f"/tickets/{theirs['id']}/attachments/1", headers=a.me).status_code == 404
    assert client.get(f"/tickets/{theirs['id']}", headers=b.me).json()["status"] == "dispatched"


def test_a_draft_plan_does_not_make_a_ticket_known(client: TestClient, engine: Engine) -> None:
    """A ticket on A's *draft* route but dispatched to B is 404 for A, not 'reassigned'."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    theirs = mf.dispatched_ticket(client, b)
    plan_id = mf.publish_route(engine, a.engineer_id, [theirs["id"]])
    with session_scope(engine) as s:
        s.get(Plan, plan_id).status = PlanStatus.draft
    r = client.post(f"/me/tickets/{theirs['id']}/accept", headers=a.me)
    assert r.status_code == 404


def test_my_day_shows_only_my_route(client: TestClient, engine: Engine) -> None:
    """A and B both have published routes; each sees only his own stops."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    ta = mf.dispatched_ticket(client, a)
    tb = mf.dispatched_ticket(client, b)
    mf.publish_route(engine, a.engineer_id, [ta["id"]])
    mf.publish_route(engine, b.engineer_id, [tb["id"]])
    day = mf.DAY.isoformat()
    seen_a = [
        s["ticket_id"] for s in client.get(f"/me/day?date={day}", headers=a.me).json()["stops"]
    ]
    seen_b = [
        s["ticket_id"] for s in client.get(f"/me/day?date={day}", headers=b.me).json()["stops"]
    ]
    assert (seen_a, seen_b) == ([ta["id"]], [tb["id"]])
    ics = client.get(f"/me/day.ics?date={day}", headers=a.me).text
    assert f"ticket-{tb['id']}-" not in ics


def test_locations_stay_with_their_engineer(client: TestClient, engine: Engine) -> None:
    """A's pings move only A; A reads only his own trail and cannot read B's record."""
    a = mf.crew(client, engine)
    b = mf.crew(client, engine, staff=a.staff)
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    client.post(
        "/me/locations", json={"points": [{"at": at, "lat": 30.0, "lon": 120.0}]}, headers=b.me
    )
    r = client.post(
        "/me/locations", json={"points": [{"at": at, "lat": 31.0, "lon": 121.0}]}, headers=a.me
    )
    assert r.status_code == 200
    assert [p["lat"] for p in client.get("/me/locations", headers=a.me).json()] == [31.0]
    assert client.get(f"/engineers/{b.engineer_id}", headers=a.me).status_code == 404
    assert client.get(f"/engineers/{b.engineer_id}", headers=b.me).json()["last_lat"] == 30.0


def test_mobile_routes_are_for_engineers_only(client: TestClient, engine: Engine) -> None:
    """No token → 401; dispatcher or admin → 403, on every /me route."""
    staff = [f.headers_for(client, engine, role) for role in (Role.dispatcher, Role.admin)]
    for method, path, body in ENDPOINTS:
        assert client.request(method, path, json=body).status_code == 401, path
        for h in staff:
            assert client.request(method, path, json=body, headers=h).status_code == 403, path


def test_expired_and_forged_tokens_are_refused(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    """An engineer's expired token, or one signed with another key, gets 401 on /me."""
    c = mf.crew(client, engine)
    me = client.get("/auth/me", headers=c.me).json()
    expired = issue_token(
        user_id=me["id"],
        role="engineer",
        secret=settings.resolved_secret_key,
        ttl=timedelta(seconds=-1),
    )
    forged = issue_token(
        user_id=me["id"], role="engineer", secret="not-the-key" * 4, ttl=timedelta(hours=1)
    )
    for token in (expired, forged):
        h = {"Authorization": f"Bearer {token}"}
        assert client.get("/me/day", headers=h).status_code == 401
        assert client.post("/me/sync", json={"items": []}, headers=h).status_code == 401


def test_guessing_an_engineers_password_is_throttled(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    """After the allowed failures the phone login is locked (429 + Retry-After), even if right."""
    staff = f.headers_for(client, engine, Role.dispatcher)
    eng = f.engineer(client, staff)
    name = f.make_user(engine, Role.engineer, eng["id"])
    for _ in range(settings.login_max_failures):
        r = client.post("/auth/token", data={"username": name, "password": "guess-1234"})
        assert r.status_code == 401
    r = client.post("/auth/token", data={"username": name, "password": f.PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
