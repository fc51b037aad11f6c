"""HTML fragments of the dispatcher's side panel.

Rendered here (and escaped here) both into the first page and into the JSON
the page fetches after an assignment, so the panel after a change is built by
the same code as the panel on load.
"""

from __future__ import annotations

from html import escape

from maps.data import MapData
from maps.kpi import EngineerKpi, Totals, utilisation_svg
from maps.popups import PRIORITY_COLOURS, REASON_LABELS, safe_colour

__all__ = [
    "PRIORITY_ORDER",
    "kpi_html",
    "leaderboard_html",
    "legend_html",
    "summary_html",
    "unassigned_html",
]

PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
#: More rows than this make a list nobody scrolls; the map still shows them all.
MAX_LIST = 300


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def summary_html(data: MapData, totals: Totals) -> str:
    """The day at a glance: counts, km, hours, SLA, fences coverage."""
    sla = f"{totals.sla_met}/{totals.sla_total}" if totals.sla_total else "–"
    items = [
        ("Engineers on shift", str(totals.engineers_on_shift)),
        ("Routes", str(totals.engineers_with_route)),
        ("Tickets", str(totals.tickets)),
        ("Assigned", str(totals.assigned)),
        ("Unassigned", str(totals.unassigned)),
        ("Outside every fence", str(totals.outside_fences)),
        ("Distance", f"{totals.km:,.1f} km"),
        ("Drive", f"{totals.drive_h:,.1f} h"),
        ("Work", f"{totals.work_h:,.1f} h"),
        ("Utilisation", _pct(totals.utilisation)),
        ("SLA met", sla),
    ]
    cells = "".join(
        f'<div class="fr-stat"><span>{escape(k)}</span><b>{escape(v)}</b></div>' for k, v in items
    )
    return (
        f'<p class="fr-plan" data-plan="{data.plan_id or ""}">{escape(data.plan_label)}</p>'
        f'<div class="fr-stats">{cells}</div>'
    )


def unassigned_html(data: MapData) -> str:
    """Unassigned tickets with their reasons, most urgent first, each with "find engineer"."""
    if not data.unassigned:
        return '<p class="fr-empty">Every ticket of the day is on a route.</p>'
    tickets = {t.id: t for t in data.tickets}
    rows = sorted(
        data.unassigned,
        key=lambda u: (
            PRIORITY_ORDER.get(tickets[u.ticket_id].priority, 9) if u.ticket_id in tickets else 9,
            u.ticket_id,
        ),
    )
    items = []
    for u in rows[:MAX_LIST]:
        t = tickets.get(u.ticket_id)
        title = t.title if t else ""
        customer = t.customer if t else ""
        priority = t.priority if t else "normal"
        label = REASON_LABELS.get(u.reason, u.reason)
        colour = PRIORITY_COLOURS.get(priority, "#777")
        find = (
            f'<button type="button" class="btn btn-sm btn-outline-primary" '
            f'data-fr-action="candidates" data-ticket="{u.ticket_id}">Find engineer</button>'
            if t is None or t.is_open
            else ""
        )
        items.append(
            f'<li class="fr-unassigned" data-ticket="{u.ticket_id}" '
            f'data-reason="{escape(u.reason)}">'
            f'<a href="#" data-fr-action="focus" data-ticket="{u.ticket_id}">'
            f'<span class="fr-dot" style="background:{colour}"></span>#{u.ticket_id} '
            f"{escape(title)}</a> <small>{escape(customer)}</small><br>"
            f'<span class="fr-reason" title="{escape(u.message)}">{escape(label)}</span>'
            f"{' — <small>' + escape(u.message) + '</small>' if u.message else ''} {find}</li>"
        )
    more = len(rows) - MAX_LIST
    tail = f'<p class="fr-more">… and {more} more on the map.</p>' if more > 0 else ""
    return f'<ol class="fr-unassigned-list">{"".join(items)}</ol>{tail}'


def kpi_html(kpis: list[EngineerKpi], *, engineer_link: str | None = None, day: str = "") -> str:
    """Per-engineer table (km, drive, work, utilisation, tickets, SLA met) and the chart."""
    if not kpis:
        return '<p class="fr-empty">No engineer on shift this day.</p>'
    rows = []
    for k in kpis:
        name = escape(k.name)
        if engineer_link:
            href = escape(engineer_link.replace("{id}", str(k.engineer_id)) + f"?date={day}")
            name = f'<a href="{href}">{name}</a>'
        sla = f"{k.sla_met}/{k.sla_total}" if k.sla_total else "–"
        rows.append(
            f'<tr data-engineer="{k.engineer_id}"><td><span class="fr-swatch" '
            f'style="background:{safe_colour(k.colour)}"></span>{name}</td>'
            f"<td>{k.km:.1f}</td><td>{k.drive_h:.1f}</td><td>{k.work_h:.1f}</td>"
            f"<td>{_pct(k.utilisation)}</td><td>{k.tickets}</td><td>{sla}</td></tr>"
        )
    table = (
        '<table class="table table-sm fr-kpi"><thead><tr><th>Engineer</th><th>km</th>'
        "<th>drive h</th><th>work h</th><th>util.</th><th>tickets</th><th>SLA met</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return f"{utilisation_svg(kpis)}{table}"


def leaderboard_html(data: MapData) -> str:
    """The last seven days: tickets completed and the on-time rate, best first."""
    rows = sorted(data.leaderboard, key=lambda r: (-r.completed, -r.on_time_rate, r.name))
    if not rows:
        return '<p class="fr-empty">No ticket completed in the last seven days.</p>'
    body = "".join(
        f'<tr data-engineer="{r.engineer_id}"><td>{i}</td><td>{escape(r.name)}</td>'
        f"<td>{r.completed}</td><td>{r.on_time_rate:.0%}</td></tr>"
        for i, r in enumerate(rows[:20], start=1)
    )
    return (
        '<table class="table table-sm fr-leaderboard"><thead><tr><th>#</th><th>Engineer</th>'
        f"<th>completed</th><th>on time</th></tr></thead><tbody>{body}</tbody></table>"
    )


def legend_html() -> str:
    """What the marker colours and rings mean."""
    prio = "".join(
        f'<span class="fr-legend-item"><span class="fr-dot" style="background:{c}"></span>'
        f"{escape(p)}</span>"
        for p, c in PRIORITY_COLOURS.items()
    )
    return (
        f'<div class="fr-legend"><div>Ticket fill = priority: {prio}</div>'
        '<div>Ring: <span class="fr-legend-item"><span class="fr-ring fr-ring-open"></span>'
        'open</span><span class="fr-legend-item"><span class="fr-ring fr-ring-planned">'
        '</span>planned</span><span class="fr-legend-item"><span class="fr-ring '
        'fr-ring-active"></span>in progress</span><span class="fr-legend-item"><span '
        'class="fr-ring fr-ring-done"></span>completed</span><span class="fr-legend-item">'
        '<span class="fr-ring fr-ring-outside"></span>outside every fence</span></div></div>'
    )
