"""What popups and the panel say: labels, colours and local clock times.

The page script assembles popups from these strings (escaping each value);
formatting lives here so the panel, the payload and the day sheet agree.
Times are shown in the map's local zone, as the dispatcher reads a clock.
"""

from __future__ import annotations

import colorsys
import re
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "ENGINEER_STATUS_LABELS",
    "PRIORITY_COLOURS",
    "REASON_LABELS",
    "STATUS_LABELS",
    "clock",
    "default_colour",
    "safe_colour",
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
    return _clock(moment, tz, day)


@lru_cache(maxsize=8192)
def _clock(moment: datetime, tz: str, day: date | None) -> str:
    # Cached, and formatted without strftime: a 5,000-ticket map asks for
    # 35,000 clock times, mostly the same few window edges.
    local = moment.astimezone(_zone(tz))
    hm = f"{local.hour:02d}:{local.minute:02d}"
    if day is not None and local.date() != day:
        return f"{local.day:02d} {_MONTHS[local.month - 1]} {hm}"
    return hm


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=4096)
def window_text(windows: tuple[tuple[datetime, datetime], ...], tz: str, day: date) -> str:
    """Time windows as ``09:00–11:00, 14:00–16:00`` (``any time`` when none)."""
    if not windows:
        return "any time"
    return ", ".join(f"{clock(a, tz, day)}–{clock(b, tz, day)}" for a, b in windows)


ENGINEER_STATUS_LABELS = {
    "on_site": "on site",
    "travelling": "travelling",
    "planned": "route planned",
    "available": "on shift, nothing planned",
    "off_shift": "off shift",
}
