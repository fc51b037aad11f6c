"""The map routes: login form and session cookie, roles, the page, its data, the day sheet."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.models import Plan, PlanStatus, PlanUnassigned, Role, Route, Stop, Ticket, TicketStatus
from tests import factories as f

DAY = f.DAY
URL = re.compile(r"https?://")


def cookie_login(client: TestClient, username: str, *, next_url: str = "/map") -> Any:
    return client.post(
        "/map/login",
        data={"username": username, "password": f.PASSWORD, "next": next_url},
        follow_redirects=False,
    )


@pytest.fixture
def dispatcher(client: TestClient, engine: Engine) -> str:
    return f.make_user(engine, Role.dispatcher)


@pytest.fixture
def city(client: TestClient, engine: Engine) -> dict[str, Any]:
    """Two engineers, three tickets; one planned route, one unassigned with a reason."""
    h = f.headers_for(client, engine, Role.admin)
    f.skill(client, h, "hvac")
    e1 = f.engineer(client, h, name="Wang Lei", colour="#00aa00")
    e2 = f.engineer(client, h, name="Li Na")
    c = f.customer(client, h, name="Jing'an Dental Clinic")
    s = f.site(client, h, c["id"], address="1376 Nanjing West Rd")
    window = [{"start": f.at(9), "end": f.at(11)}]
    t1 = f.ticket(client, h, c["id"], s["id"], title="AC not cooling", windows=window)
    t2 = f.ticket(
        client, h, c["id"], s["id"], title="Lift stuck", priority="urgent", windows=window
    )
    t3 = f.ticket(client, h, c["id"], s["id"], title="Leaking pipe", windows=window)
    with session_scope(engine) as session:
        # Publishing scheduled t1 to Wang Lei.
        ticket = session.get(Ticket, t1["id"])
        assert ticket is not None
        ticket.status = TicketStatus.scheduled
        ticket.engineer_id = e1["id"]
        ticket.planned_start = datetime.fromisoformat(f.at(9, 30))
        ticket.planned_end = datetime.fromisoformat(f.at(10, 30))
        plan = Plan(day=DAY, status=PlanStatus.published)
        session.add(plan)
        session.flush()
        route = Route(
            plan_id=plan.id or 0,
            engineer_id=e1["id"],
            day=DAY,
            start_at=datetime.fromisoformat(f.at(8)),
            end_at=datetime.fromisoformat(f.at(12)),
            distance_m=9_000,
            drive_s=1_800,
            work_s=3_600,
            stop_count=1,
        )
        session.add(route)
        session.flush()
        session.add(
            Stop(
                route_id=route.id or 0,
                ticket_id=t1["id"],
                seq=1,
                arrival_at=datetime.fromisoformat(f.at(9, 30)),
                start_at=datetime.fromisoformat(f.at(9, 30)),
                end_at=datetime.fromisoformat(f.at(10, 30)),
                leg_m=4_500,
            )
        )
        session.add(
            PlanUnassigned(
                plan_id=plan.id or 0,
                ticket_id=t2["id"],
                reason="no_engineer_with_skill",
                message="nobody holds elevator at level 5",
            )
        )
    return {"engineers": [e1, e2], "tickets": [t1, t2, t3], "admin": h}


def test_map_redirects_to_login_when_logged_out(client: TestClient) -> None:
    """A browser without a session lands on the login form, coming back afterwards."""
    r = client.get("/map?date=2026-12-01", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/map/login?next=%2Fmap%3Fdate%3D2026-12-01"
    form = client.get(r.headers["location"])
    assert form.status_code == 200
    assert 'name="password"' in form.text
    assert 'value="/map?date=2026-12-01"' in form.text


def test_login_sets_an_httponly_strict_cookie(client: TestClient, dispatcher: str) -> None:
    """The form sets the session cookie (HttpOnly, SameSite=Strict) and goes back."""
    r = cookie_login(client, dispatcher, next_url="/map?date=2026-12-01")
    assert r.status_code == 303
    assert r.headers["location"] == "/map?date=2026-12-01"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("fieldroute_token=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    page = client.get("/map?date=2026-12-01")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_wrong_password_shows_the_form_again(client: TestClient, dispatcher: str) -> None:
    """A failed login says so and sets no cookie."""
    r = client.post(
        "/map/login",
        data={"username": dispatcher, "password": "nope", "next": "/map"},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert "Wrong username or password" in r.text
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(client: TestClient, dispatcher: str, target: str) -> None:
    """``next`` only ever names a path on this server (no open redirect)."""
    r = cookie_login(client, dispatcher, next_url=target)
    assert r.headers["location"] == "/map"


def test_logged_in_user_skips_the_form(client: TestClient, dispatcher: str) -> None:
    """Opening the form with a valid session goes straight to the map."""
    cookie_login(client, dispatcher)
    r = client.get("/map/login", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/map"


def test_logout_drops_the_cookie(client: TestClient, dispatcher: str) -> None:
    """After logging out the map asks for the login again."""
    cookie_login(client, dispatcher)
    r = client.post("/map/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/map/login"
    assert 'fieldroute_token=""' in r.headers["set-cookie"]
    assert client.get("/map", follow_redirects=False).status_code == 303


def test_page_has_no_external_url_and_local_assets(
    client: TestClient, dispatcher: str, city: dict[str, Any]
) -> None:
    """With tiles off (the test settings) the page names no outside URL; assets are served."""
    cookie_login(client, dispatcher)
    page = client.get(f"/map?date={DAY}")
    assert page.status_code == 200
    assert URL.findall(page.text) == []
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(path).status_code == 200, path
    assert 'type="date" name="date" value="2026-12-01"' in page.text


def test_map_data_routes_tickets_and_reasons(
    client: TestClient, dispatcher: str, city: dict[str, Any]
) -> None:
    """/map/data: the route with its stop, tickets, and each unassigned ticket's reason."""
    cookie_login(client, dispatcher)
    r = client.get(f"/map/data?date={DAY}")
    assert r.status_code == 200
    data = r.json()
    t1, t2, t3 = (t["id"] for t in city["tickets"])
    e1 = city["engineers"][0]["id"]
    assert data["plan"]["label"].startswith("published plan #")
    (route,) = data["routes"]["features"]
    assert route["geometry"]["type"] == "LineString"
    assert route["properties"]["engineer_id"] == e1
    (stop,) = data["stops"]["features"]
    assert stop["properties"]["eta"] == "09:30"
    assert stop["properties"]["ticket_id"] == t1
    tickets = {t["properties"]["id"]: t["properties"] for t in data["tickets"]["features"]}
    assert set(tickets) == {t1, t2, t3}
    assert tickets[t1]["eta"] == "09:30" and tickets[t1]["window"] == "09:00–11:00"
    assert tickets[t1]["customer"] == "Jing'an Dental Clinic"
    reasons = {u["ticket_id"]: u["reason"] for u in data["unassigned"]}
    assert reasons == {t2: "no_engineer_with_skill", t3: "not_planned"}
    assert data["totals"]["assigned"] == 1
    assert "Wang Lei" in data["html"]["kpis"]


def test_declined_ticket_leaves_the_route_for_the_pool(
    client: TestClient, engine: Engine, dispatcher: str, city: dict[str, Any]
) -> None:
    """Wang Lei declines t1: the map draws his route without it and lists it to place."""
    t1 = city["tickets"][0]["id"]
    e1 = city["engineers"][0]["id"]
    phone = f.headers_for(client, engine, Role.engineer, engineer_id=e1)
    r = client.post(f"/me/tickets/{t1}/decline", json={"reason": "van broke"}, headers=phone)
    assert r.status_code == 200, r.text
    cookie_login(client, dispatcher)
    data = client.get(f"/map/data?date={DAY}").json()
    assert data["stops"]["features"] == []
    pool = {u["ticket_id"]: u["reason"] for u in data["unassigned"]}
    assert pool[t1] == "not_planned"


def test_map_page_and_assets_are_compressed(
    client: TestClient, dispatcher: str, city: dict[str, Any]
) -> None:
    """Large answers travel gzipped when the browser asks; small ones stay plain."""
    cookie_login(client, dispatcher)
    gz = {"Accept-Encoding": "gzip"}
    page = client.get(f"/map?date={DAY}", headers=gz)
    assert page.status_code == 200
    assert page.headers["content-encoding"] == "gzip"
    assert "leaflet" in page.text.lower()  # decoded as usual
    small = client.get("/healthz", headers=gz)
    assert "content-encoding" not in small.headers


def test_map_data_without_plan(client: TestClient, dispatcher: str, city: dict[str, Any]) -> None:
    """Another day: no plan, no routes, the day's open tickets are listed as not planned."""
    cookie_login(client, dispatcher)
    data = client.get("/map/data?date=2026-12-05").json()
    assert data["plan"] == {"id": None, "label": "no plan for this day"}
    assert data["routes"]["features"] == []
    assert data["tickets"]["features"] == []  # their windows are on the 1st


def test_map_data_needs_a_login(client: TestClient) -> None:
    """The JSON endpoint answers 401 like the rest of the API (no redirect)."""
    assert client.get("/map/data").status_code == 401


def test_bearer_token_works_for_the_data(client: TestClient, engine: Engine) -> None:
    """Scripts may read the map data with a bearer token too."""
    h = f.headers_for(client, engine, Role.dispatcher)
    assert client.get(f"/map/data?date={DAY}", headers=h).status_code == 200


def test_engineers_cannot_open_the_dispatch_map(
    client: TestClient, engine: Engine, city: dict[str, Any]
) -> None:
    """An engineer's login leads to his own day sheet; /map and /map/data are 404 for him."""
    e1, e2 = (e["id"] for e in city["engineers"])
    name = f.make_user(engine, Role.engineer, engineer_id=e1)
    r = cookie_login(client, name)
    assert r.headers["location"] == f"/engineers/{e1}/map"
    assert client.get("/map", follow_redirects=False).status_code == 404
    assert client.get("/map/data").status_code == 404
    own = client.get(f"/engineers/{e1}/map?date={DAY}")
    assert own.status_code == 200
    assert "AC not cooling" in own.text
    assert client.get(f"/engineers/{e2}/map?date={DAY}").status_code == 404


def test_day_sheet_for_staff(client: TestClient, dispatcher: str, city: dict[str, Any]) -> None:
    """A dispatcher prints any engineer's day; unknown engineers are 404."""
    e1 = city["engineers"][0]["id"]
    cookie_login(client, dispatcher)
    page = client.get(f"/engineers/{e1}/map?date={DAY}")
    assert page.status_code == 200
    assert "@media print" in page.text
    assert "Jing&#x27;an Dental Clinic" in page.text
    assert URL.findall(page.text) == []
    assert client.get(f"/engineers/{e1 + 999}/map").status_code == 404


def test_day_sheet_redirects_to_login(client: TestClient) -> None:
    """The day sheet is a page: logged-out browsers go to the form."""
    r = client.get("/engineers/1/map", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/map/login?next=")


def test_cookie_writes_need_the_same_origin_header(client: TestClient, dispatcher: str) -> None:
    """What the page's script must send: the cookie alone cannot write (CSRF guard)."""
    cookie_login(client, dispatcher)
    body = {"name": "Via cookie", "phone": "+86 139 5555 0000"}
    assert client.post("/customers", json=body).status_code == 403
    ok = client.post("/customers", json=body, headers={"X-Requested-With": "fieldroute"})
    assert ok.status_code == 201


def test_static_files_are_served(client: TestClient) -> None:
    """Leaflet and the page script come from the app itself."""
    r = client.get("/static/vendor/leaflet/leaflet.js")
    assert r.status_code == 200 and "Leaflet" in r.text[:500]
    assert client.get("/static/fieldroute/map.js").status_code == 200


def test_default_day_is_today(client: TestClient, dispatcher: str) -> None:
    """Without ?date the map shows today in the configured zone."""
    from zoneinfo import ZoneInfo

    cookie_login(client, dispatcher)
    before = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    data = client.get("/map/data").json()
    after = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert data["day"] in {before, after}
