"""A small day drawn by hand: one fence, two engineers, five tickets, one route."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from geofence import LatLon
from maps import (
    EngineerStatus,
    EngineerView,
    LeaderRow,
    MapData,
    RouteView,
    StopView,
    TerritoryView,
    TicketView,
    UnassignedView,
)

DAY = date(2026, 12, 2)
# 00:00 UTC is 08:00 in Shanghai, so hour h UTC reads as (h + 8):00 on the map.
T0 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
FENCE = {
    "type": "Polygon",
    "coordinates": [
        [[121.40, 31.20], [121.50, 31.20], [121.50, 31.30], [121.40, 31.30], [121.40, 31.20]]
    ],
}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def day_data() -> MapData:
    wang = EngineerView(
        id=7,
        name="Wang Lei",
        colour="#00aa00",
        position=LatLon(lat=31.25, lon=121.45),
        status=EngineerStatus.PLANNED,
        last_seen_at=at(-1),
        shift_start=at(0),
        shift_end=at(9),
        break_minutes=60,
        skills=("hvac 3",),
        territories=("Huangpu",),
    )
    li = EngineerView(
        id=8,
        name="Li Na",
        colour="#aa00aa",
        position=LatLon(lat=31.22, lon=121.42),
        status=EngineerStatus.AVAILABLE,
        position_is_home=True,
        shift_start=at(1),
        shift_end=at(10),
        break_minutes=60,
    )
    tickets = (
        TicketView(
            id=1,
            title="Air conditioner not cooling",
            customer="Jing'an Dental Clinic",
            address="1376 Nanjing West Rd",
            position=LatLon(lat=31.21, lon=121.41),
            priority="high",
            status="scheduled",
            territory_id=1,
            territory="Huangpu",
            windows=((at(1), at(3)),),
            sla_due=at(4),
            engineer_id=7,
        ),
        TicketView(
            id=2,
            title="Leaking pipe",
            customer="Hengtong Hotel",
            position=LatLon(lat=31.23, lon=121.43),
            priority="normal",
            status="scheduled",
            territory_id=1,
            territory="Huangpu",
            sla_due=at(1.5),  # the stop ends at 02:45 UTC: SLA missed
            engineer_id=7,
        ),
        TicketView(
            id=3,
            title="Lift stuck </script><script>alert(1)</script>",
            customer="Tower & Sons <b>",
            position=LatLon(lat=31.24, lon=121.44),
            priority="urgent",
            status="new",
            territory_id=1,
            territory="Huangpu",
            windows=((at(0), at(6)),),
        ),
        TicketView(
            id=4,
            title="Fridge icing up",
            customer="Baolong Bakery",
            position=LatLon(lat=31.35, lon=121.60),
            priority="low",
            status="new",
        ),
        TicketView(
            id=5,
            title="Annual check",
            customer="Xinhua Bank",
            position=LatLon(lat=31.26, lon=121.46),
            priority="normal",
            status="completed",
            territory_id=1,
            territory="Huangpu",
        ),
    )
    route = RouteView(
        engineer_id=7,
        start=LatLon(lat=31.25, lon=121.45),
        end=LatLon(lat=31.25, lon=121.45),
        stops=(
            StopView(seq=1, ticket_id=1, arrival=at(1), start=at(1), end=at(1.75), leg_m=5200),
            StopView(seq=2, ticket_id=2, arrival=at(2), start=at(2), end=at(2.75), leg_m=2800),
        ),
        start_at=at(0.5),
        end_at=at(3.25),
        distance_m=12_400,
        drive_s=3600,
        work_s=5400,
    )
    return MapData(
        day=DAY,
        tz="Asia/Shanghai",
        territories=(TerritoryView(id=1, name="Huangpu", colour="#d62728", geometry=FENCE),),
        engineers=(wang, li),
        tickets=tickets,
        routes=(route,),
        unassigned=(
            UnassignedView(3, "no_engineer_with_skill", "needs elevator at level 5"),
            UnassignedView(4, "not_planned", "no plan for this day yet"),
        ),
        leaderboard=(LeaderRow(7, "Wang Lei", 10, 9), LeaderRow(8, "Li Na", 12, 6)),
        plan_id=3,
        plan_label="published plan #3 · 1 routes",
    )
