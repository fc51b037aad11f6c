"""The dispatcher's map in a real browser: login, layers in the DOM, nothing leaves
127.0.0.1, popups, the day sheet, and (once dispatch serves it) candidates → assign."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def outside_requests(server: LiveServer) -> list[str]:
    """Requests to anything but this server (data: URLs never hit the network)."""
    here = urlsplit(server.url).netloc
    return [u for u in server.requests if not u.startswith("data:") and urlsplit(u).netloc != here]


def test_dispatcher_map(page: Any, live_server: LiveServer) -> None:
    """Log in, see fences, routes, engineers and tickets; no request leaves 127.0.0.1."""
    path = f"/map?date={live_server.day.isoformat()}"
    login(page, live_server, path)
    assert page.locator("path.fr-fence").count() == 3
    assert page.locator("path.fr-route").count() >= 1
    stops = page.evaluate("() => fieldroute.state().data.stops.features.length")
    assert stops >= 1  # numbered stops are drawn on a canvas, counted from the data
    assert page.locator("canvas.leaflet-zoom-animated").count() >= 1
    assert page.locator(".fr-engineer").count() == len(live_server.engineer_ids)
    tickets = page.locator(".marker-cluster, path.fr-ticket").count()
    assert tickets >= 1
    assert page.locator(f'#fr-unassigned li[data-ticket="{live_server.spare_ticket_id}"]').count()
    assert page.locator(".fr-chart rect").count() >= 1
    page.locator(".fr-engineer").first.click(force=True)  # the marker on top answers
    popup = page.locator(".leaflet-popup-content .fr-popup")
    popup.wait_for()
    assert "Shift" in popup.inner_text()
    screenshot(page, "map-dispatcher.png")
    assert page.errors == []  # type: ignore[attr-defined]
    assert outside_requests(live_server) == []
    assert any(u.endswith("/static/vendor/leaflet/leaflet.js") for u in live_server.requests)


def test_unassigned_ticket_popup(page: Any, live_server: LiveServer) -> None:
    """Clicking an unassigned ticket in the list opens its popup with reason and button."""
    login(page, live_server, f"/map?date={live_server.day.isoformat()}")
    t = live_server.spare_ticket_id
    page.click(f'#fr-unassigned a[data-fr-action="focus"][data-ticket="{t}"]')
    popup = page.locator(f'.leaflet-popup-content .fr-popup[data-ticket="{t}"]')
    popup.wait_for()
    text = popup.inner_text()
    assert "Browser test: replace thermostat" in text
    assert "not in the plan" in text
    assert popup.locator('button[data-fr-action="candidates"]').count() == 1
    assert outside_requests(live_server) == []


def test_engineer_day_sheet_prints(page: Any, live_server: LiveServer) -> None:
    """The day sheet shows the route and the stop table, and prints without map controls."""
    path = f"/engineers/{live_server.engineer_ids[1]}/map?date={live_server.day.isoformat()}"
    login(page, live_server, path)
    assert page.locator("table.fr-itinerary, .fr-empty").count() >= 1
    page.emulate_media(media="print")
    assert page.locator(".leaflet-control-zoom").is_hidden()
    screenshot(page, "map-engineer-day.png")
    assert outside_requests(live_server) == []


def test_find_engineer_and_assign(page: Any, live_server: LiveServer) -> None:
    """Find engineer → ranked candidates with ETA and km → assign → the route redraws."""
    if not (
        live_server.has_route("/dispatch/candidates") and live_server.has_route("/dispatch/assign")
    ):
        pytest.skip("this build has no /dispatch/candidates and /dispatch/assign yet")
    login(page, live_server, f"/map?date={live_server.day.isoformat()}")
    t = live_server.spare_ticket_id
    page.click(f'#fr-unassigned button[data-fr-action="candidates"][data-ticket="{t}"]')
    first = page.locator("#fr-candidates .fr-candidate").first
    first.wait_for()
    assert "ETA" in first.inner_text() and "km" in first.inner_text()
    engineer = int(first.get_attribute("data-engineer") or 0)
    count = (
        "(e) => fieldroute.state().data.stops.features"
        ".filter(f => f.properties.engineer_id === e).length"
    )
    before = page.evaluate(count, engineer)
    page.evaluate(
        "() => { window.__assigned = false; document.addEventListener("
        "'fieldroute:assigned', () => { window.__assigned = true; }, { once: true }); }"
    )
    first.locator('button[data-fr-action="assign"]').click()
    page.wait_for_function("() => window.__assigned === true")
    assert page.evaluate(count, engineer) == before + 1
    assert page.locator(f'#fr-unassigned li[data-ticket="{t}"]').count() == 0
    stops = page.evaluate(
        "(t) => fieldroute.state().data.stops.features"
        ".filter(f => f.properties.ticket_id === t).map(f => f.properties.engineer_id)",
        t,
    )
    assert stops == [engineer]
    screenshot(page, "map-after-assign.png")
    assert outside_requests(live_server) == []
