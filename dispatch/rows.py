"""Solver results as records: one place that turns a routing stop into a Stop row."""

from __future__ import annotations

from crm.models import Stop
from dispatch.clock import DayClock
from routing import Stop as SolvedStop


def stop_row(*, route_id: int, seq: int, stop: SolvedStop, clock: DayClock) -> Stop:
    """The stored form of a planned stop: UTC times, its leg and its wait."""
    return Stop(
        route_id=route_id,
        ticket_id=int(stop.job_id),
        seq=seq,
        arrival_at=clock.at(stop.arrival),
        start_at=clock.at(stop.start),
        end_at=clock.at(stop.end),
        wait_s=stop.wait,
        leg_m=stop.leg_metres,
        leg_s=stop.leg_seconds,
    )
