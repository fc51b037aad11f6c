"""The status machine table itself, without HTTP."""

from __future__ import annotations

import itertools

import pytest

from crm.models import TicketStatus as S
from crm.status import FINAL, allowed_from

ALL = list(S)


def test_happy_path_is_allowed_step_by_step() -> None:
    """new → scheduled → dispatched → accepted → travelling → on_site → completed."""
    path = [S.new, S.scheduled, S.dispatched, S.accepted, S.travelling, S.on_site, S.completed]
    for a, b in itertools.pairwise(path):
        assert b in allowed_from(a), (a, b)


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_states_allow_nothing(final: S) -> None:
    """Completed and cancelled tickets never move again."""
    assert allowed_from(final) == []


@pytest.mark.parametrize("state", [s for s in ALL if s not in FINAL and s is not S.declined])
def test_cancel_from_every_open_state(state: S) -> None:
    """Any non-final state may be cancelled."""
    assert S.cancelled in allowed_from(state, held_from=S.scheduled)


def test_on_hold_returns_to_where_it_came_from() -> None:
    """A held ticket goes back to the status it was held from (or to the pool)."""
    assert set(allowed_from(S.on_hold, held_from=S.accepted)) == {S.accepted, S.new, S.cancelled}
    assert set(allowed_from(S.on_hold, held_from=None)) == {S.new, S.cancelled}


def test_decline_only_after_dispatch() -> None:
    """Only a ticket offered to an engineer can be declined."""
    can = {s for s in ALL if S.declined in allowed_from(s)}
    assert can == {S.dispatched, S.accepted}
