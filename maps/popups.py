"""The HTML inside popups and panel fragments, built (and escaped) in one place.

Customer names, titles and addresses are typed by people; every one of them
goes through :func:`html.escape` here, so the page script can hand these
strings to Leaflet (which sets ``innerHTML``) without a second thought.
Times are shown in the map's local zone, as the dispatcher reads a clock.
"""

from __future__ import annotations

import colorsys
import re
from datetime import date, datetime
from functools import lru_cache
from html import escape
from zoneinfo import ZoneInfo

from maps.data import EngineerView, MapData, RouteView, StopView, TicketView

__all__ = [
    "PRIORITY_COLOURS",
    "REASON_LABELS",
    "STATUS_LABELS",
    "clock",
    "default_colour",
    "engineer_popup",
    "safe_colour",
    "stop_popup",
    "ticket_popup",
    "window_text",
]

#: Fill colour of a ticket marker by priority (also used by the legend and JS).
PRIORITY_COLOURS = {
    "urgent": "#d62728",
    "high": "#ff7f0e",
    "normal": "#1f77b4",
    "low": "#8c8c8c",
}

STATUS_LABELS = {
    "new": "new",
    "scheduled": "scheduled",
    "dispatched": "dispatched",
    "accepted": "accepted",
    "travelling": "travelling",
    "on_site": "on site",
    "completed": "completed",
    "declined": "declined",
    "on_hold": "on hold",
    "cancelled": "cancelled",
}

#: Short labels for the solver's reasons (``routing.Reason``) and the map's own.
REASON_LABELS = {
    "no_engineer_with_skill": "nobody has the skills",
    "no_engineer_in_territory": "nobody covers its territory",
    "outside_all_territories": "outside every fence",
    "pinned_conflict": "pin cannot be honoured",
    "exceeds_capacity": "too big for any engineer",
    "no_shift_covers_window": "no shift covers its window",
    "exceeds_working_time": "longer than any working day",
    "window_unreachable": "window unreachable",
    "over_capacity": "every eligible day is full",
    "capacity": "every eligible day is full",
    "too_costly": "costs more than dropping it",
    "search_limit": "search stopped before placing it",
    "no_solution": "no solution found",
    "time_window_unreachable": "window unreachable",
    "not_planned": "not in the plan",
}


_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def safe_colour(colour: str | None, default: str = "#3388ff") -> str:
    """A ``#rgb``/``#rrggbb`` colour, or ``default``: colours land in style attributes."""
    return colour if colour and _COLOUR.match(colour) else default


def default_colour(key: int) -> str:
    """A distinct, stable colour for an engineer without one (golden-angle hues)."""
    hue = (key * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.42, 0.75)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


@lru_cache(maxsize=16)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def clock(moment: datetime | None, tz: str, day: date | None = None) -> str:
    """``HH:MM`` in ``tz``; prefixed by the date when it is not ``day``."""
    if moment is None:
        return "–"
    local = moment.astimezone(_zone(tz))
    if day is not None and local.date() != day:
        return local.strftime("%d %b %H:%M")
    return local.strftime("%H:%M")


def window_text(windows: tuple[tuple[datetime, datetime], ...], tz: str, day: date) -> str:
    """Time windows as ``09:00–11:00, 14:00–16:00`` (``any time`` when none)."""
    if not windows:
        return "any time"
    return ", ".join(f"{clock(a, tz, day)}–{clock(b, tz, day)}" for a, b in windows)


def _rows(pairs: list[tuple[str, str]]) -> str:
    """A two-column table; values are already-escaped HTML."""
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="fr-popup-table">{body}</table>'


def _km(metres: int) -> str:
    return f"{metres / 1000:.1f} km"


def ticket_popup(
    ticket: TicketView,
    data: MapData,
    *,
    engineer: EngineerView | None = None,
    stop: StopView | None = None,
    reason: tuple[str, str] | None = None,
    actions: bool = True,
) -> str:
    """A ticket's popup: what, who, where, when, and "find engineer" while open."""
    tz, day = data.tz, data.day
    pairs = [
        ("Customer", escape(ticket.customer)),
        ("Address", escape(ticket.address) or "–"),
        (
            "Priority",
            f'<span class="fr-prio fr-prio-{escape(ticket.priority)}">'
            f"{escape(ticket.priority)}</span>",
        ),
        ("Status", escape(STATUS_LABELS.get(ticket.status, ticket.status))),
        ("Window", escape(window_text(ticket.windows, tz, day))),
        ("SLA due", escape(clock(ticket.sla_due, tz, day))),
        ("Duration", f"{ticket.duration_min} min"),
    ]
    if ticket.skills:
        pairs.append(("Skills", escape(", ".join(ticket.skills))))
    pairs.append(
        (
            "Territory",
            escape(ticket.territory)
            if ticket.territory
            else '<span class="fr-outside">outside every fence</span>',
        )
    )
    if engineer is not None:
        pairs.append(("Engineer", escape(engineer.name)))
    if stop is not None:
        pairs.append(("ETA", escape(clock(stop.arrival, tz, day))))
    elif ticket.planned_start is not None:
        pairs.append(("Planned", escape(clock(ticket.planned_start, tz, day))))
    if reason is not None:
        code, message = reason
        label = REASON_LABELS.get(code, code)
        pairs.append(
            (
                "Unassigned",
                f'<span class="fr-reason" data-reason="{escape(code)}">{escape(label)}</span>'
                + (f"<br><small>{escape(message)}</small>" if message else ""),
            )
        )
    buttons = ""
    if actions and ticket.is_open:
        buttons = (
            '<div class="fr-popup-actions"><button type="button" class="btn btn-sm '
            f'btn-primary" data-fr-action="candidates" data-ticket="{ticket.id}">'
            "Find engineer</button></div>"
        )
    return (
        f'<div class="fr-popup" data-ticket="{ticket.id}"><h6>#{ticket.id} '
        f"{escape(ticket.title)}</h6>{_rows(pairs)}{buttons}</div>"
    )


def stop_popup(
    stop: StopView, ticket: TicketView | None, engineer: EngineerView | None, data: MapData
) -> str:
    """A route stop's popup: number, ETA, the ticket's window, customer and ticket."""
    tz, day = data.tz, data.day
    title = f"#{stop.ticket_id} {ticket.title}" if ticket else f"ticket #{stop.ticket_id}"
    pairs = [
        ("ETA", escape(clock(stop.arrival, tz, day))),
        ("Work", escape(f"{clock(stop.start, tz, day)}–{clock(stop.end, tz, day)}")),
    ]
    if ticket is not None:
        pairs += [
            ("Window", escape(window_text(ticket.windows, tz, day))),
            ("Customer", escape(ticket.customer)),
            ("Address", escape(ticket.address) or "–"),
            ("Priority", escape(ticket.priority)),
            ("SLA due", escape(clock(ticket.sla_due, tz, day))),
        ]
    if stop.wait_s:
        pairs.append(("Waits", f"{round(stop.wait_s / 60)} min"))
    pairs.append(("Leg", _km(stop.leg_m)))
    if engineer is not None:
        pairs.append(("Engineer", escape(engineer.name)))
    return (
        f'<div class="fr-popup" data-ticket="{stop.ticket_id}"><h6>Stop {stop.seq} · '
        f"{escape(title)}</h6>{_rows(pairs)}</div>"
    )


_STATUS_TEXT = {
    "on_site": "on site",
    "travelling": "travelling",
    "planned": "route planned",
    "available": "on shift, nothing planned",
    "off_shift": "off shift",
}


def engineer_popup(
    engineer: EngineerView,
    route: RouteView | None,
    data: MapData,
    *,
    day_link: str | None = None,
) -> str:
    """An engineer's popup: status, position age, shift, skills, territories, route."""
    tz, day = data.tz, data.day
    where = "home (no position yet)" if engineer.position_is_home else "last position"
    pairs = [
        ("Status", escape(_STATUS_TEXT.get(engineer.status, engineer.status))),
        ("Shown at", escape(where)),
        ("Seen", escape(clock(engineer.last_seen_at, tz, day))),
        (
            "Shift",
            escape(f"{clock(engineer.shift_start, tz, day)}–{clock(engineer.shift_end, tz, day)}")
            if engineer.shift_start
            else "none",
        ),
    ]
    if engineer.skills:
        pairs.append(("Skills", escape(", ".join(engineer.skills))))
    if engineer.territories:
        pairs.append(("Territories", escape(", ".join(engineer.territories))))
    if route is not None:
        pairs.append(
            (
                "Route",
                escape(
                    f"{len(route.stops)} stops, {_km(route.distance_m)}, "
                    f"{clock(route.start_at, tz, day)}–{clock(route.end_at, tz, day)}"
                ),
            )
        )
    link = f'<p><a href="{escape(day_link)}">Day sheet</a></p>' if day_link else ""
    swatch = f'<span class="fr-swatch" style="background:{safe_colour(engineer.colour)}"></span>'
    return (
        f'<div class="fr-popup" data-engineer="{engineer.id}"><h6>{swatch}'
        f"{escape(engineer.name)}</h6>{_rows(pairs)}{link}</div>"
    )
