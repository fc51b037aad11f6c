"""The map's data as JSON: GeoJSON layers plus the panel's HTML fragments.

One function feeds both the page (embedded, so the first paint needs no
second request) and ``GET /map/data`` (fetched after an assignment to redraw
routes). Positions are GeoJSON ``[lon, lat]``, made by
:func:`geofence.coords.position`, the one place that decides that order.
"""

from __future__ import annotations

from typing import Any

from geofence.coords import position
from maps.data import EngineerStatus, MapData, MapLinks, RouteView, TicketView
from maps.kpi import engineer_kpis, totals
from maps.panel import kpi_html, leaderboard_html, summary_html, unassigned_html
from maps.popups import (
    PRIORITY_COLOURS,
    clock,
    engineer_popup,
    safe_colour,
    stop_popup,
    ticket_popup,
)

__all__ = ["ENGINEER_ICONS", "map_payload", "ring_of"]

#: Marker look per engineer status: (Font Awesome icon, awesome-markers colour).
ENGINEER_ICONS: dict[str, tuple[str, str]] = {
    EngineerStatus.ON_SITE: ("screwdriver-wrench", "darkgreen"),
    EngineerStatus.TRAVELLING: ("car", "orange"),
    EngineerStatus.PLANNED: ("route", "blue"),
    EngineerStatus.AVAILABLE: ("user", "cadetblue"),
    EngineerStatus.OFF_SHIFT: ("moon", "lightgray"),
}

_RINGS = {
    "new": "open",
    "declined": "open",
    "on_hold": "held",
    "scheduled": "planned",
    "dispatched": "planned",
    "accepted": "planned",
    "travelling": "active",
    "on_site": "active",
    "completed": "done",
    "cancelled": "cancelled",
}


def ring_of(status: str) -> str:
    """The marker ring (status group) of a ticket status."""
    return _RINGS.get(status, "open")


def _feature(lat: float, lon: float, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": position(lat=lat, lon=lon)},
        "properties": props,
    }


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _route_line(route: RouteView, tickets: dict[int, TicketView]) -> list[list[float]]:
    coords = [position(lat=route.start.lat, lon=route.start.lon)]
    for stop in route.stops:
        t = tickets.get(stop.ticket_id)
        if t is not None:
            coords.append(position(lat=t.position.lat, lon=t.position.lon))
    coords.append(position(lat=route.end.lat, lon=route.end.lon))
    return coords


def map_payload(
    data: MapData, links: MapLinks | None = None, *, engineer_id: int | None = None
) -> dict[str, Any]:
    """Everything the page script draws, as JSON-ready dicts.

    ``engineer_id`` narrows the payload to one engineer's day (his route and
    tickets, no "find engineer" buttons): the printable day sheet.
    """
    links = links or MapLinks()
    day = data.day.isoformat()
    engineers = {e.id: e for e in data.engineers}
    tickets_by_id = {t.id: t for t in data.tickets}
    routes = [r for r in data.routes if engineer_id is None or r.engineer_id == engineer_id]
    on_route = {s.ticket_id: (r, s) for r in routes for s in r.stops}
    reasons = {u.ticket_id: (u.reason, u.message) for u in data.unassigned}
    actions = engineer_id is None

    ticket_features = []
    for t in data.tickets:
        placed = on_route.get(t.id)
        if engineer_id is not None and placed is None and t.engineer_id != engineer_id:
            continue
        eng = engineers.get(placed[0].engineer_id if placed else t.engineer_id or -1)
        ticket_features.append(
            _feature(
                t.position.lat,
                t.position.lon,
                {
                    "id": t.id,
                    "title": t.title,
                    "priority": t.priority,
                    "colour": PRIORITY_COLOURS.get(t.priority, "#777"),
                    "status": t.status,
                    "ring": ring_of(t.status),
                    "open": t.is_open,
                    "outside": t.outside_fences,
                    "unassigned": t.id in reasons,
                    "engineer_id": eng.id if eng else None,
                    "popup": ticket_popup(
                        t,
                        data,
                        engineer=eng,
                        stop=placed[1] if placed else None,
                        reason=reasons.get(t.id),
                        actions=actions,
                    ),
                },
            )
        )

    route_features, stop_features = [], []
    for r in routes:
        e = engineers.get(r.engineer_id)
        name = e.name if e else f"engineer {r.engineer_id}"
        colour = safe_colour(e.colour if e else None)
        route_features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": _route_line(r, tickets_by_id)},
                "properties": {
                    "engineer_id": r.engineer_id,
                    "name": name,
                    "colour": colour,
                    "stops": len(r.stops),
                    "km": round(r.distance_m / 1000, 1),
                    "start": clock(r.start_at, data.tz, data.day),
                    "end": clock(r.end_at, data.tz, data.day),
                },
            }
        )
        for s in r.stops:
            t = tickets_by_id.get(s.ticket_id)
            if t is None:
                continue
            stop_features.append(
                _feature(
                    t.position.lat,
                    t.position.lon,
                    {
                        "engineer_id": r.engineer_id,
                        "ticket_id": s.ticket_id,
                        "seq": s.seq,
                        "colour": colour,
                        "eta": clock(s.arrival, data.tz, data.day),
                        "popup": stop_popup(s, t, e, data),
                    },
                )
            )

    routes_by_engineer = {r.engineer_id: r for r in data.routes}
    engineer_features = []
    for e in data.engineers:
        if engineer_id is not None and e.id != engineer_id:
            continue
        icon, marker = ENGINEER_ICONS.get(e.status, ("user", "gray"))
        engineer_features.append(
            _feature(
                e.position.lat,
                e.position.lon,
                {
                    "id": e.id,
                    "name": e.name,
                    "colour": safe_colour(e.colour),
                    "status": str(e.status),
                    "icon": icon,
                    "marker": marker,
                    "home": e.position_is_home,
                    "popup": engineer_popup(
                        e,
                        routes_by_engineer.get(e.id),
                        data,
                        day_link=links.engineer_page.replace("{id}", str(e.id)) + f"?date={day}",
                    ),
                },
            )
        )

    unassigned = [
        {
            "ticket_id": u.ticket_id,
            "reason": u.reason,
            "message": u.message,
            "title": tickets_by_id[u.ticket_id].title if u.ticket_id in tickets_by_id else "",
        }
        for u in data.unassigned
        if engineer_id is None
    ]
    kpis = engineer_kpis(data)
    if engineer_id is not None:
        kpis = [k for k in kpis if k.engineer_id == engineer_id]
    day_totals = totals(data, kpis)
    return {
        "day": day,
        "tz": data.tz,
        "plan": {"id": data.plan_id, "label": data.plan_label},
        "engineers": _collection(engineer_features),
        "tickets": _collection(ticket_features),
        "routes": _collection(route_features),
        "stops": _collection(stop_features),
        "unassigned": unassigned,
        "totals": {
            "engineers_on_shift": day_totals.engineers_on_shift,
            "tickets": day_totals.tickets,
            "assigned": day_totals.assigned,
            "unassigned": day_totals.unassigned,
            "outside_fences": day_totals.outside_fences,
            "km": round(day_totals.km, 1),
            "drive_h": round(day_totals.drive_h, 2),
            "work_h": round(day_totals.work_h, 2),
            "sla_met": day_totals.sla_met,
            "sla_total": day_totals.sla_total,
            "utilisation": None
            if day_totals.utilisation is None
            else round(day_totals.utilisation, 3),
        },
        "html": {
            "summary": summary_html(data, day_totals),
            "unassigned": unassigned_html(data) if engineer_id is None else "",
            "kpis": kpi_html(kpis, engineer_link=links.engineer_page, day=day),
            "leaderboard": leaderboard_html(data),
        },
    }
