"""The ticket status machine, in one table so the API, the mobile app and the
planner agree on what may follow what."""

from __future__ import annotations

from crm.models.enums import TicketStatus as S

FINAL: frozenset[S] = frozenset({S.completed, S.cancelled})

# Forward moves. `declined` is a move of its own: the ticket returns to `new`
# (back to the pool) and the event history keeps the decline. `on_hold` goes
# back to the status it was held from (see `allowed_from`).
_FORWARD: dict[S, tuple[S, ...]] = {
    S.new: (S.scheduled, S.dispatched),
    S.scheduled: (S.dispatched, S.new),
    S.dispatched: (S.accepted, S.declined),
    S.accepted: (S.travelling, S.declined),
    S.travelling: (S.on_site,),
    S.on_site: (S.completed,),
}


def allowed_from(current: S, held_from: S | None = None) -> list[S]:
    """Every status a ticket in ``current`` may move to next."""
    if current in FINAL:
        return []
    if current is S.on_hold:
        back = held_from or S.new
        return [back, S.cancelled] if back is S.new else [back, S.new, S.cancelled]
    moves = list(_FORWARD.get(current, ()))
    moves += [S.on_hold, S.cancelled]
    return moves


def is_allowed(current: S, wanted: S, held_from: S | None = None) -> bool:
    return wanted in allowed_from(current, held_from)


# Statuses in which a ticket needs an engineer.
NEEDS_ENGINEER: frozenset[S] = frozenset(
    {S.dispatched, S.accepted, S.travelling, S.on_site, S.completed}
)
# Statuses the planner may (re)assign.
PLANNABLE: frozenset[S] = frozenset({S.new, S.scheduled})
