"""My day: the published route as JSON and iCalendar, with content ETags."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories as f
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401

DAY = mf.DAY.isoformat()


def test_day_lists_stops_in_route_order_with_everything_needed(
    client: TestClient, engine: Engine
) -> None:
    """Stops come in route order with customer, site, contact, windows, times, skills, notes."""
    c = mf.crew(client, engine)
    f.skill(client, c.staff, "hvac")
    first = mf.dispatched_ticket(
        client,
        c,
        title="Boiler",
        description="Leaks at night",
        required_skills=[{"code": "hvac", "min_level": 2}],
        windows=[{"start": f.at(9), "end": f.at(12)}],
    )
    second = mf.dispatched_ticket(client, c, title="Filter")
    site_id = first["site_id"]
    contact = client.post(
        "/contacts",
        json={"site_id": site_id, "name": "Ms Li", "phone": "13800000001", "role": "owner"},
        headers=c.staff,
    )
    assert contact.status_code == 201, contact.text
    mf.publish_route(engine, c.engineer_id, [second["id"], first["id"]])
    r = client.get(f"/me/day?date={DAY}", headers=c.me)
    assert r.status_code == 200
    day = r.json()
    assert day["note"] is None and day["distance_m"] == 12_345
    assert [s["ticket_id"] for s in day["stops"]] == [second["id"], first["id"]]
    boiler = day["stops"][1]
    assert boiler["title"] == "Boiler" and boiler["description"] == "Leaks at night"
    assert boiler["site"]["lat"] == mf.SITE_LAT and boiler["site"]["address"] == "1 Test Rd"
    assert boiler["contact"]["name"] == "Ms Li" and boiler["contact"]["phone"]
    assert boiler["required_skills"] == [{"code": "hvac", "name": "HVAC", "min_level": 2}]
    assert len(boiler["windows"]) == 1
    assert boiler["customer_name"].startswith("Customer")
    assert boiler["planned_arrival"] < boiler["planned_start"] < boiler["planned_end"]
    assert boiler["allowed_actions"] == ["accept", "decline"]


def test_no_published_plan_is_an_empty_day_with_a_note(client: TestClient, engine: Engine) -> None:
    """No published route: 200 with no stops and a note saying so (not a 404)."""
    c = mf.crew(client, engine)
    r = client.get(f"/me/day?date={DAY}", headers=c.me)
    assert r.status_code == 200
    assert r.json()["stops"] == [] and "no published route" in r.json()["note"]
    assert client.get("/me/day?date=2026-13-01", headers=c.me).status_code == 422


def test_unchanged_day_is_304_and_a_change_moves_the_etag(
    client: TestClient, engine: Engine
) -> None:
    """If-None-Match with the day's ETag is 304; accepting a stop changes the ETag."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.publish_route(engine, c.engineer_id, [t["id"]])
    url = f"/me/day?date={DAY}"
    tag = client.get(url, headers=c.me).headers["etag"]
    again = client.get(url, headers={**c.me, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert client.get(url, headers={**c.me, "If-None-Match": f'"x", W/{tag}'}).status_code == 304
    mf.walk(client, c, t["id"], "accept")
    changed = client.get(url, headers={**c.me, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["stops"][0]["status"] == "accepted"


def test_stops_no_longer_mine_are_left_out(client: TestClient, engine: Engine) -> None:
    """A declined stop leaves the day; the other stays."""
    c = mf.crew(client, engine)
    keep = mf.dispatched_ticket(client, c)
    gone = mf.dispatched_ticket(client, c)
    mf.publish_route(engine, c.engineer_id, [gone["id"], keep["id"]])
    mf.walk(client, c, gone["id"], "decline", reason="Too far")
    stops = client.get(f"/me/day?date={DAY}", headers=c.me).json()["stops"]
    assert [s["ticket_id"] for s in stops] == [keep["id"]]


def test_day_as_icalendar(client: TestClient, engine: Engine) -> None:
    """day.ics and Accept: text/calendar give RFC 5545 text: CRLF, folded lines, stable UIDs."""
    c = mf.crew(client, engine)
    long_title = "Heat pump, upstairs; " + "very " * 20 + "noisy"
    t = mf.dispatched_ticket(client, c, title=long_title[:200])
    mf.publish_route(engine, c.engineer_id, [t["id"]])
    r = client.get(f"/me/day.ics?date={DAY}", headers=c.me)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    text = r.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "\n" not in text.replace("\r\n", "")
    unfolded = text.replace("\r\n ", "")
    assert text.count("BEGIN:VEVENT") == 1
    uid = f"UID:ticket-{t['id']}-{mf.DAY.strftime('%Y%m%d')}@fieldroute"
    assert uid in unfolded
    assert "SUMMARY:#" in unfolded and "Heat pump\\, upstairs\\; very" in unfolded
    assert re.search(r"DTSTART:\d{8}T\d{6}Z", unfolded)
    assert f"GEO:{mf.SITE_LAT:.6f};{mf.SITE_LON:.6f}" in unfolded
    negotiated = client.get(f"/me/day?date={DAY}", headers={**c.me, "Accept": "text/calendar"})
    assert negotiated.content == r.content and negotiated.headers["etag"] == r.headers["etag"]
    assert (
        client.get(
            f"/me/day.ics?date={DAY}", headers={**c.me, "If-None-Match": r.headers["etag"]}
        ).status_code
        == 304
    )
    jsonish = client.get(
        f"/me/day?date={DAY}", headers={**c.me, "Accept": "application/json, text/calendar;q=0.5"}
    )
    assert jsonish.headers["content-type"].startswith("application/json")


def test_empty_day_as_icalendar(client: TestClient, engine: Engine) -> None:
    """An empty day is a calendar with no events."""
    c = mf.crew(client, engine)
    r = client.get(f"/me/day.ics?date={DAY}", headers=c.me)
    assert r.status_code == 200 and "BEGIN:VEVENT" not in r.text and "END:VCALENDAR" in r.text


def test_day_is_engineers_only(client: TestClient, engine: Engine) -> None:
    """Staff get 403 (the phone API is not theirs), no token 401."""
    c = mf.crew(client, engine)
    assert client.get("/me/day", headers=c.staff).status_code == 403
    assert client.get("/me/day").status_code == 401
    assert client.post("/me/locations", json={"points": []}).status_code == 401
