"""The FastAPI application: one app for dispatchers, engineers and the batch."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from api import problems
from api.deps import WRITERS_IN_FLIGHT, AccountCache
from api.routers import ALL_ROUTERS, BY_TRAFFIC
from crm.db import check_schema, make_engine
from crm.geocoding import make_geocoder
from crm.services.territories import FenceCache
from crm.settings import Settings
from maps.assets import STATIC_DIR

DESCRIPTION = """
fieldroute keeps the work orders of a field-service company and plans who goes
where. Log in at `POST /auth/token` (OAuth2 password flow) and send the token as
`Authorization: Bearer …`.

* Reads return an `ETag`; `PATCH`/`PUT`/`DELETE` need `If-Match` with it
  (missing → 428, stale → 412), so two dispatchers never overwrite each other.
* Errors are `application/problem+json` (RFC 9457) with field-level `errors`.
* Times are ISO 8601 with a zone; they are stored and returned in UTC.
"""


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    verify_schema: bool = True,
) -> FastAPI:
    """Build the app around one engine; refuses an outdated database schema."""
    settings = settings or Settings()
    engine = engine or make_engine(settings.resolved_database_url)
    if verify_schema:
        check_schema(engine)
    app = FastAPI(
        title="fieldroute",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=[{"name": r.tags[0]} for r in ALL_ROUTERS if r.tags],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_turn = (
        asyncio.Semaphore(WRITERS_IN_FLIGHT) if engine.dialect.name == "sqlite" else None
    )
    app.state.fences = FenceCache()
    app.state.accounts = AccountCache()
    app.state.geocoder = make_geocoder(settings.geocoder, settings.geocoder_options)
    problems.install(app)
    # The map page, its data (a large city's is megabytes of GeoJSON) and the Leaflet
    # assets shrink several times; small API answers stay as they are.
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    for router in BY_TRAFFIC:
        app.include_router(router)
    # The map page's Leaflet, fonts and icons: served here, never from a CDN.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness for load balancers and the demo's wait loop."""
        return {"status": "ok"}

    return app
