"""Key figures for the dispatcher's panel, and the SVG chart drawn by hand.

Computed from the same :class:`~maps.data.MapData` the map draws, so the
numbers in the panel always agree with the routes on the map. The chart is a
few ``<rect>`` elements: no chart library, nothing more to vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from maps.data import MapData
from maps.popups import safe_colour

__all__ = ["EngineerKpi", "Totals", "engineer_kpis", "totals", "utilisation_svg"]


@dataclass(frozen=True, slots=True)
class EngineerKpi:
    """One engineer's planned day in figures."""

    engineer_id: int
    name: str
    colour: str
    km: float
    drive_h: float
    work_h: float
    utilisation: float | None
    """(drive + work) / (shift − break); ``None`` without a shift."""
    tickets: int
    sla_met: int
    sla_total: int
    """Stops whose ticket has an SLA; ``sla_met`` of them end before it is due."""
    paid_h: float
    """Shift minus break (the route's span when there is no shift)."""


@dataclass(frozen=True, slots=True)
class Totals:
    """The day at a glance."""

    engineers_on_shift: int
    engineers_with_route: int
    tickets: int
    assigned: int
    unassigned: int
    outside_fences: int
    km: float
    drive_h: float
    work_h: float
    sla_met: int
    sla_total: int
    utilisation: float | None


def engineer_kpis(data: MapData) -> list[EngineerKpi]:
    """Figures for every engineer on shift or with a route, busiest first."""
    tickets = {t.id: t for t in data.tickets}
    routes = {r.engineer_id: r for r in data.routes}
    out: list[EngineerKpi] = []
    for e in data.engineers:
        route = routes.get(e.id)
        if route is None and e.shift_start is None:
            continue
        met = total = 0
        drive_s = work_s = distance_m = 0
        stops = 0
        if route is not None:
            drive_s, work_s, distance_m = route.drive_s, route.work_s, route.distance_m
            stops = len(route.stops)
            for stop in route.stops:
                t = tickets.get(stop.ticket_id)
                if t is None or t.sla_due is None:
                    continue
                total += 1
                met += stop.end <= t.sla_due
        paid = e.shift_seconds
        if not paid and route is not None and route.start_at and route.end_at:
            paid = int((route.end_at - route.start_at).total_seconds())
        out.append(
            EngineerKpi(
                engineer_id=e.id,
                name=e.name,
                colour=safe_colour(e.colour),
                km=distance_m / 1000,
                drive_h=drive_s / 3600,
                work_h=work_s / 3600,
                utilisation=(drive_s + work_s) / paid if paid else None,
                tickets=stops,
                sla_met=met,
                sla_total=total,
                paid_h=paid / 3600,
            )
        )
    out.sort(key=lambda k: (-(k.utilisation or 0.0), k.name))
    return out


def totals(data: MapData, kpis: list[EngineerKpi] | None = None) -> Totals:
    """Sums over the day; utilisation is weighted by shift length, not averaged."""
    kpis = engineer_kpis(data) if kpis is None else kpis
    shown = {t.id for t in data.tickets}
    assigned = sum(len(r.stops) for r in data.routes)
    busy = sum(k.drive_h + k.work_h for k in kpis if k.paid_h)
    paid_h = sum(k.paid_h for k in kpis)
    return Totals(
        engineers_on_shift=sum(1 for e in data.engineers if e.shift_start is not None),
        engineers_with_route=sum(1 for r in data.routes if r.stops),
        tickets=len(shown),
        assigned=assigned,
        unassigned=len(data.unassigned),
        outside_fences=sum(1 for t in data.tickets if t.outside_fences),
        km=sum(k.km for k in kpis),
        drive_h=sum(k.drive_h for k in kpis),
        work_h=sum(k.work_h for k in kpis),
        sla_met=sum(k.sla_met for k in kpis),
        sla_total=sum(k.sla_total for k in kpis),
        utilisation=busy / paid_h if paid_h else None,
    )


def utilisation_svg(
    kpis: list[EngineerKpi], *, width: int = 320, bar_height: int = 12, max_rows: int = 60
) -> str:
    """Horizontal utilisation bars, one per engineer in his route colour.

    A dashed line marks 100 %; bars past it (overtime) are clipped at 125 %
    and outlined, so one overloaded engineer does not squash everyone else.
    """
    rows = [k for k in kpis if k.utilisation is not None][:max_rows]
    label_w, gap, cap = 110, 3, 1.25
    plot_w = width - label_w - 42
    height = max(1, len(rows)) * (bar_height + gap) + 18
    x100 = label_w + plot_w / cap
    parts = [
        f'<svg class="fr-chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Utilisation per engineer">',
        "<title>Utilisation per engineer (drive + work over shift)</title>",
    ]
    if not rows:
        parts.append('<text x="0" y="12" class="fr-chart-empty">no engineer on shift</text>')
    for i, k in enumerate(rows):
        y = i * (bar_height + gap)
        u = k.utilisation or 0.0
        w = plot_w * min(u, cap) / cap
        over = ' stroke="#000" stroke-width="1"' if u > 1 else ""
        name = k.name if len(k.name) <= 16 else k.name[:15] + "…"
        parts.append(
            f'<g class="fr-bar" data-engineer="{k.engineer_id}">'
            f'<text x="{label_w - 4}" y="{y + bar_height - 2}" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{k.colour}"{over}><title>{escape(k.name)}: {u:.0%}</title></rect>'
            f'<text x="{label_w + w + 3:.1f}" y="{y + bar_height - 2}">{u:.0%}</text></g>'
        )
    bottom = height - 16
    parts.append(
        f'<line x1="{x100:.1f}" y1="0" x2="{x100:.1f}" y2="{bottom}" class="fr-chart-100" '
        'stroke="#555" stroke-dasharray="3 2"/>'
        f'<text x="{x100:.1f}" y="{height - 4}" text-anchor="middle">100%</text></svg>'
    )
    return "".join(parts)
