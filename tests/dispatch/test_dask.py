"""The Dask executor on a real local cluster gives the same plan as local processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm.models import Route, Stop
from crm.settings import Settings
from dispatch.batch import plan_day
from tests.dispatch.world import DAY, TZ, World

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _assignments(engine: Engine, plan_id: int) -> dict[int, list[int]]:
    with Session(engine) as s:
        rows = s.exec(
            select(Route.engineer_id, Stop.ticket_id)
            .join(Stop, col(Stop.route_id) == Route.id)
            .where(Route.plan_id == plan_id)
            .order_by(col(Route.engineer_id), col(Stop.seq))
        ).all()
    out: dict[int, list[int]] = {}
    for eid, tid in rows:
        out.setdefault(eid, []).append(tid)
    return out


def test_dask_and_local_executors_plan_alike(engine: Engine, dask_client: Any) -> None:
    """Same records, same solution limit: the same engineer and order for every ticket,
    with both territories solved as separate Dask tasks."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the executor does not depend on the database; SQLite is enough")
    w = World(engine).setup()
    w.territory("North", lat=31.25, lon=121.40, size=0.05)
    w.territory("East", lat=31.25, lon=121.60, size=0.05)
    w.engineer("Ann", lat=31.27, lon=121.42, primary=["North"], lunch=(11.5, 13, 30))
    w.engineer("Abe", lat=31.26, lon=121.44, primary=["North"])
    w.engineer("Cai", lat=31.27, lon=121.62, primary=["East"], secondary=["North"])
    w.scatter(10, territory="North", lat=31.25, windows=[(8, 13)])
    w.scatter(6, territory="East", lat=31.25, lon=121.60)
    settings = Settings(timezone=TZ)
    common: dict[str, Any] = {"time_limit": 60, "solution_limit": 25, "settings": settings}
    local = plan_day(engine, DAY, executor="local", **common)
    dask = plan_day(engine, DAY, executor="dask", dask_client=dask_client, **common)
    assert local.exit_code == dask.exit_code == 0
    assert dask.totals["assigned"] == local.totals["assigned"] == 16
    assert {p.key for p in dask.parts} == {"p01", "p02"}
    assert _assignments(engine, dask.plan_id or 0) == _assignments(engine, local.plan_id or 0)
    assert dask.totals["km"] == local.totals["km"]
