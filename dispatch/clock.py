"""The planning day's time base: local midnight in the company's zone, seconds from it.

Storage and the API speak timezone-aware UTC; the solver speaks integer seconds from the
start of its horizon. One :class:`DayClock` per planned day converts between the two, so
no other module does arithmetic on datetimes and zones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DayClock", "parse_day"]


@dataclass(frozen=True, slots=True)
class DayClock:
    """Seconds from local midnight of ``day`` in ``tz`` (the solver's horizon start).

    A shift that runs past midnight simply has times beyond 86 400: the horizon is not
    cut at the end of the calendar day.
    """

    day: date
    tz: str
    origin: datetime  # local midnight, as UTC
    end: datetime  # next local midnight, as UTC (23 or 25 h later on DST days)

    @classmethod
    def of(cls, day: date, tz: str) -> DayClock:
        """The clock of ``day`` in the zone named ``tz`` (IANA name)."""
        zone = ZoneInfo(tz)
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        nxt = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return cls(day=day, tz=tz, origin=start, end=nxt)

    @property
    def length(self) -> int:
        """Seconds in this calendar day (86 400 except on DST changes)."""
        return int((self.end - self.origin).total_seconds())

    def seconds(self, moment: datetime) -> int:
        """Whole seconds from the horizon start, rounded down (may be negative)."""
        return math.floor((moment - self.origin).total_seconds())

    def seconds_up(self, moment: datetime) -> int:
        """Whole seconds from the horizon start, rounded up (for deadlines and ends)."""
        return math.ceil((moment - self.origin).total_seconds())

    def at(self, seconds: int) -> datetime:
        """The UTC moment ``seconds`` after the horizon start."""
        return self.origin + timedelta(seconds=int(seconds))

    def local_minute(self, minute: int) -> int:
        """Seconds from the horizon start of a local wall-clock minute of the day."""
        local = datetime.combine(self.day, time(0), tzinfo=ZoneInfo(self.tz)) + timedelta(
            minutes=minute
        )
        return self.seconds(local.astimezone(UTC))

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls on this local calendar day."""
        return self.origin <= moment < self.end


def parse_day(text: str, tz: str, *, now: datetime | None = None) -> date:
    """``YYYY-MM-DD``, ``today`` or ``tomorrow`` (in the company's zone) as a date.

    Raises
    ------
    ValueError
        For anything else, with a message naming the accepted forms.
    """
    now = now or datetime.now(UTC)
    today = now.astimezone(ZoneInfo(tz)).date()
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: use YYYY-MM-DD, 'today' or 'tomorrow'") from None
