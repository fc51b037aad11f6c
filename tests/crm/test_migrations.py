"""Migrations: from empty to head on each backend, models and schema agree,
downgrade works, and the app refuses an outdated schema."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import crm.models  # noqa: F401
from crm.db import SchemaOutdatedError, check_schema, head_revision, make_engine, upgrade

PG_URL = os.environ.get("FIELDROUTE_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not PG_URL:
        pytest.skip("FIELDROUTE_TEST_POSTGRES_URL is not set")
    base = sa.engine.make_url(PG_URL)
    name = f"{base.database}_mig_{os.getpid()}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_url: str) -> None:
    """An empty database upgraded to head has exactly the tables and columns the code
    declares (alembic's autogenerate finds nothing to change)."""
    engine = make_engine(empty_url)
    with pytest.raises(SchemaOutdatedError, match="fieldroute db upgrade"):
        check_schema(engine)
    upgrade(empty_url)
    check_schema(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diffs == [], diffs
    engine.dispose()


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    """Every migration can be undone: base leaves no tables, head restores them."""
    from alembic import command

    from crm.db import alembic_config

    upgrade(empty_url)
    command.downgrade(alembic_config(empty_url), "base")
    engine = make_engine(empty_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_url)
    assert "ticket" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_app_refuses_outdated_schema(tmp_path: Path) -> None:
    """create_app on a database one migration behind stops with a clear message."""
    from api.app import create_app
    from crm.settings import Settings

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with pytest.raises(SchemaOutdatedError, match=r"empty \(no schema\)"):
        create_app(Settings(database_url=url, var_dir=tmp_path), engine=engine)
    assert head_revision() is not None
