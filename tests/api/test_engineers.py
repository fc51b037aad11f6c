"""Engineers with skills, shifts, absences and territory memberships."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.models import Role
from tests import factories as f


def test_engineer_with_skills_and_levels(client: TestClient, engine: Engine) -> None:
    """Skills are stored with levels; unknown codes and bad levels are 422."""
    h = f.headers_for(client, engine, Role.dispatcher)
    f.skill(client, h, "hvac")
    f.skill(client, h, "electrical")
    e = f.engineer(
        client, h, skills=[{"code": "hvac", "level": 4}, {"code": "electrical", "level": 2}]
    )
    assert {(s["code"], s["level"]) for s in e["skills"]} == {("hvac", 4), ("electrical", 2)}
    bad_level = client.post(
        "/engineers",
        json={
            "name": "x",
            "home_lat": 31,
            "home_lon": 121,
            "skills": [{"code": "hvac", "level": 6}],
        },
        headers=h,
    )
    assert bad_level.status_code == 422
    unknown = client.post(
        "/engineers",
        json={
            "name": "x",
            "home_lat": 31,
            "home_lon": 121,
            "skills": [{"code": "plumbing", "level": 2}],
        },
        headers=h,
    )
    assert unknown.status_code == 422 and "plumbing" in unknown.json()["detail"]
    assert client.get("/engineers?skill=hvac", headers=h).json()["count"] == 1


def test_skill_only_change_bumps_version(client: TestClient, engine: Engine) -> None:
    """Replacing only the skills is a change: the ETag moves, so stale writers get 412."""
    h = f.headers_for(client, engine, Role.dispatcher)
    f.skill(client, h, "hvac")
    e = f.engineer(client, h)
    url = f"/engineers/{e['id']}"
    r = client.patch(
        url,
        json={"skills": [{"code": "hvac", "level": 1}]},
        headers={**h, "If-Match": f'"{e["version"]}"'},
    )
    assert r.status_code == 200 and r.json()["version"] == e["version"] + 1
    stale = client.patch(url, json={"name": "x"}, headers={**h, "If-Match": f'"{e["version"]}"'})
    assert stale.status_code == 412


def test_invalid_coordinates_are_422(client: TestClient, engine: Engine) -> None:
    """Latitude beyond ±90, longitude beyond ±180 and non-finite numbers are refused."""
    h = f.headers_for(client, engine, Role.dispatcher)
    for lat, lon in ((91, 0), (0, 181), (-90.5, 0)):
        r = client.post(
            "/engineers", json={"name": "x", "home_lat": lat, "home_lon": lon}, headers=h
        )
        assert r.status_code == 422, (lat, lon)
    r = client.post(
        "/engineers",
        content='{"name":"x","home_lat":NaN,"home_lon":0}',
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code == 422


def test_shifts_one_per_day_and_break_inside(client: TestClient, engine: Engine) -> None:
    """A shift per engineer per day; its break must lie inside it."""
    h = f.headers_for(client, engine, Role.dispatcher)
    e = f.engineer(client, h)
    url = f"/engineers/{e['id']}/shifts"
    shift = {
        "day": "2026-12-01",
        "start_at": f.at(8),
        "end_at": f.at(17),
        "break_earliest_at": f.at(11, 30),
        "break_latest_at": f.at(13),
        "break_minutes": 45,
    }
    r = client.post(url, json=shift, headers=h)
    assert r.status_code == 201, r.text
    assert client.post(url, json=shift, headers=h).status_code == 409
    bad = {**shift, "day": "2026-12-02", "break_latest_at": f.at(18)}
    assert client.post(url, json=bad, headers=h).status_code == 422
    backwards = {**shift, "day": "2026-12-03", "end_at": f.at(7)}
    assert client.post(url, json=backwards, headers=h).status_code == 422
    listed = client.get(f"{url}?date_from=2026-12-01&date_to=2026-12-01", headers=h).json()
    assert listed["count"] == 1 and listed["data"][0]["break_minutes"] == 45
    sid = r.json()["id"]
    moved = client.patch(
        f"{url}/{sid}", json={"end_at": f.at(18)}, headers={**h, "If-Match": r.headers["etag"]}
    )
    assert moved.status_code == 200 and moved.json()["end_at"].startswith("2026-12-01T10:00")
    broken = client.patch(
        f"{url}/{sid}", json={"end_at": f.at(7)}, headers={**h, "If-Match": moved.headers["etag"]}
    )
    assert broken.status_code == 422


def test_absences(client: TestClient, engine: Engine) -> None:
    """Absences are recorded and listed; an end before the start is 422."""
    h = f.headers_for(client, engine, Role.dispatcher)
    e = f.engineer(client, h)
    url = f"/engineers/{e['id']}/absences"
    ok = client.post(
        url, json={"start_at": f.at(8), "end_at": f.at(12), "reason": "doctor"}, headers=h
    )
    assert ok.status_code == 201
    assert (
        client.post(url, json={"start_at": f.at(12), "end_at": f.at(8)}, headers=h).status_code
        == 422
    )
    assert client.get(url, headers=h).json()["count"] == 1


def test_engineer_sees_only_himself(client: TestClient, engine: Engine) -> None:
    """An engineer reads his own record and shifts; another engineer's are 404."""
    h = f.headers_for(client, engine, Role.dispatcher)
    me, other = f.engineer(client, h), f.engineer(client, h)
    mine = f.headers_for(client, engine, Role.engineer, engineer_id=me["id"])
    assert client.get(f"/engineers/{me['id']}", headers=mine).status_code == 200
    assert client.get(f"/engineers/{other['id']}", headers=mine).status_code == 404
    assert client.get(f"/engineers/{other['id']}/shifts", headers=mine).status_code == 404
    assert client.get("/engineers", headers=mine).status_code == 404


def test_engineer_with_history_cannot_be_deleted(client: TestClient, engine: Engine) -> None:
    """An engineer who has tickets is deactivated, not deleted."""
    h = f.headers_for(client, engine, Role.dispatcher)
    e = f.engineer(client, h)
    c = f.customer(client, h)
    s = f.site(client, h, c["id"])
    t = f.ticket(client, h, c["id"], s["id"])
    client.post(
        f"/tickets/{t['id']}/transitions",
        json={"to": "scheduled", "engineer_id": e["id"]},
        headers=h,
    )
    r = client.delete(f"/engineers/{e['id']}", headers={**h, "If-Match": f'"{e["version"]}"'})
    assert r.status_code == 409 and "active=false" in r.json()["detail"]
