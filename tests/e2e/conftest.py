"""Browser tests: a real uvicorn on a free 127.0.0.1 port, a temporary SQLite city,
and Debian's Chromium driven by Playwright (never a downloaded browser).

Skipped with a reason when /usr/bin/chromium is missing, unless
``FIELDROUTE_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "browser-test-password"
TZ = "Asia/Shanghai"


def require_chromium() -> None:
    """Skip (or fail in CI) when the system Chromium is not installed."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it"
    if os.environ.get("FIELDROUTE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " and FIELDROUTE_REQUIRE_BROWSER=1")
    pytest.skip(message)


@dataclass
class LiveServer:
    """The running app and what the fixture put in its database."""

    url: str
    day: date
    engineer_ids: list[int]
    spare_ticket_id: int
    database_url: str
    requests: list[str] = field(default_factory=list)

    def has_route(self, path: str) -> bool:
        """Whether the running app serves ``path`` (read from its OpenAPI document)."""
        spec = httpx.get(f"{self.url}/openapi.json", timeout=30).json()
        return path in spec.get("paths", {})


def _load(database_url: str, day: date) -> tuple[list[int], int]:
    """A tiny demo city, a published sketch plan for the day, one ticket left out of it."""
    from sqlmodel import select

    from crm.db import make_engine, session_scope, upgrade
    from crm.models import Engineer, Site
    from crm.schemas.common import Window
    from crm.schemas.tickets import RequiredSkill, TicketCreate
    from crm.services.common import SYSTEM
    from crm.services.tickets import create_ticket
    from dispatch.democity import generate_city, load_city, write_sketch_plan
    from dispatch.plans import publish_plan

    upgrade(database_url)
    engine = make_engine(database_url)
    load_city(engine, generate_city("tiny", 3), day=day, tz=TZ, dispatcher_password=PASSWORD)
    with session_scope(engine) as session:
        plan = write_sketch_plan(session, day=day)
    assert plan.id is not None
    publish_plan(engine, plan.id)  # as the demo does: real-time dispatch works on it
    with session_scope(engine) as session:
        site = session.exec(
            select(Site).where(Site.territory_id != None).order_by(Site.id)  # noqa: E711
        ).first()
        assert site is not None and site.id is not None
        zone = ZoneInfo(TZ)
        start = datetime(day.year, day.month, day.day, 13, tzinfo=zone)
        spare = create_ticket(
            session,
            data=TicketCreate(
                customer_id=site.customer_id,
                site_id=site.id,
                title="Browser test: replace thermostat",
                duration_min=20,
                priority="high",
                required_skills=[RequiredSkill(code="hvac", min_level=1)],
                windows=[Window(start=start, end=start + timedelta(hours=4))],
            ),
            actor=SYSTEM,
        )
        engineers = [e.id for e in session.exec(select(Engineer).order_by(Engineer.id))]
    engine.dispose()
    assert spare.id is not None
    return [e for e in engineers if e is not None], spare.id


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn serving a demo city on a port only it holds; stopped at the end."""
    require_chromium()
    work = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{work / 'fieldroute.db'}"
    day = datetime.now(ZoneInfo(TZ)).date() + timedelta(days=1)
    engineer_ids, spare = _load(database_url, day)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "FIELDROUTE_DATABASE_URL": database_url,
        "FIELDROUTE_VAR_DIR": str(work / "var"),
        "FIELDROUTE_SECRET_KEY": "e2e-secret-key-with-enough-entropy-0123456789",
        "FIELDROUTE_TILE_URL": "",
        "FIELDROUTE_TIMEZONE": TZ,
    }
    log = (work / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.serve", str(sock.fileno())],
        cwd=ROOT,
        env=env,
        pass_fds=[sock.fileno()],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    sock.close()  # the server holds its copy; if it dies, connections fail fast
    url = f"http://127.0.0.1:{port}"
    try:
        # One bounded request: it waits in the listen backlog until the app is up.
        r = httpx.get(f"{url}/healthz", timeout=60)
        assert r.status_code == 200, r.text
    except Exception:
        proc.kill()
        raise RuntimeError(
            f"the server did not start: {(work / 'server.log').read_text()[-2000:]}"
        ) from None
    try:
        yield LiveServer(
            url=url,
            day=day,
            engineer_ids=engineer_ids,
            spare_ticket_id=spare,
            database_url=database_url,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; Playwright's own browsers are never downloaded."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context recording every request URL it makes."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    live_server.requests = []
    pg.on("request", lambda r: live_server.requests.append(r.url))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def login(page: Any, server: LiveServer, path: str) -> None:
    """Open ``path``, get sent to the login form, log in as the demo dispatcher."""
    page.goto(server.url + path)
    assert "/map/login" in page.url
    page.fill("#username", "dispatcher")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    page.wait_for_function("() => window.fieldrouteReady !== undefined")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path
