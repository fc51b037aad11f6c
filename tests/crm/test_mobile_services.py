"""Mobile services below the API: iCalendar text, sniffing, the action table,
and idempotency under a real race between two database sessions."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from api.routers.me import _wants_calendar
from crm.models import TicketEvent, TicketStatus, User
from crm.schemas.mobile import AcceptBody, Action, MyDay
from crm.services import attachments, idempotency, mobile
from crm.services.common import Actor
from crm.services.idempotency import Outcome
from crm.services.tickets import CheckinPolicy
from crm.services.writes import begin_write
from crm.status import is_allowed
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401

S = TicketStatus


def test_ics_lines_fold_at_75_octets_without_splitting_characters() -> None:
    """A long line of multi-byte text folds into ≤75-octet lines that unfold to the original."""
    line = "SUMMARY:" + "空调维修，" * 30
    folded = mobile._fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts) and len(parts) > 1
    assert all(p.startswith(" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line


def test_ics_text_escaping() -> None:
    """Backslash, semicolon, comma and newlines are escaped per RFC 5545 §3.3.11."""
    assert mobile._ics_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_empty_day_renders_stable_bytes() -> None:
    """The same empty day renders the same bytes twice (so its ETag is stable)."""
    day = MyDay(date=date(2026, 12, 1), engineer_id=1, note="nothing")
    assert mobile.day_ics(day, engineer="Wang") == mobile.day_ics(day, engineer="Wang")
    assert mobile.content_etag(mobile.day_json(day)) == mobile.content_etag(mobile.day_json(day))


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"GIF89a", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_sniff_recognises_only_the_three_image_types(head: bytes, kind: str | None) -> None:
    """Magic bytes decide: JPEG, PNG, WebP yes; WAV in RIFF, GIF, PDF, nothing: no."""
    assert attachments.sniff(head) == kind


def test_every_action_is_a_legal_move_of_the_status_machine() -> None:
    """Each action's source → target is allowed by crm.status (scheduled goes via dispatched)."""
    for action, (sources, target) in mobile.MOVES.items():
        for source in sources:
            via = S.dispatched if source is S.scheduled else source
            if source is S.scheduled:
                assert is_allowed(S.scheduled, S.dispatched), action
            assert is_allowed(via, target), (action, source)
    assert mobile.allowed_actions(S.completed) == []
    assert mobile.allowed_actions(S.on_site) == [Action.complete, Action.unable_to_complete]


def test_fingerprint_ignores_key_order() -> None:
    """Two renderings of the same JSON have one fingerprint; another value changes it."""
    assert idempotency.fingerprint({"a": 1, "b": [1, 2]}) == idempotency.fingerprint(
        {"b": [1, 2], "a": 1}
    )
    assert idempotency.fingerprint({"a": 1}) != idempotency.fingerprint({"a": 2})


@pytest.mark.parametrize(
    ("accept", "calendar"),
    [
        (None, False),
        ("*/*", False),
        ("text/calendar", True),
        ("text/calendar, application/json;q=0.9", True),
        ("application/json, text/calendar;q=0.5", False),
        ("text/*", True),
        ("text/calendar;q=0", False),
    ],
)
def test_content_negotiation(accept: str | None, calendar: bool) -> None:
    """JSON unless the client prefers iCalendar by its Accept weights."""
    assert _wants_calendar(accept) is calendar


def test_twin_requests_racing_in_two_sessions_apply_once(
    client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    """The second of two identical keyed requests waits for the first, then replays its answer."""
    c = mf.crew(client, engine)
    t = mf.dispatched_ticket(client, c)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.engineer_id == c.engineer_id)).one()
        user_id = user.id or 0
        actor = Actor(name=user.username, user_id=user_id, role="engineer")
    ctx = mobile.ActionContext(
        actor=actor,
        engineer_id=c.engineer_id,
        policy=CheckinPolicy(),
        var_dir=tmp_path,
        upload_max_bytes=1000,
    )

    def attempt(session: Session) -> Outcome:
        begin_write(session)
        return idempotency.run_once(
            session,
            user_id=user_id,
            key="twin",
            method="POST",
            path="/p",
            request_hash="h",
            apply=lambda: mobile.perform(
                session, ctx=ctx, ticket_id=t["id"], action=Action.accept, body=AcceptBody()
            ).model_dump(mode="json"),
        )

    results: dict[str, Outcome] = {}
    first = Session(engine, expire_on_commit=False)
    second = Session(engine, expire_on_commit=False)
    try:
        results["first"] = attempt(first)  # claimed, not yet committed

        def twin() -> None:
            results["second"] = attempt(second)
            second.commit()

        worker = threading.Thread(target=twin)
        worker.start()
        time.sleep(0.3)  # let the twin reach the lock / the key's unique index and wait there
        first.commit()
        worker.join(timeout=60)
    finally:
        first.close()
        second.close()
    assert not results["first"].replayed and results["second"].replayed
    assert results["second"].body == results["first"].body
    with Session(engine) as s:
        accepted = s.exec(
            select(func.count())
            .select_from(TicketEvent)
            .where(TicketEvent.ticket_id == t["id"], TicketEvent.to_status == "accepted")
        ).one()
    assert accepted == 1
