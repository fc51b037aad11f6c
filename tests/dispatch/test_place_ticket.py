"""``place_ticket``: the one way assign and re-optimise write a ticket's new place.

The history must read the same whoever wrote it: scheduled, moved, retimed, or (a shift
under a minute) no event at all.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm.coltypes import utcnow
from crm.models import Ticket, TicketEvent, TicketStatus
from crm.services.common import Actor
from dispatch.today import place_ticket
from tests.dispatch.world import World, local

ACTOR = Actor(name="dispatcher")


def _events(s: Session, ticket_id: int) -> list[TicketEvent]:
    return list(
        s.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(col(TicketEvent.id))
        )
    )


def _place(s: Session, ticket_id: int, engineer: int, start_h: float) -> str | None:
    t = s.get(Ticket, ticket_id)
    assert t is not None
    return place_ticket(
        s,
        t,
        engineer_id=engineer,
        start=local(start_h),
        end=local(start_h + 0.5),
        actor=ACTOR,
        now=utcnow(),
        payload={"source": "test"},
    )


def test_new_ticket_is_scheduled_with_a_transition(engine: Engine) -> None:
    w = World(engine).setup()
    w.engineer("Ann")
    t = w.ticket()
    with Session(engine) as s:
        assert _place(s, t, w.engineers["Ann"], 9) == "scheduled"
        ticket = s.get(Ticket, t)
        assert ticket is not None
        assert ticket.status == TicketStatus.scheduled
        assert ticket.engineer_id == w.engineers["Ann"]
        assert ticket.planned_start == local(9)
        (ev,) = _events(s, t)
        assert (ev.kind, ev.from_status, ev.to_status) == ("transition", "new", "scheduled")
        assert ev.payload == {"source": "test", "planned_start": local(9).isoformat()}


def test_moved_retimed_and_small_shifts(engine: Engine) -> None:
    w = World(engine).setup()
    w.engineer("Ann")
    w.engineer("Bob")
    ann, bob = w.engineers["Ann"], w.engineers["Bob"]
    t = w.ticket(status=TicketStatus.scheduled, engineer="Ann", planned=(9, 9.5))
    with Session(engine) as s:
        assert _place(s, t, bob, 9) == "moved"
        assert _events(s, t)[-1].payload == {"source": "test", "engineer": [ann, bob]}
        assert _place(s, t, bob, 10) == "retimed"
        assert _events(s, t)[-1].payload == {
            "source": "test",
            "planned_start": [local(9).isoformat(), local(10).isoformat()],
        }
        # Thirty seconds later: new times, no event.
        assert _place(s, t, bob, 10 + 30 / 3600) is None
        assert len(_events(s, t)) == 2
        ticket = s.get(Ticket, t)
        assert ticket is not None
        assert ticket.planned_start == local(10) + timedelta(seconds=30)
        assert ticket.status == TicketStatus.scheduled
