"""A small world of records for dispatch tests, written straight through the ORM.

The API factories (``tests/factories.py``) go through HTTP, which is right for API tests
but slow for planning tests that need dozens of tickets. Everything here is on the test
day ``DAY`` in Shanghai time (UTC+8): ``local(9)`` is 09:00 there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.models import (
    Absence,
    Customer,
    Engineer,
    EngineerSkill,
    EngineerTerritory,
    Priority,
    Shift,
    Site,
    Skill,
    Territory,
    TerritoryRole,
    Ticket,
    TicketSkill,
    TicketStatus,
    TicketWindow,
)

DAY = date(2026, 12, 1)
TZ = "Asia/Shanghai"
LAT0, LON0 = 31.20, 121.40


def local(hour: float, day: date = DAY) -> datetime:
    """A UTC datetime for a local (UTC+8) wall-clock hour on ``day``."""
    base = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=8)
    return base + timedelta(seconds=round(hour * 3600))


def square(lat: float, lon: float, size: float) -> dict[str, Any]:
    """A GeoJSON polygon: the square with south-west corner (lat, lon), side in degrees."""
    ring = [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class World:
    """Ids of what was created, by name."""

    engine: Engine
    customer_id: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    territories: dict[str, int] = field(default_factory=dict)
    engineers: dict[str, int] = field(default_factory=dict)
    tickets: list[int] = field(default_factory=list)

    def setup(self, skills: Sequence[str] = ("hvac", "elec")) -> World:
        with session_scope(self.engine) as s:
            c = Customer(name="Acme", phone=None)
            s.add(c)
            for code in skills:
                sk = Skill(code=code, name=code.upper())
                s.add(sk)
                s.flush()
                assert sk.id is not None
                self.skills[code] = sk.id
            s.flush()
            assert c.id is not None
            self.customer_id = c.id
        return self

    def territory(self, name: str, *, lat: float = LAT0, lon: float = LON0, size: float = 0.1):
        with session_scope(self.engine) as s:
            t = Territory(name=name, geometry=square(lat, lon, size))
            s.add(t)
            s.flush()
            assert t.id is not None
            self.territories[name] = t.id
        return self.territories[name]

    def engineer(
        self,
        name: str,
        *,
        lat: float = LAT0,
        lon: float = LON0,
        skills: dict[str, int] | None = None,
        primary: Sequence[str] = (),
        secondary: Sequence[str] = (),
        shift: tuple[float, float] | None = (8, 17),
        lunch: tuple[float, float, int] | None = None,
        day: date = DAY,
        max_work_minutes: int | None = None,
        absences: Sequence[tuple[float, float]] = (),
    ) -> int:
        with session_scope(self.engine) as s:
            e = Engineer(name=name, home_lat=lat, home_lon=lon, max_work_minutes=max_work_minutes)
            s.add(e)
            s.flush()
            assert e.id is not None
            for code, level in (skills if skills is not None else {"hvac": 3}).items():
                s.add(EngineerSkill(engineer_id=e.id, skill_id=self.skills[code], level=level))
            for tname in primary:
                s.add(
                    EngineerTerritory(
                        engineer_id=e.id,
                        territory_id=self.territories[tname],
                        role=TerritoryRole.primary,
                    )
                )
            for tname in secondary:
                s.add(
                    EngineerTerritory(
                        engineer_id=e.id,
                        territory_id=self.territories[tname],
                        role=TerritoryRole.secondary,
                    )
                )
            if shift is not None:
                sh = Shift(
                    engineer_id=e.id,
                    day=day,
                    start_at=local(shift[0], day),
                    end_at=local(shift[1], day),
                )
                if lunch is not None:
                    sh.break_earliest_at = local(lunch[0], day)
                    sh.break_latest_at = local(lunch[1], day)
                    sh.break_minutes = lunch[2]
                s.add(sh)
            for a, b in absences:
                s.add(Absence(engineer_id=e.id, start_at=local(a, day), end_at=local(b, day)))
            self.engineers[name] = e.id
        return self.engineers[name]

    def ticket(
        self,
        *,
        lat: float = LAT0,
        lon: float = LON0,
        territory: str | None = None,
        duration_min: int = 30,
        priority: Priority = Priority.normal,
        skills: dict[str, int] | None = None,
        windows: Sequence[tuple[float, float]] = (),
        sla: float | None = None,
        status: TicketStatus = TicketStatus.new,
        engineer: str | None = None,
        planned: tuple[float, float] | None = None,
        day: date = DAY,
    ) -> int:
        with session_scope(self.engine) as s:
            site = Site(
                customer_id=self.customer_id,
                lat=lat,
                lon=lon,
                territory_id=self.territories[territory] if territory else None,
            )
            s.add(site)
            s.flush()
            assert site.id is not None
            t = Ticket(
                customer_id=self.customer_id,
                site_id=site.id,
                title="Fix it",
                duration_min=duration_min,
                priority=priority,
                sla_due_at=local(sla, day) if sla is not None else None,
                status=status,
                engineer_id=self.engineers[engineer] if engineer else None,
                planned_start=local(planned[0], day) if planned else None,
                planned_end=local(planned[1], day) if planned else None,
            )
            s.add(t)
            s.flush()
            assert t.id is not None
            for code, level in (skills if skills is not None else {"hvac": 1}).items():
                s.add(TicketSkill(ticket_id=t.id, skill_id=self.skills[code], min_level=level))
            for a, b in windows:
                s.add(TicketWindow(ticket_id=t.id, start_at=local(a, day), end_at=local(b, day)))
            self.tickets.append(t.id)
            return t.id

    def scatter(
        self,
        n: int,
        *,
        territory: str | None = None,
        lat: float = LAT0,
        lon: float = LON0,
        size: float = 0.05,
        **kw: Any,
    ) -> list[int]:
        """``n`` tickets spread deterministically over a square (golden-angle spiral)."""
        out = []
        for k in range(n):
            r = size / 2 * math.sqrt((k + 0.5) / n)
            a = k * 2.399963
            out.append(
                self.ticket(
                    lat=lat + size / 2 + r * math.sin(a),
                    lon=lon + size / 2 + r * math.cos(a),
                    territory=territory,
                    **kw,
                )
            )
        return out
