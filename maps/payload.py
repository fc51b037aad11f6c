"""The map's data as JSON: GeoJSON layers plus the panel's HTML fragments.

One function feeds both the page (embedded, so the first paint needs no
second request) and ``GET /map/data`` (fetched after an assignment to redraw
routes). Positions are GeoJSON ``[lon, lat]``, made by
:func:`geofence.coords.position`, the one place that decides that order.
"""

from __future__ import annotations

from typing import Any

from geofence.coords import position
from maps.data import EngineerStatus, MapData, MapLinks, RouteView, StopView, TicketView
from maps.kpi import engineer_kpis, totals
from maps.panel import kpi_html, leaderboard_html, summary_html, unassigned_html
from maps.popups import (
    ENGINEER_STATUS_LABELS,
    PRIORITY_COLOURS,
    REASON_LABELS,
    STATUS_LABELS,
    clock,
    safe_colour,
    window_text,
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


def _ticket_props(
    t: TicketView,
    data: MapData,
    reasons: dict[int, tuple[str, str]],
    placed: tuple[RouteView, StopView] | None,
) -> dict[str, Any]:
    """A ticket's marker and popup fields, times already in the map's zone."""
    tz, day = data.tz, data.day
    reason = reasons.get(t.id)
    props = {
        "id": t.id,
        "title": t.title,
        "customer": t.customer,
        "address": t.address,
        "priority": t.priority,
        "colour": PRIORITY_COLOURS.get(t.priority, "#777777"),
        "status": t.status,
        "status_label": STATUS_LABELS.get(t.status, t.status),
        "ring": ring_of(t.status),
        "open": t.is_open,
        "outside": t.outside_fences,
        "territory": t.territory,
        "window": window_text(t.windows, tz, day),
        "sla": clock(t.sla_due, tz, day) if t.sla_due else "",
        "duration": t.duration_min,
        "skills": ", ".join(t.skills),
        "engineer_id": placed[0].engineer_id if placed else t.engineer_id,
        "eta": clock(placed[1].arrival, tz, day) if placed else "",
        "planned": clock(t.planned_start, tz, day) if t.planned_start and not placed else "",
        "unassigned": reason is not None,
        "reason": reason[0] if reason else "",
        "reason_label": REASON_LABELS.get(reason[0], reason[0]) if reason else "",
        "reason_message": reason[1] if reason else "",
    }
    # Empty and false fields are left out: 5,000 tickets × a dozen "" adds up.
    return {k: v for k, v in props.items() if v not in ("", None, False) or k == "id"}


def map_payload(
    data: MapData, links: MapLinks | None = None, *, engineer_id: int | None = None
) -> dict[str, Any]:
    """Everything the page script draws, as JSON-ready dicts.

    Popups are assembled by the page script from these fields (it escapes
    every value): five thousand tickets as ready-made popup HTML would be
    megabytes of markup for popups nobody opens.

    ``engineer_id`` narrows the payload to one engineer's day (his route and
    tickets, no "find engineer" buttons): the printable day sheet.
    """
    links = links or MapLinks()
    tz, day = data.tz, data.day
    day_iso = day.isoformat()
    engineers = {e.id: e for e in data.engineers}
    tickets_by_id = {t.id: t for t in data.tickets}
    routes = [r for r in data.routes if engineer_id is None or r.engineer_id == engineer_id]
    on_route = {s.ticket_id: (r, s) for r in routes for s in r.stops}
    reasons = (
        {u.ticket_id: (u.reason, u.message) for u in data.unassigned} if engineer_id is None else {}
    )

    ticket_features = []
    for t in data.tickets:
        placed = on_route.get(t.id)
        if engineer_id is not None and placed is None and t.engineer_id != engineer_id:
            continue
        props = _ticket_props(t, data, reasons, placed)
        ticket_features.append(_feature(t.position.lat, t.position.lon, props))

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
                    "start": clock(r.start_at, tz, day),
                    "end": clock(r.end_at, tz, day),
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
                        "eta": clock(s.arrival, tz, day),
                        "work": f"{clock(s.start, tz, day)}–{clock(s.end, tz, day)}",
                        "wait_min": round(s.wait_s / 60),
                        "leg_km": round(s.leg_m / 1000, 1),
                    },
                )
            )

    routes_by_engineer = {r.engineer_id: r for r in data.routes}
    engineer_features = []
    for e in data.engineers:
        if engineer_id is not None and e.id != engineer_id:
            continue
        icon, marker = ENGINEER_ICONS.get(e.status, ("user", "gray"))
        route = routes_by_engineer.get(e.id)
        engineer_features.append(
            _feature(
                e.position.lat,
                e.position.lon,
                {
                    "id": e.id,
                    "name": e.name,
                    "colour": safe_colour(e.colour),
                    "status": str(e.status),
                    "status_label": ENGINEER_STATUS_LABELS.get(e.status, str(e.status)),
                    "icon": icon,
                    "marker": marker,
                    "home": e.position_is_home,
                    "seen": clock(e.last_seen_at, tz, day) if e.last_seen_at else "",
                    "shift": f"{clock(e.shift_start, tz, day)}–{clock(e.shift_end, tz, day)}"
                    if e.shift_start
                    else "",
                    "skills": ", ".join(e.skills),
                    "territories": ", ".join(e.territories),
                    "route": (
                        f"{len(route.stops)} stops, {route.distance_m / 1000:.1f} km, "
                        f"{clock(route.start_at, tz, day)}–{clock(route.end_at, tz, day)}"
                    )
                    if route
                    else "",
                    "sheet": links.engineer_page.replace("{id}", str(e.id)) + f"?date={day_iso}",
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
        "day": day_iso,
        "tz": tz,
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
            "kpis": kpi_html(kpis, engineer_link=links.engineer_page, day=day_iso),
            "leaderboard": leaderboard_html(data),
        },
    }
