"""The dispatcher's map: plain data in, a self-contained HTML page out.

folium draws territories, engineers, tickets and routes; every script, style
sheet, font and icon is served from the app's own ``/static`` mount (see
:mod:`maps.assets`), never from a CDN. ``maps`` imports only ``routing`` and
``geofence``: the API turns records into :mod:`maps.data` views.
"""

from maps.assets import STATIC_DIR, local_css, local_js, localise, marker_cluster
from maps.data import (
    OPEN_STATUSES,
    EngineerStatus,
    EngineerView,
    LeaderRow,
    MapData,
    MapLinks,
    RouteView,
    StopView,
    TerritoryView,
    TicketView,
    UnassignedView,
)
from maps.kpi import EngineerKpi, Totals, engineer_kpis, totals, utilisation_svg
from maps.pages import render_login_page
from maps.payload import map_payload
from maps.render import json_script, render_dispatcher_map, render_engineer_map

__all__ = [
    "OPEN_STATUSES",
    "STATIC_DIR",
    "EngineerKpi",
    "EngineerStatus",
    "EngineerView",
    "LeaderRow",
    "MapData",
    "MapLinks",
    "RouteView",
    "StopView",
    "TerritoryView",
    "TicketView",
    "Totals",
    "UnassignedView",
    "engineer_kpis",
    "json_script",
    "local_css",
    "local_js",
    "localise",
    "map_payload",
    "marker_cluster",
    "render_dispatcher_map",
    "render_engineer_map",
    "render_login_page",
    "totals",
    "utilisation_svg",
]
