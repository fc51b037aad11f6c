"""Ticket actions from the phone: the job lifecycle, GPS check-in, uploads."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crm.models import Attachment, Ticket
from crm.settings import Settings
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401


def events(client: TestClient, c: mf.Crew, ticket_id: int) -> list[dict]:
    r = client.get(f"/tickets/{ticket_id}/events", headers=c.staff)
    assert r.status_code == 200
    return r.json()


def test_full_lifecycle_records_every_step(client: TestClient, engine: Engine) -> None:
    """accept → travel → arrive (near) → complete: one event per move, with who and where."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    url = f"/me/tickets/{t['id']}"
    assert client.post(f"{url}/accept", headers=c.me).json()["status"] == "accepted"
    assert (
        client.post(f"{url}/start-travel", json={}, headers=c.me).json()["status"] == "travelling"
    )
    here = mf.far_point(30)
    r = client.post(f"{url}/arrive", json={**here, "accuracy_m": 15}, headers=c.me)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "on_site" and body["checkin_far"] is False
    assert body["checkin_distance_m"] == pytest.approx(30, abs=2)
    assert body["allowed_actions"] == ["complete", "unable_to_complete"]
    assert r.headers["etag"] == f'"{body["version"]}"'
    done = client.post(
        f"{url}/complete",
        json={
            **here,
            "outcome": "fixed",
            "notes": "New filter",
            "parts_used": [{"code": "FLT-20", "quantity": 2}],
        },
        headers=c.me,
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    trail = [(e["from_status"], e["to_status"]) for e in events(client, c, t["id"])]
    assert trail[-4:] == [
        ("dispatched", "accepted"),
        ("accepted", "travelling"),
        ("travelling", "on_site"),
        ("on_site", "completed"),
    ]
    last = events(client, c, t["id"])[-1]
    assert last["payload"]["parts_used"] == [{"code": "FLT-20", "name": "", "quantity": 2.0}]
    assert last["payload"]["outcome"] == "fixed" and last["lat"] == pytest.approx(here["lat"])
    assert last["actor"].startswith("engineer")


def test_far_checkin_is_accepted_but_flagged(client: TestClient, engine: Engine) -> None:
    """Arriving 2 km away applies, stores the distance and shows in ?flag=checkin_far."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "accept", "start-travel")
    r = client.post(
        f"/me/tickets/{t['id']}/arrive", json={**mf.far_point(2000), "accuracy_m": 20}, headers=c.me
    )
    assert r.status_code == 200
    assert r.json()["checkin_far"] is True
    assert r.json()["checkin_distance_m"] == pytest.approx(2000, rel=0.01)
    flagged = client.get("/tickets?flag=checkin_far", headers=c.staff).json()
    assert [x["id"] for x in flagged["data"]] == [t["id"]]
    assert events(client, c, t["id"])[-1]["payload"]["checkin_far"] is True


def test_accuracy_widens_the_radius_only_up_to_the_cap(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    """350 m off with 200 m accuracy passes (200 + 200); 600 m off with 5 km accuracy does not."""
    c = mf.crew(client, engine)
    ok = mf.dispatched_ticket(client, c)
    bad = mf.dispatched_ticket(client, c)
    for t in (ok, bad):
        mf.walk(client, c, t["id"], "accept", "start-travel")
    r1 = client.post(
        f"/me/tickets/{ok['id']}/arrive",
        json={**mf.far_point(350), "accuracy_m": 200},
        headers=c.me,
    )
    assert r1.json()["checkin_far"] is False
    assert settings.checkin_radius_m + settings.checkin_accuracy_cap_m < 600
    r2 = client.post(
        f"/me/tickets/{bad['id']}/arrive",
        json={**mf.far_point(600), "accuracy_m": 5000},
        headers=c.me,
    )
    assert r2.json()["checkin_far"] is True


def test_arrive_without_position_is_flagged_as_missing(client: TestClient, engine: Engine) -> None:
    """No GPS fix: the arrival applies, but the ticket is flagged and the event says why."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "accept", "start-travel")
    r = client.post(f"/me/tickets/{t['id']}/arrive", headers=c.me)
    assert r.status_code == 200
    assert r.json()["checkin_far"] is True and r.json()["checkin_distance_m"] is None
    assert events(client, c, t["id"])[-1]["payload"]["checkin_missing"] is True
    half = client.post(
        f"/me/tickets/{t['id']}/complete", json={"outcome": "fixed", "lat": 31.2}, headers=c.me
    )
    assert half.status_code == 422


def test_decline_needs_a_reason_and_returns_the_ticket_to_the_pool(
    client: TestClient, engine: Engine
) -> None:
    """No reason → 422 and nothing changes; with a reason the ticket is new and unassigned."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    url = f"/me/tickets/{t['id']}/decline"
    assert client.post(url, json={}, headers=c.me).status_code == 422
    assert client.post(url, json={"reason": "   "}, headers=c.me).status_code == 422
    r = client.post(url, json={"reason": "Van broke down"}, headers=c.me)
    assert r.status_code == 200
    assert r.json()["status"] == "new" and r.json()["engineer_id"] is None
    kinds = [e["kind"] for e in events(client, c, t["id"])]
    assert kinds[-2:] == ["transition", "returned_to_pool"]
    assert events(client, c, t["id"])[-2]["payload"]["reason"] == "Van broke down"


def test_accepting_a_scheduled_ticket_records_the_implied_dispatch(
    client: TestClient, engine: Engine
) -> None:
    """A published (scheduled) ticket accepted from the phone: scheduled → dispatched → accepted."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c, status="scheduled")
    r = client.post(f"/me/tickets/{t['id']}/accept", headers=c.me)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    ev = events(client, c, t["id"])
    assert [(e["from_status"], e["to_status"]) for e in ev[-2:]] == [
        ("scheduled", "dispatched"),
        ("dispatched", "accepted"),
    ]
    assert ev[-2]["payload"]["implied_by"] == "accept"


def test_illegal_action_is_409_with_possible_actions(client: TestClient, engine: Engine) -> None:
    """Completing a ticket not yet on site is 409 naming what is possible; nothing changes."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    r = client.post(f"/me/tickets/{t['id']}/complete", json={"outcome": "fixed"}, headers=c.me)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "illegal_transition" and body["allowed_actions"] == ["accept", "decline"]
    assert client.get(f"/tickets/{t['id']}", headers=c.staff).json()["status"] == "dispatched"


def test_unable_to_complete_puts_the_ticket_on_hold(client: TestClient, engine: Engine) -> None:
    """Unable to complete (reason required) → on_hold, still his; the dispatcher can resume it."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "accept", "start-travel")
    mf.walk(client, c, t["id"], "arrive", **mf.far_point(10))
    url = f"/me/tickets/{t['id']}/unable-to-complete"
    assert client.post(url, json={}, headers=c.me).status_code == 422
    r = client.post(url, json={"reason": "Part out of stock"}, headers=c.me)
    assert r.status_code == 200 and r.json()["status"] == "on_hold"
    assert r.json()["engineer_id"] == c.engineer_id
    assert events(client, c, t["id"])[-1]["payload"]["reason"] == "Part out of stock"
    back = client.post(f"/tickets/{t['id']}/transitions", json={"to": "on_site"}, headers=c.staff)
    assert back.status_code == 200 and back.json()["status"] == "on_site"


def test_reassigned_ticket_is_409_for_the_former_engineer(
    client: TestClient, engine: Engine
) -> None:
    """After declining, acting on the ticket says it is no longer yours (409), not 404."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "decline", reason="Sick")
    r = client.post(f"/me/tickets/{t['id']}/accept", headers=c.me)
    assert r.status_code == 409 and r.json()["code"] == "ticket_reassigned"


def test_complete_with_photo_and_signature(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    """Multipart completion stores both images under var/uploads with their SHA-256."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "accept", "start-travel")
    mf.walk(client, c, t["id"], "arrive", **mf.far_point(5))
    r = client.post(
        f"/me/tickets/{t['id']}/complete",
        data={"data": '{"outcome": "fixed", "notes": "signed"}'},
        files={
            "photo": ("p.jpg", mf.JPEG, "image/jpeg"),
            "signature": ("s.png", mf.PNG, "application/octet-stream"),
        },
        headers=c.me,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed"
    kinds = {a["kind"]: a for a in body["attachments"]}
    assert kinds["photo"]["content_type"] == "image/jpeg"
    assert kinds["signature"]["content_type"] == "image/png"
    assert kinds["photo"]["sha256"] == hashlib.sha256(mf.JPEG).hexdigest()
    with Session(engine) as s:
        rows = s.exec(select(Attachment).where(Attachment.ticket_id == t["id"])).all()
    assert len(rows) == 2
    for row in rows:
        stored = settings.var_dir / row.path
        assert stored.is_file() and hashlib.sha256(stored.read_bytes()).hexdigest() == row.sha256


@pytest.mark.parametrize(
    ("payload", "ctype", "status"),
    [
        (b"<html><script>alert(1)</script></html>", "image/jpeg", 415),
        (mf.PNG, "image/jpeg", 415),
        (b"GIF89a" + b"\x00" * 50, "image/gif", 415),
        (b"", "image/png", 422),
    ],
)
def test_bad_uploads_are_refused_and_nothing_changes(
    client: TestClient, engine: Engine, settings: Settings, payload: bytes, ctype: str, status: int
) -> None:
    """Content is sniffed: HTML as .jpg, a PNG declared JPEG, a GIF, an empty file: refused."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "accept", "start-travel")
    mf.walk(client, c, t["id"], "arrive", **mf.far_point(5))
    r = client.post(
        f"/me/tickets/{t['id']}/complete",
        data={"data": '{"outcome": "fixed"}'},
        files={"photo": ("p.jpg", payload, ctype)},
        headers=c.me,
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/tickets/{t['id']}", headers=c.staff).json()["status"] == "on_site"
    assert not (settings.var_dir / "uploads").exists()


def test_upload_over_the_size_limit_is_413(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    """A photo one byte over settings.upload_max_bytes is 413 and the ticket stays on site."""
    settings.upload_max_bytes = 1000
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    mf.walk(client, c, t["id"], "accept", "start-travel")
    mf.walk(client, c, t["id"], "arrive", **mf.far_point(5))
    big = mf.JPEG + b"\x00" * (1001 - len(mf.JPEG))
    r = client.post(
        f"/me/tickets/{t['id']}/complete",
        data={"data": '{"outcome": "fixed"}'},
        files={"photo": ("p.jpg", big, "image/jpeg")},
        headers=c.me,
    )
    assert r.status_code == 413
    huge = mf.JPEG + b"\x00" * 100_000
    r = client.post(
        f"/me/tickets/{t['id']}/complete",
        data={"data": '{"outcome": "fixed"}'},
        files={"photo": ("p.jpg", huge, "image/jpeg")},
        headers=c.me,
    )
    assert r.status_code == 413
    assert client.get(f"/tickets/{t['id']}", headers=c.staff).json()["status"] == "on_site"


def test_attachment_endpoint_then_complete_referencing_it(
    client: TestClient, engine: Engine
) -> None:
    """A photo uploaded on its own (twice: one row) is linked by id when completing."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    url = f"/me/tickets/{t['id']}"
    early = client.post(
        f"{url}/attachments",
        data={"kind": "photo"},
        files={"file": ("p.jpg", mf.JPEG, "image/jpeg")},
        headers=c.me,
    )
    assert early.status_code == 422  # not on site yet
    mf.walk(client, c, t["id"], "accept", "start-travel")
    mf.walk(client, c, t["id"], "arrive", **mf.far_point(5))
    a1 = client.post(
        f"{url}/attachments",
        data={"kind": "photo"},
        files={"file": ("p.jpg", mf.JPEG, "image/jpeg")},
        headers=c.me,
    )
    a2 = client.post(
        f"{url}/attachments",
        data={"kind": "photo"},
        files={"file": ("again.jpg", mf.JPEG, "image/jpeg")},
        headers=c.me,
    )
    assert a1.status_code == 200 and a1.json()["id"] == a2.json()["id"]
    bogus = client.post(
        f"{url}/complete", json={"outcome": "fixed", "attachment_ids": [999]}, headers=c.me
    )
    assert bogus.status_code == 422
    r = client.post(
        f"{url}/complete",
        json={"outcome": "fixed", "attachment_ids": [a1.json()["id"]]},
        headers=c.me,
    )
    assert r.status_code == 200 and [a["id"] for a in r.json()["attachments"]] == [a1.json()["id"]]
    # The dispatcher sees the proof of the visit, byte for byte.
    listed = client.get(f"/tickets/{t['id']}/attachments", headers=c.staff)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()] == [a1.json()["id"]]
    photo = client.get(f"/tickets/{t['id']}/attachments/{a1.json()['id']}", headers=c.staff)
    assert photo.status_code == 200
    assert photo.content == mf.JPEG and photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["etag"] == f'"{a1.json()["sha256"]}"'
    missing = client.get(f"/tickets/{t['id']}/attachments/999", headers=c.staff)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_bad_bodies_are_422_problem_json(client: TestClient, engine: Engine) -> None:
    """Out-of-range coordinates, lat without lon, unknown fields, bad JSON: 422, nothing applied."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    url = f"/me/tickets/{t['id']}/accept"
    for body in (
        {"lat": 91, "lon": 0},
        {"lat": 10},
        {"colour": "red"},
        {"lat": 1, "lon": 1, "accuracy_m": -1},
    ):
        r = client.post(url, json=body, headers=c.me)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(
        f"/me/tickets/{t['id']}/complete",
        content=b"{not json",
        headers={**c.me, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    with Session(engine) as s:
        assert s.get(Ticket, t["id"]).status == "dispatched"
