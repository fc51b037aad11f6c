"""Local web assets: the map page never asks a CDN for anything.

folium links Leaflet, jQuery, Bootstrap, awesome-markers, Font Awesome and
glyphicons from CDNs by default, and each plugin carries its own CDN links.
A dispatcher's office may have no internet, or may not want its map to tell
third parties who opens it, so every link is pointed at the app's own
``/static`` mount. The files live in ``maps/static/vendor/`` (see its
``VERSIONS.txt``).

The override is per instance (``element.default_js = ...``), never through
``add_js_link``/``add_css_link``, which mutate folium's class-level lists and
would change every map in the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from folium.plugins import MarkerCluster

__all__ = [
    "STATIC_DIR",
    "app_css",
    "app_js",
    "local_css",
    "local_js",
    "localise",
    "marker_cluster",
]

#: The directory the API mounts at ``/static`` (``vendor/`` and ``fieldroute/``).
STATIC_DIR = Path(__file__).with_name("static")

# folium's names for its links, so folium recognises (and de-duplicates) them.
_JS = (
    ("leaflet", "vendor/leaflet/leaflet.js"),
    ("jquery", "vendor/jquery/jquery.min.js"),
    ("bootstrap", "vendor/bootstrap/bootstrap.bundle.min.js"),
    ("awesome_markers", "vendor/awesome-markers/leaflet.awesome-markers.min.js"),
)
_CSS = (
    ("leaflet_css", "vendor/leaflet/leaflet.css"),
    ("bootstrap_css", "vendor/bootstrap/bootstrap.min.css"),
    ("glyphicons_css", "vendor/glyphicons/css/bootstrap-glyphicons.css"),
    ("awesome_markers_font_css", "vendor/fontawesome/css/all.min.css"),
    ("awesome_markers_css", "vendor/awesome-markers/leaflet.awesome-markers.css"),
    ("awesome_rotate_css", "vendor/folium/leaflet.awesome.rotate.css"),
)
_CLUSTER_JS = (("markerclusterjs", "vendor/markercluster/leaflet.markercluster.js"),)
_CLUSTER_CSS = (
    ("markerclustercss", "vendor/markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", "vendor/markercluster/MarkerCluster.Default.css"),
)


def _under(static: str, items: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    base = static.rstrip("/")
    return [(name, f"{base}/{path}") for name, path in items]


def local_js(static: str = "/static") -> list[tuple[str, str]]:
    """folium's ``default_js`` with every script served from ``static``."""
    return _under(static, _JS)


def local_css(static: str = "/static") -> list[tuple[str, str]]:
    """folium's ``default_css`` with every stylesheet served from ``static``."""
    return _under(static, _CSS)


def app_js(static: str = "/static") -> str:
    """The page's own script (layers from data, the dispatcher's actions)."""
    return f"{static.rstrip('/')}/fieldroute/map.js"


def app_css(static: str = "/static") -> str:
    """The page's own stylesheet (panel, markers, print rules)."""
    return f"{static.rstrip('/')}/fieldroute/map.css"


def localise(element: Any, static: str = "/static") -> Any:
    """Point one folium map (or plugin) instance at the local copies.

    Raises ``ValueError`` for an element this module has no local copy for,
    rather than letting its CDN links through silently.
    """
    if isinstance(element, MarkerCluster):
        element.default_js = _under(static, _CLUSTER_JS)
        element.default_css = _under(static, _CLUSTER_CSS)
        return element
    import folium

    if isinstance(element, folium.Map):
        element.default_js = local_js(static)
        element.default_css = local_css(static)
        return element
    raise ValueError(f"no local assets for {type(element).__name__}; vendor them first")


def marker_cluster(static: str = "/static", **kwargs: Any) -> MarkerCluster:
    """folium's ``MarkerCluster`` linked to the vendored Leaflet.markercluster."""
    return localise(MarkerCluster(**kwargs), static)
