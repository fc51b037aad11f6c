"""The role matrix: every route × anonymous, admin, dispatcher, engineer.

Anonymous requests are checked against every route the app has, so a new
route that forgets authentication fails here. The role table covers the
records API; engineers get 404 (not 403) for anything that is not theirs.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.models import Role
from tests import factories as f

PUBLIC = {
    ("POST", "/auth/token"),
    ("GET", "/healthz"),
    ("GET", "/map/login"),
    ("POST", "/map/login"),
}
ALLOWED_OK = {200, 201, 204, 409, 422, 428}

# (method, path template) → roles allowed; "own" = engineer allowed on his own record only.
MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/customers"): {"admin", "dispatcher"},
    ("POST", "/customers"): {"admin", "dispatcher"},
    ("GET", "/customers/{customer_id}"): {"admin", "dispatcher"},
    ("PATCH", "/customers/{customer_id}"): {"admin", "dispatcher"},
    ("DELETE", "/customers/{customer_id}"): {"admin", "dispatcher"},
    ("GET", "/sites"): {"admin", "dispatcher"},
    ("POST", "/sites"): {"admin", "dispatcher"},
    ("GET", "/sites/{site_id}"): {"admin", "dispatcher"},
    ("PATCH", "/sites/{site_id}"): {"admin", "dispatcher"},
    ("GET", "/contacts"): {"admin", "dispatcher"},
    ("POST", "/contacts"): {"admin", "dispatcher"},
    ("GET", "/skills"): {"admin", "dispatcher", "engineer"},
    ("POST", "/skills"): {"admin", "dispatcher"},
    ("GET", "/engineers"): {"admin", "dispatcher"},
    ("POST", "/engineers"): {"admin", "dispatcher"},
    ("GET", "/engineers/{engineer_id}"): {"admin", "dispatcher", "own"},
    ("PATCH", "/engineers/{engineer_id}"): {"admin", "dispatcher"},
    ("GET", "/engineers/{engineer_id}/shifts"): {"admin", "dispatcher", "own"},
    ("POST", "/engineers/{engineer_id}/shifts"): {"admin", "dispatcher"},
    ("GET", "/engineers/{engineer_id}/absences"): {"admin", "dispatcher", "own"},
    ("POST", "/engineers/{engineer_id}/absences"): {"admin", "dispatcher"},
    ("GET", "/engineers/{engineer_id}/territories"): {"admin", "dispatcher", "own"},
    ("PUT", "/engineers/{engineer_id}/territories"): {"admin", "dispatcher"},
    ("GET", "/tickets"): {"admin", "dispatcher", "engineer"},
    ("POST", "/tickets"): {"admin", "dispatcher"},
    ("GET", "/tickets/{ticket_id}"): {"admin", "dispatcher", "own"},
    ("PATCH", "/tickets/{ticket_id}"): {"admin", "dispatcher"},
    ("GET", "/tickets/{ticket_id}/events"): {"admin", "dispatcher", "own"},
    ("POST", "/tickets/{ticket_id}/transitions"): {"admin", "dispatcher", "own"},
    ("GET", "/tickets/{ticket_id}/attachments"): {"admin", "dispatcher", "own"},
    ("GET", "/users"): {"admin"},
    ("POST", "/users"): {"admin"},
    ("GET", "/users/{user_id}"): {"admin"},
    ("POST", "/imports/{kind}"): {"admin", "dispatcher"},
    ("GET", "/exports/{kind}"): {"admin", "dispatcher"},
}


def _api_routes(app: Any) -> list[tuple[str, str]]:
    """Every documented (method, path), read from the OpenAPI document."""
    out = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(out) > 30, "the route listing looks empty"
    return out


def _fill(path: str, ids: dict[str, int]) -> str:
    for key, value in ids.items():
        path = path.replace("{" + key + "}", str(value))
    return path.replace("{kind}", "customers")


def test_every_route_needs_a_login(client: TestClient, app: Any) -> None:
    """Without a token every route but login and health is 401 (pages redirect to login)."""
    ids = {
        k: 1
        for k in (
            "customer_id",
            "site_id",
            "contact_id",
            "skill_id",
            "engineer_id",
            "ticket_id",
            "user_id",
            "shift_id",
            "absence_id",
            "territory_id",
            "plan_id",
            "attachment_id",
            "id",
        )
    }
    leaks = []
    routes = _api_routes(app)
    assert set(MATRIX) <= set(routes), set(MATRIX) - set(routes)
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        url = _fill(path, ids)
        url = url.replace("{", "").replace("}", "")
        r = client.request(method, url, follow_redirects=False)
        to_login = r.is_redirect and "login" in r.headers.get("location", "")
        if r.status_code != 401 and not to_login:
            leaks.append((method, path, r.status_code))
    assert not leaks, f"routes answering without authentication: {leaks}"


def test_role_matrix(client: TestClient, engine: Engine) -> None:
    """Each role gets through exactly where the matrix says; elsewhere 403 (staff) or 404."""
    admin = f.headers_for(client, engine, Role.admin)
    c = f.customer(client, admin)
    s = f.site(client, admin, c["id"])
    mine = f.engineer(client, admin)
    other = f.engineer(client, admin)
    other_ticket = f.ticket(client, admin, c["id"], s["id"])
    my_ticket = f.ticket(client, admin, c["id"], s["id"])
    client.post(
        f"/tickets/{my_ticket['id']}/transitions",
        json={"to": "scheduled", "engineer_id": mine["id"]},
        headers=admin,
    )
    client.post(
        f"/tickets/{other_ticket['id']}/transitions",
        json={"to": "scheduled", "engineer_id": other["id"]},
        headers=admin,
    )
    users = {
        "admin": admin,
        "dispatcher": f.headers_for(client, engine, Role.dispatcher),
        "engineer": f.headers_for(client, engine, Role.engineer, engineer_id=mine["id"]),
    }
    base_ids = {"customer_id": c["id"], "site_id": s["id"], "user_id": 1}
    wrong = []
    for (method, path), allowed in MATRIX.items():
        for role, headers in users.items():
            targets = [("other", {"engineer_id": other["id"], "ticket_id": other_ticket["id"]})]
            if "own" in allowed:
                targets.append(("own", {"engineer_id": mine["id"], "ticket_id": my_ticket["id"]}))
            for which, ids in targets:
                url = _fill(path, {**base_ids, **ids})
                body = {"to": "on_hold"} if path.endswith("/transitions") else {}
                r = client.request(
                    method, url, headers=headers, json=None if method in ("GET", "DELETE") else body
                )
                may = role in allowed or (
                    role == "engineer" and which == "own" and "own" in allowed
                )
                if role == "engineer" and "engineer" in allowed and "{" in path:
                    may = which == "own"
                if may:
                    ok = r.status_code in ALLOWED_OK
                elif role == "engineer":
                    ok = r.status_code == 404
                else:
                    ok = r.status_code == 403
                if not ok:
                    wrong.append((role, which, method, path, r.status_code))
    assert not wrong, wrong
