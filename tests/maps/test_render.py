"""The map pages: local assets only, layers, popup fields, escaping, KPIs, the chart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from maps import (
    STATIC_DIR,
    MapData,
    engineer_kpis,
    map_payload,
    render_dispatcher_map,
    render_engineer_map,
    render_login_page,
    totals,
    utilisation_svg,
)
from maps.render import json_script

URL = re.compile(r"https?://[^\s\"'<>)]+")
TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def embedded_payload(html: str) -> dict:
    """The JSON document the page script draws from."""
    m = re.search(r'<script type="application/json" id="fr-data">(.*?)</script>', html, re.S)
    assert m, "the page embeds its data"
    return json.loads(m.group(1))


def features(payload: dict, layer: str) -> list[dict]:
    return [f["properties"] for f in payload[layer]["features"]]


def local_links(html: str) -> set[str]:
    return set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))


def test_dispatcher_page_has_no_external_url_without_tiles(day_data: MapData) -> None:
    """With tiles off, nothing in the page points outside the app (no CDN, no link)."""
    html = render_dispatcher_map(day_data, tile_url="")
    assert URL.findall(html) == []
    assert "cdn" not in html.lower()


def test_the_tile_url_is_the_only_external_url(day_data: MapData) -> None:
    """A configured tile server is the one outside address the page may name."""
    html = render_dispatcher_map(day_data, tile_url=TILES)
    assert set(URL.findall(html)) == {TILES}
    assert "OpenStreetMap contributors" in html


def test_every_linked_asset_is_vendored(day_data: MapData) -> None:
    """Each /static link resolves to a committed file, and so does each url() in its CSS."""
    html = render_dispatcher_map(day_data)
    links = local_links(html)
    names = {Path(p).name for p in links}
    assert {"leaflet.js", "leaflet.css", "jquery.min.js", "bootstrap.bundle.min.js"} <= names
    assert {"leaflet.markercluster.js", "MarkerCluster.css", "all.min.css"} <= names
    assert {"bootstrap-glyphicons.css", "leaflet.awesome.rotate.css", "map.js", "map.css"} <= names
    for link in links:
        path = STATIC_DIR / link.removeprefix("/static/")
        assert path.is_file(), link
        if path.suffix == ".css":
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", path.read_text()):
                if ref.startswith("data:") or ref.startswith("#"):
                    continue
                target = (path.parent / ref.split("?")[0].split("#")[0]).resolve()
                assert target.is_file(), f"{link} refers to missing {ref}"


def test_versions_file_lists_every_vendored_package() -> None:
    """VERSIONS.txt names package@version and licence for each vendored folder."""
    text = (STATIC_DIR / "vendor" / "VERSIONS.txt").read_text()
    for entry in (
        "leaflet@1.9.3",
        "jquery@3.7.1",
        "bootstrap@5.2.2",
        "drmonty-leaflet-awesome-markers@2.0.2",
        "@fortawesome/fontawesome-free@6.2.0",
        "bootstrap@3.4.1",
        "leaflet.markercluster@1.5.3",
    ):
        assert entry in text
    folders = {p.name for p in (STATIC_DIR / "vendor").iterdir() if p.is_dir()}
    for folder in folders:
        assert f"{folder}/" in text, folder


def test_layers_and_layer_control(day_data: MapData) -> None:
    """Fences, engineers, tickets, unassigned, outside-fence and one layer per route."""
    html = render_dispatcher_map(day_data)
    for name in (
        "Territories (1)",
        "Territory names",
        "Engineers",
        "Tickets",
        "Unassigned",
        "Outside every fence",
    ):
        assert json.dumps(name)[1:-1] in html  # as folium writes it into the script
    assert "L.control.layers(" in html
    assert "L.markerClusterGroup(" in html
    assert "fieldroute.mount(" in html
    assert '"fr-fence"' in html  # fences carry a class the browser tests find
    # Route overlays are added to that control by the page script, one per engineer.
    assert "routes: {" in html and "control: layer_control_" in html


def test_page_fetches_its_data_first(day_data: MapData) -> None:
    """The data request leaves from the top of <head>, before any script loads."""
    html = render_dispatcher_map(day_data)
    head = html.split("</head>", 1)[0]
    fetch = head.index('window.fieldrouteData = fetch("/map/data?date=2026-12-02"')
    assert fetch < head.index("<script src=")
    assert 'id="fr-data"' not in html  # nothing inlined
    assert '"embedded": false' in html


def test_canvas_ticket_layer_needs_no_cluster(day_data: MapData) -> None:
    """The canvas mode draws tickets without Leaflet.markercluster."""
    html = render_dispatcher_map(day_data, ticket_layer="canvas")
    assert "L.markerClusterGroup(" not in html
    assert '"tickets": "canvas"' in html
    with pytest.raises(ValueError):
        render_dispatcher_map(day_data, ticket_layer="heatmap")


def test_ticket_popup_fields(day_data: MapData) -> None:
    """A planned ticket carries ETA, window, customer, SLA; an unassigned one its reason."""
    tickets = {t["id"]: t for t in features(map_payload(day_data), "tickets")}
    planned = tickets[1]
    assert planned["customer"] == "Jing'an Dental Clinic"
    assert planned["address"] == "1376 Nanjing West Rd"
    assert planned["window"] == "09:00–11:00"  # Shanghai time
    assert planned["sla"] == "12:00"
    assert planned["eta"] == "09:00"
    assert planned["engineer_id"] == 7
    assert planned["ring"] == "planned"
    assert "unassigned" not in planned
    stuck = tickets[3]
    assert stuck["open"] is True
    assert stuck["unassigned"] is True
    assert stuck["reason"] == "no_engineer_with_skill"
    assert stuck["reason_label"] == "nobody has the skills"
    assert stuck["reason_message"] == "needs elevator at level 5"
    assert tickets[4]["outside"] is True
    assert "territory" not in tickets[4]
    assert tickets[5]["ring"] == "done"


def test_stop_and_route_fields(day_data: MapData) -> None:
    """Stops are numbered with ETA and work times; the line runs home → stops → home."""
    payload = map_payload(day_data)
    stops = features(payload, "stops")
    assert [(s["seq"], s["ticket_id"], s["eta"], s["work"]) for s in stops] == [
        (1, 1, "09:00", "09:00–09:45"),
        (2, 2, "10:00", "10:00–10:45"),
    ]
    assert {s["colour"] for s in stops} == {"#00aa00"}
    (route,) = payload["routes"]["features"]
    assert route["properties"]["name"] == "Wang Lei"
    assert route["properties"]["km"] == 12.4
    # GeoJSON order: [lon, lat]
    assert route["geometry"]["coordinates"] == [
        [121.45, 31.25],
        [121.41, 31.21],
        [121.43, 31.23],
        [121.45, 31.25],
    ]


def test_engineer_fields(day_data: MapData) -> None:
    """Engineers: icon by status, shift, skills, route summary and a link to the day sheet."""
    engineers = {e["id"]: e for e in features(map_payload(day_data), "engineers")}
    wang, li = engineers[7], engineers[8]
    assert (wang["icon"], wang["marker"]) == ("route", "blue")
    assert wang["shift"] == "08:00–17:00"
    assert wang["route"] == "2 stops, 12.4 km, 08:30–11:15"
    assert wang["sheet"] == "/engineers/7/map?date=2026-12-02"
    assert (li["icon"], li["home"]) == ("user", True)


def test_unassigned_list_with_reasons(day_data: MapData) -> None:
    """The panel lists unassigned tickets, most urgent first, with reason and a button."""
    html = map_payload(day_data)["html"]["unassigned"]
    first, second = html.index('data-ticket="3"'), html.index('data-ticket="4"')
    assert first < second  # urgent before low
    assert "nobody has the skills" in html
    assert "needs elevator at level 5" in html
    assert 'data-fr-action="candidates" data-ticket="3"' in html


def test_user_text_is_escaped(day_data: MapData) -> None:
    """A title holding </script> cannot close the data block or inject markup."""
    html = render_dispatcher_map(day_data, embed=True)
    assert "</script><script>alert(1)" not in html
    assert "Tower & Sons <b>" not in html
    payload = embedded_payload(html)
    tickets = {t["id"]: t for t in features(payload, "tickets")}
    assert tickets[3]["title"] == "Lift stuck </script><script>alert(1)</script>"
    assert "Tower &amp; Sons &lt;b&gt;" in payload["html"]["unassigned"]


def test_json_script_escapes_markup() -> None:
    """The embedded JSON never contains a literal <, > or & (nor line separators)."""
    out = json_script("x", {"a": "</script>&\u2028"})
    body = out.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == {"a": "</script>&\u2028"}


def test_kpis(day_data: MapData) -> None:
    """km, drive and work hours, utilisation over shift minus break, tickets, SLA met."""
    kpis = {k.engineer_id: k for k in engineer_kpis(day_data)}
    wang = kpis[7]
    assert wang.km == pytest.approx(12.4)
    assert (wang.drive_h, wang.work_h) == (1.0, 1.5)
    assert wang.utilisation == pytest.approx(2.5 / 8)
    assert (wang.tickets, wang.sla_met, wang.sla_total) == (2, 1, 2)
    assert kpis[8].tickets == 0 and kpis[8].utilisation == 0
    day = totals(day_data)
    assert (day.engineers_on_shift, day.assigned, day.unassigned, day.outside_fences) == (
        2,
        2,
        2,
        1,
    )
    assert day.utilisation == pytest.approx(2.5 / 16)


def test_utilisation_chart_is_plain_svg(day_data: MapData) -> None:
    """One bar per engineer in his colour, a 100 % line, no external reference."""
    svg = utilisation_svg(engineer_kpis(day_data))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 2
    assert 'fill="#00aa00"' in svg
    assert "100%" in svg
    assert URL.findall(svg) == []


def test_leaderboard(day_data: MapData) -> None:
    """Most completed first, with the on-time rate."""
    html = map_payload(day_data)["html"]["leaderboard"]
    assert html.index("Li Na") < html.index("Wang Lei")
    assert "50%" in html and "90%" in html


def test_engineer_sheet_is_printable(day_data: MapData) -> None:
    """One engineer's route and stop list, print rules, no dispatcher actions."""
    html = render_engineer_map(day_data, 7)
    assert URL.findall(html) == []
    assert "@media print" in html
    assert "fr-itinerary" in html
    assert html.count("<tr><td>") == 2
    assert "Jing&#x27;an Dental Clinic" in html
    payload = embedded_payload(html)
    assert [f["id"] for f in features(payload, "engineers")] == [7]
    assert {t["id"] for t in features(payload, "tickets")} == {1, 2}
    assert payload["html"]["unassigned"] == ""
    assert "Find engineer" not in html


def test_engineer_sheet_without_route(day_data: MapData) -> None:
    """An engineer with nothing planned gets a page that says so."""
    html = render_engineer_map(day_data, 8)
    assert "no route planned for this day" in html


def test_login_page_escapes_and_links_locally() -> None:
    """The login form echoes values escaped and loads only local CSS."""
    html = render_login_page(next_url='/map?date="><script>', username="<x>", error="<b>no</b>")
    assert "<script>" not in html and "<x>" not in html and "<b>no</b>" not in html
    assert URL.findall(html) == []
    assert local_links(html) == {"/static/vendor/bootstrap/bootstrap.min.css"}
