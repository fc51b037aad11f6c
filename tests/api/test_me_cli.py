"""`fieldroute mobile prune` (api/cli_mobile.py): old pings and keys go, recent ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from api.cli_mobile import mobile_app
from crm.db import session_scope
from crm.models import LocationPing
from crm.settings import Settings
from tests import mobile_factories as mf
from tests.mobile_factories import fast_passwords  # noqa: F401


def test_prune_command(client: TestClient, engine: Engine, settings: Settings) -> None:
    """Points older than --days are deleted and counted; the exit code is 0."""
    c = mf.crew(client, engine)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        for age in (1, 5, 40):
            s.add(
                LocationPing(
                    engineer_id=c.engineer_id, at=now - timedelta(days=age), lat=31.2, lon=121.4
                )
            )
    env = {
        "FIELDROUTE_DATABASE_URL": settings.database_url or "",
        "FIELDROUTE_VAR_DIR": str(settings.var_dir),
    }
    r = CliRunner().invoke(mobile_app, ["prune", "--days", "3"], env=env)
    assert r.exit_code == 0, r.output
    assert "pruned 2 location point(s) older than 3 day(s)" in r.output
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(LocationPing)).one() == 1
