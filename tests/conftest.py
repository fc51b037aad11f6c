"""Shared fixtures: a migrated database per test on SQLite and, when
FIELDROUTE_TEST_POSTGRES_URL is set, on PostgreSQL too; an app and a client
on it; logins for each role.

Migrations run once per session per backend; each test then starts from an
empty schema (a copied SQLite file, or truncated PostgreSQL tables), so tests
never see each other's rows.
"""

from __future__ import annotations

import os
import shutil

# Before crm.services.users is imported: cheap argon2 for the many test logins.
os.environ.setdefault("FIELDROUTE_FAST_PASSWORD_HASH", "1")
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from crm.db import make_engine, upgrade
from crm.settings import Settings

# CI replays the same examples on every run (a landing must not hang on a lucky draw);
# a developer's `make test` explores new ones. HYPOTHESIS_PROFILE=ci picks the former.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_URL = os.environ.get("FIELDROUTE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    if not PG_URL:
        pytest.skip("FIELDROUTE_TEST_POSTGRES_URL is not set")
    base = sa.engine.make_url(PG_URL)
    # One database per pytest process: parallel runs (xdist workers, or two
    # people on one server) must never drop each other's database.
    name = f"{base.database}_{_worker()}_{os.getpid()}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    import crm.models  # noqa: F401

    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "fieldroute.db"
        shutil.copyfile(template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("postgres_engine")
        _truncate(eng)
        yield eng


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret-key-with-enough-entropy-0123456789",
        var_dir=tmp_path / "var",
        tile_url="",
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Any:
    from api.app import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
