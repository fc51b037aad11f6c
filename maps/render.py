"""folium builds the map; the page script fills it from data.

Why the split: folium is good at the frame (tiles, fences as GeoJSON with
tooltips, one ``FeatureGroup`` per layer and per engineer, the layer control,
marker clustering) but writes every marker as its own few lines of script.
Five thousand tickets and stops that way make megabytes of JavaScript and a
slow page. So folium declares the layers, and ``static/fieldroute/map.js``
fills them from one embedded JSON document (:func:`maps.payload.map_payload`)
— the same document ``GET /map/data`` returns after an assignment, so a
redraw goes through the code that drew the page.

Every asset link points at the app's ``/static`` (see :mod:`maps.assets`);
the only external URL a page can hold is the configured tile URL.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.template import Template

from geofence import parse_fence, simplify_for_display
from geofence.coords import LatLon, bounds_of, lat_lon_pair, latlon_of_point
from geofence.errors import FenceError
from maps.assets import app_css, app_js, localise, marker_cluster
from maps.data import MapData, MapLinks, TerritoryView
from maps.panel import legend_html
from maps.payload import map_payload
from maps.popups import clock, safe_colour, window_text

__all__ = [
    "OSM_ATTRIBUTION",
    "json_script",
    "render_dispatcher_map",
    "render_engineer_map",
]

#: Plain-text attribution (a link would put an external URL in the page).
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
SHANGHAI = LatLon(lat=31.2304, lon=121.4737)


def json_script(element_id: str, payload: Any) -> str:
    """A ``<script type="application/json">`` safe to embed in HTML.

    ``<``, ``>`` and ``&`` are escaped as JSON unicode escapes, so a ticket
    titled ``</script><script>…`` stays text; the script reads it back with
    ``JSON.parse(element.textContent)``.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return f'<script type="application/json" id="{escape(element_id)}">{text}</script>'


class _Raw(Element):
    """Markup inserted as is: branca would compile a string as a Jinja template,
    which for the embedded data (megabytes with 5,000 tickets) costs half a second."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self._markup = markup

    def render(self, **kwargs: Any) -> str:
        return self._markup


class _Mount(MacroElement):
    """Hands the folium-made layers to the page script, after they exist.

    Added last to the map, so its script runs after every layer and the
    layer control are declared; it passes them by variable, not by name.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        fieldroute.mount({
            map: {{ this._parent.get_name() }},
            control: {{ this.control }},
            layers: {
                {%- for key, name in this.layers.items() %}
                {{ key|tojson }}: {{ name }},
                {%- endfor %}
            },
            routes: {
                {%- for eid, name in this.routes.items() %}
                {{ eid|string|tojson }}: {{ name }},
                {%- endfor %}
            },
            options: {{ this.options|tojson }}
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        control: str,
        layers: dict[str, str],
        routes: dict[int, str],
        options: dict[str, Any],
    ) -> None:
        super().__init__()
        self._name = "FieldrouteMount"
        self.control = control
        self.layers = layers
        self.routes = routes
        self.options = options


def _display_fences(territories: tuple[TerritoryView, ...]) -> list[dict[str, Any]]:
    """Fences as GeoJSON features, simplified for drawing (lookups never use these)."""
    parsed, kept = [], []
    for t in territories:
        try:
            parsed.append(parse_fence(dict(t.geometry)).geometry)
            kept.append(t)
        except FenceError:
            continue  # a broken fence is the territory API's problem; draw the rest
    simplified = simplify_for_display(parsed, tolerance_m=15.0) if parsed else []
    features = []
    for t, geom, full in zip(kept, simplified, parsed, strict=True):
        label_at = latlon_of_point(full.representative_point())
        features.append(
            {
                "type": "Feature",
                "geometry": geom.__geo_interface__,
                "properties": {
                    "id": t.id,
                    "name": t.name,
                    "colour": safe_colour(t.colour),
                    "label_lat": label_at.lat,
                    "label_lon": label_at.lon,
                },
            }
        )
    return features


def _bounds(data: MapData, fences: list[dict[str, Any]]) -> list[list[float]] | None:
    lats: list[float] = []
    lons: list[float] = []
    if fences:
        import shapely

        box = bounds_of(
            shapely.geometrycollections([shapely.geometry.shape(f["geometry"]) for f in fences])
        )
        lats += [box.min_lat, box.max_lat]
        lons += [box.min_lon, box.max_lon]
    for t in data.tickets:
        lats.append(t.position.lat)
        lons.append(t.position.lon)
    for e in data.engineers:
        lats.append(e.position.lat)
        lons.append(e.position.lon)
    if not lats:
        return None
    low = LatLon(lat=min(lats), lon=min(lons))
    high = LatLon(lat=max(lats), lon=max(lons))
    return [list(lat_lon_pair(low)), list(lat_lon_pair(high))]


def _base_map(
    data: MapData, *, title: str, tile_url: str, tile_attribution: str | None, static: str
) -> tuple[folium.Map, Figure, list[dict[str, Any]]]:
    fig = Figure(title=title)
    m = folium.Map(
        location=lat_lon_pair(SHANGHAI),
        zoom_start=11,
        tiles=None,
        control_scale=True,
        # Map options (folium's max_zoom only reaches a tile layer); markercluster
        # needs the map's maxZoom when there is no tile layer to define it.
        maxZoom=19,
        minZoom=3,
        zoomSnap=0.5,  # fit the city snugly instead of a whole zoom level too far out
    )
    fig.add_child(m)
    localise(m, static)
    if tile_url:
        folium.TileLayer(
            tiles=tile_url,
            attr=tile_attribution
            or (OSM_ATTRIBUTION if "openstreetmap" in tile_url else "map tiles"),
            name="Street map",
            max_zoom=19,
            control=False,
        ).add_to(m)
    fences = _display_fences(data.territories)
    box = _bounds(data, fences)
    if box:
        m.fit_bounds(box)
    if fences:
        group = folium.FeatureGroup(name=f"Territories ({len(fences)})", show=True)
        folium.GeoJson(
            {"type": "FeatureCollection", "features": fences},
            name="fences",
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "fillColor": f["properties"]["colour"],
                "weight": 2,
                "opacity": 0.9,
                "fillOpacity": 0.10,
                "className": "fr-fence",
            },
            highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.2},
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Territory"]),
            control=False,
        ).add_to(group)
        labels = folium.FeatureGroup(name="Territory names", show=True)
        for f in fences:
            p = f["properties"]
            folium.Marker(
                location=lat_lon_pair(LatLon(lat=p["label_lat"], lon=p["label_lon"])),
                icon=folium.DivIcon(
                    html=f'<div class="fr-fence-label" style="color:{p["colour"]}">'
                    f"{escape(p['name'])}</div>",
                    class_name="fr-fence-label-icon",
                    icon_size=(0, 0),
                ),
                interactive=False,
            ).add_to(labels)
        group.add_to(m)
        labels.add_to(m)
    return m, fig, fences


def _head(fig: Figure, static: str, extra_css: str = "") -> None:
    # An empty icon: otherwise the browser asks the server for /favicon.ico.
    fig.header.add_child(Element('<link rel="icon" href="data:,">'), name="fieldroute_icon")
    fig.header.add_child(CssLink(app_css(static)), name="fieldroute_css")
    fig.header.add_child(JavascriptLink(app_js(static)), name="fieldroute_js")
    if extra_css:
        fig.header.add_child(Element(f"<style>{extra_css}</style>"), name="fieldroute_layout")


def render_dispatcher_map(
    data: MapData,
    *,
    links: MapLinks | None = None,
    tile_url: str = "",
    tile_attribution: str | None = None,
    ticket_layer: str = "auto",
    user: str = "",
    as_of: datetime | None = None,
    embed: bool = False,
) -> str:
    """The dispatcher's page for one day, as a complete HTML document.

    The page is the frame (fences, layers, layer control, panel); its data —
    engineers, tickets, routes, the panel's figures — comes from
    ``GET {links.data}?date=``, requested by a script at the top of the page
    so the server prepares it while the browser loads Leaflet. Inlining 5,000
    tickets instead made a 4 MB page whose HTML parsing alone took longer
    than fetching and parsing the same JSON. ``embed=True`` inlines the data
    (a self-contained file, and tests without a server).

    Parameters
    ----------
    data
        What to draw; without ``embed`` only the day, zone, territories and
        plan label are used here.
    links
        Where the page's actions, data and assets live (same origin).
    tile_url
        A Leaflet tile URL template; empty for a plain background (no tiles).
    tile_attribution
        Plain text credited on the map; defaults to OpenStreetMap's for OSM URLs.
    ticket_layer
        ``"cluster"`` (Leaflet.markercluster), ``"canvas"`` (every ticket a
        canvas circle) or ``"auto"``: the page script clusters up to 2,000
        tickets and draws more on a canvas, which bench/map_load.py measured
        to be usable sooner with 5,000.
    user
        Shown next to the logout button.
    as_of
        The moment the page's actions act at (sent as ``at`` to candidates,
        assign and re-optimise); ``None`` means now. For another day than
        today the API passes that day's start, so "find engineer" looks at
        that day's routes.
    embed
        Put the data in the page instead of fetching it.
    """
    links = links or MapLinks()
    m, fig, fences = _base_map(
        data,
        title=f"fieldroute · dispatch · {data.day.isoformat()}",
        tile_url=tile_url,
        tile_attribution=tile_attribution,
        static=links.static,
    )
    mode = ticket_layer
    if mode not in ("cluster", "canvas", "auto"):
        raise ValueError(f"ticket_layer must be cluster, canvas or auto, not {ticket_layer!r}")
    # Layer names get their counts from the page script once the data is in.
    engineers = folium.FeatureGroup(name="Engineers", show=True).add_to(m)
    if mode != "canvas":  # "auto" may keep the cluster (the script decides by count)
        tickets: Any = marker_cluster(
            links.static,
            name="Tickets",
            show=True,
            maxClusterRadius=45,
            disableClusteringAtZoom=16,
            showCoverageOnHover=False,
        )
    else:
        tickets = folium.FeatureGroup(name="Tickets", show=True)
    tickets.add_to(m)
    unassigned = folium.FeatureGroup(name="Unassigned", show=True).add_to(m)
    outside_group = folium.FeatureGroup(name="Outside every fence", show=True).add_to(m)
    layers = {
        "engineers": engineers.get_name(),
        "tickets": tickets.get_name(),
        "unassigned": unassigned.get_name(),
        "outside": outside_group.get_name(),
    }
    # One overlay per engineer's route: the page script creates them and adds them
    # to this layer control (250 folium layers would cost the server a second).
    control = folium.LayerControl(collapsed=True, position="topleft")
    control.add_to(m)
    day = data.day.isoformat()
    data_url = f"{links.data}?date={day}"
    _Mount(
        control=control.get_name(),
        layers=layers,
        routes={},
        options={
            "mode": "dispatch",
            "tickets": mode,
            "embedded": embed,
            "day": day,
            "tz": data.tz,
            "at": as_of.isoformat() if as_of else None,
            "links": {
                "data": links.data,
                "candidates": links.candidates,
                "assign": links.assign,
                "reoptimize": links.reoptimize,
                "page": links.page,
                "login": links.page.rstrip("/") + "/login",
            },
        },
    ).add_to(m)

    if not embed:
        # First thing in <head>: the data request leaves before any script loads.
        fig.header.add_child(
            _Raw(
                "<script>window.fieldrouteData = fetch("
                + _js_string(data_url)
                + ', {credentials: "same-origin", headers: {"Accept": "application/json"}});'
                "</script>"
            ),
            name="fieldroute_prefetch",
            index=0,
        )
    _head(fig, links.static, _DISPATCH_LAYOUT)
    options = "".join(
        f'<option value="{t.id}">{escape(t.name)}</option>'
        for t in sorted(data.territories, key=lambda t: t.name)
    )
    who = f"<small>{escape(user)}</small> " if user else ""
    panel = f"""
<aside id="fr-panel" class="fr-panel" aria-label="Dispatch panel">
  <header class="fr-head">
    <h1>fieldroute <small>dispatch</small></h1>
    <form class="fr-date" method="get" action="{escape(links.page)}">
      <label for="fr-date">Day</label>
      <input id="fr-date" type="date" name="date" value="{day}" required>
      <button class="btn btn-sm btn-secondary" type="submit">Show</button>
    </form>
    <form class="fr-logout" method="post" action="{escape(links.logout)}">{who}
      <button class="btn btn-sm btn-link" type="submit">Log out</button></form>
  </header>
  <div id="fr-status" class="fr-status" role="status" aria-live="polite">Loading the day…</div>
  <section id="fr-summary"><p class="fr-plan">{escape(data.plan_label)}</p></section>
  <section class="fr-reopt">
    <label for="fr-territory">Territory</label>
    <select id="fr-territory" class="form-select form-select-sm">{options}</select>
    <button type="button" class="btn btn-sm btn-warning" data-fr-action="reoptimize">
      Re-optimise territory</button>
  </section>
  <section id="fr-candidates" class="fr-candidates" hidden></section>
  <details open><summary>Unassigned
    (<span id="fr-unassigned-count">…</span>)</summary>
    <div id="fr-unassigned"></div></details>
  <details open><summary>Engineers: km, hours, utilisation, SLA</summary>
    <div id="fr-kpis"></div></details>
  <details><summary>Leaderboard, last 7 days</summary>
    <div id="fr-leaderboard"></div></details>
  <details><summary>Legend</summary>{legend_html()}</details>
  <p class="fr-fences-note">{len(fences)} territories ·
    <span id="fr-outside-count">…</span> tickets outside every fence</p>
</aside>
"""
    fig.html.add_child(_Raw(panel), name="fieldroute_panel")
    if embed:
        payload = map_payload(data, links)
        fig.html.add_child(_Raw(json_script("fr-data", payload)), name="fieldroute_data")
    return fig.render()


def _js_string(text: str) -> str:
    """A JavaScript string literal safe inside a <script> element."""
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e")


def render_engineer_map(
    data: MapData,
    engineer_id: int,
    *,
    links: MapLinks | None = None,
    tile_url: str = "",
    tile_attribution: str | None = None,
) -> str:
    """One engineer's day: his route on the map and a printable stop list."""
    links = links or MapLinks()
    engineer = data.engineer(engineer_id)
    name = engineer.name if engineer else f"engineer {engineer_id}"
    route = next((r for r in data.routes if r.engineer_id == engineer_id), None)
    own = {s.ticket_id for s in route.stops} if route else set()
    narrowed = MapData(
        day=data.day,
        tz=data.tz,
        territories=data.territories,
        engineers=tuple(e for e in data.engineers if e.id == engineer_id),
        tickets=tuple(t for t in data.tickets if t.id in own or t.engineer_id == engineer_id),
        routes=(route,) if route else (),
        plan_id=data.plan_id,
        plan_label=data.plan_label,
    )
    m, fig, _ = _base_map(
        narrowed,
        title=f"fieldroute · {name} · {data.day.isoformat()}",
        tile_url=tile_url,
        tile_attribution=tile_attribution,
        static=links.static,
    )
    engineers = folium.FeatureGroup(name="Engineer", show=True).add_to(m)
    tickets = folium.FeatureGroup(name="Tickets", show=True).add_to(m)
    routes: dict[int, str] = {}
    if route is not None:
        group = folium.FeatureGroup(name=f"Route · {name}", show=True).add_to(m)
        routes[engineer_id] = group.get_name()
    control = folium.LayerControl(collapsed=True).add_to(m)
    payload = map_payload(narrowed, links, engineer_id=engineer_id)
    _Mount(
        control=control.get_name(),
        layers={"engineers": engineers.get_name(), "tickets": tickets.get_name()},
        routes=routes,
        options={
            "mode": "engineer",
            "tickets": "canvas",
            "embedded": True,
            "day": data.day.isoformat(),
            "tz": data.tz,
            "links": {},
        },
    ).add_to(m)
    _head(fig, links.static, _DAY_LAYOUT)

    tickets_by_id = {t.id: t for t in narrowed.tickets}
    rows = []
    for s in route.stops if route else ():
        t = tickets_by_id.get(s.ticket_id)
        rows.append(
            "<tr>"
            f"<td>{s.seq}</td><td>{escape(clock(s.arrival, data.tz, data.day))}</td>"
            f"<td>{escape(clock(s.start, data.tz, data.day))}–"
            f"{escape(clock(s.end, data.tz, data.day))}</td>"
            f"<td>#{s.ticket_id} {escape(t.title) if t else ''}</td>"
            f"<td>{escape(t.customer) if t else ''}</td>"
            f"<td>{escape(t.address) if t else ''}</td>"
            f"<td>{escape(window_text(t.windows, data.tz, data.day)) if t else ''}</td>"
            f"<td>{escape(t.priority) if t else ''}</td></tr>"
        )
    if route is not None:
        summary = (
            f"{len(route.stops)} stops · {route.distance_m / 1000:.1f} km · "
            f"drive {route.drive_s / 3600:.1f} h · work {route.work_s / 3600:.1f} h · "
            f"{clock(route.start_at, data.tz, data.day)}–{clock(route.end_at, data.tz, data.day)}"
        )
        if route.break_start:
            summary += (
                f" · break {clock(route.break_start, data.tz, data.day)}–"
                f"{clock(route.break_end, data.tz, data.day)}"
            )
        table = (
            '<table class="table table-sm fr-itinerary"><thead><tr><th>#</th><th>ETA</th>'
            "<th>work</th><th>ticket</th><th>customer</th><th>address</th><th>window</th>"
            f"<th>priority</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    else:
        summary = "no route planned for this day"
        table = '<p class="fr-empty">Nothing planned.</p>'
    sheet = f"""
<header id="fr-day" class="fr-day-sheet fr-day-head">
  <h1>{escape(name)} <small>{data.day.strftime("%A %d %B %Y")}</small></h1>
  <form class="fr-date fr-no-print" method="get">
    <input type="date" name="date" value="{data.day.isoformat()}" aria-label="Day" required>
    <button class="btn btn-sm btn-secondary" type="submit">Show</button>
    <button class="btn btn-sm btn-outline-secondary" type="button"
      onclick="window.print()">Print</button>
  </form>
  <p class="fr-plan">{escape(data.plan_label)} · {escape(summary)}</p>
</header>
<section class="fr-day-sheet fr-day-stops">{table}</section>
"""
    fig.html.add_child(_Raw(sheet), name="fieldroute_sheet")
    fig.html.add_child(_Raw(json_script("fr-data", payload)), name="fieldroute_data")
    return fig.render()


# Page layouts: the dispatcher's map fills the screen beside the panel; the
# engineer's sheet stacks map over stop list and prints on A4.
_DISPATCH_LAYOUT = """
html body .folium-map { position: absolute !important; top: 0; left: 0; bottom: 0;
  right: var(--fr-panel-w); width: auto !important; height: auto !important; }
"""
_DAY_LAYOUT = """
body { display: flex; flex-direction: column; }
.fr-day-head { order: 0; }
html body .folium-map { order: 1; position: relative !important; width: 100% !important;
  height: 55vh !important; flex: 0 0 auto; }
.fr-day-stops { order: 2; }
@media print {
  html body .folium-map { height: 110mm !important; }
}
"""
