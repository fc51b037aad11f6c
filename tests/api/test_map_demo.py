"""The demo city: reproducible generation, realistic shapes, loading through the crm
services (dedup, validation, fences), the map's view of it, and ``fieldroute demo``."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from pathlib import Path

import pytest
import shapely
import typer
from sqlalchemy.engine import Engine
from sqlmodel import func, select
from typer.testing import CliRunner

from api.mapdata import load_map_data
from crm.db import session_scope
from crm.models import Customer, Engineer, Shift, Site, Territory, Ticket, User
from crm.services.users import authenticate
from dispatch import democity
from dispatch.democity import SIZES, generate_city, load_city, write_sketch_plan
from dispatch.staffing import trade_cover
from geofence import FenceIndex, FenceItem

DAY = date(2026, 12, 2)
PASSWORD = "demo-password-123"


def test_same_seed_same_city() -> None:
    """A seed reproduces the city exactly; another seed gives another city."""
    assert generate_city("small", 3) == generate_city("small", 3)
    assert generate_city("small", 3) != generate_city("small", 4)


@pytest.mark.parametrize(
    ("size", "territories", "engineers", "tickets"),
    [("small", 6, 15, 150), ("medium", 12, 60, 600), ("large", 25, 250, 5000)],
)
def test_sizes(size: str, territories: int, engineers: int, tickets: int) -> None:
    """The sizes the issue asks for: medium is the default demo, large the benchmark."""
    city = generate_city(size, 7)
    assert (len(city.territories), len(city.engineers), len(city.tickets)) == (
        territories,
        engineers,
        tickets,
    )


def test_district_fences_share_borders_without_overlaps() -> None:
    """Valid single polygons, no overlaps, neighbours touching: a proper coverage."""
    city = generate_city("medium", 7)
    shapes = [t.geometry for t in city.territories]
    assert all(isinstance(s, shapely.Polygon) and s.is_valid for s in shapes)
    assert bool(shapely.coverage_is_valid(shapely.GeometryCollection(shapes)))
    index = FenceIndex(FenceItem(i, s) for i, s in enumerate(shapes))
    assert len(index.touching_pairs()) >= len(shapes)
    assert min(len(s.exterior.coords) for s in shapes) > 8  # jagged, not boxes
    names = [t.name for t in city.territories]
    assert names[:3] == ["Huangpu", "Jing'an", "Xuhui"] and len(set(names)) == len(names)


def test_engineers_live_in_their_primary_territory_and_cover_every_trade() -> None:
    """Homes lie inside the primary fence; each district has every trade at level 3+."""
    city = generate_city("medium", 7)
    for e in city.engineers:
        home = shapely.Point(e.home.lon, e.home.lat)
        assert city.territories[e.primary].geometry.buffer(1e-6).contains(home)
        assert e.primary not in e.secondary
    for tid in range(len(city.territories)):
        crew = [e for e in city.engineers if e.primary == tid]
        for code, _, _ in democity.SKILLS:
            assert any(e.skills.get(code, 0) >= 3 for e in crew), (tid, code)


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_days_off_are_rostered_in_proportion_to_each_crew(seed: int) -> None:
    """No district loses more than its share of tomorrow's days off (rounded up)."""
    city = generate_city("large", seed)
    off = sum(1 for e in city.engineers if e.shift is None)
    assert off > 0
    for tid in range(len(city.territories)):
        crew = [e for e in city.engineers if e.primary == tid]
        away = sum(1 for e in crew if e.shift is None)
        assert away <= math.ceil(off * len(crew) / len(city.engineers)), tid


@pytest.mark.parametrize("seed", [7, 11])
def test_each_districts_trades_can_carry_its_work(seed: int) -> None:
    """Per district, the on-shift level-3 holders carry every trade's minutes at once, or
    the whole crew is busy: no trade is left short beside an engineer with hours to spare.

    Checked from the city itself (sites placed by the fences again), not from the
    generator's own bookkeeping: a district short of a trade is a day no plan can serve.
    """
    city = generate_city("large", seed)
    index = FenceIndex(FenceItem(i, t.geometry) for i, t in enumerate(city.territories))
    where = index.assign(lat=[s.at.lat for s in city.sites], lon=[s.at.lon for s in city.sites])
    demand = democity.trade_minutes(city.tickets, where.tolist())
    assert len(demand) == len(city.territories)
    short = 0
    for tid, minutes in demand.items():
        crew = [e for e in city.engineers if e.primary == tid and democity._paid_minutes(e)]
        hours = [democity._paid_minutes(e) * democity.WORK_SHARE for e in crew]
        cover = trade_cover(
            minutes, hours, [{c for c, v in e.skills.items() if v >= 3} for e in crew]
        )
        name = city.territories[tid].name
        if cover.short:
            short += 1
            assert sum(cover.free) <= len(crew), name  # everyone busy: people, not trades
        assert cover.carried >= min(sum(minutes.values()), sum(hours)) - len(crew), name
    assert short <= len(city.territories) // 4  # a few districts busy, not the city


def test_the_day_fits_the_crew() -> None:
    """Work demanded fills at most WORK_SHARE of the crew's paid time (room for driving),
    after durations are rounded and floored — not only before."""
    for size in ("medium", "large"):
        city = generate_city(size, 7)
        work = sum(t.duration_min for t in city.tickets)
        paid = sum(democity._paid_minutes(e) for e in city.engineers)
        assert work <= democity.WORK_SHARE * paid, size
        assert min(t.duration_min for t in city.tickets) >= 10


def test_load_goes_through_the_services(engine: Engine) -> None:
    """Fences validated, sites placed by the fence index, a dispatcher who can log in."""
    spec = generate_city("tiny", 3)
    report = load_city(engine, spec, day=DAY, dispatcher_password=PASSWORD)
    with session_scope(engine) as s:
        assert s.exec(select(func.count()).select_from(Territory)).one() == 3
        assert s.exec(select(func.count()).select_from(Engineer)).one() == len(spec.engineers)
        assert s.exec(select(func.count()).select_from(Shift)).one() == report.shifts
        assert s.exec(select(func.count()).select_from(Ticket)).one() == (
            len(spec.tickets) + len(spec.history)
        )
        outside = s.exec(
            select(func.count()).select_from(Site).where(Site.territory_id == None)  # noqa: E711
        ).one()
        assert outside == report.sites_outside
        phones = [c.phone for c in s.exec(select(Customer)) if c.phone]
        assert all(p.startswith("+86") for p in phones)
        user = authenticate(s, username="dispatcher", password=PASSWORD)
        assert user is not None and user.role == "dispatcher"
        assert s.exec(select(User)).one().username == "dispatcher"


def test_repeat_caller_typed_differently_becomes_one_customer(engine: Engine) -> None:
    """Two customers whose phones normalise alike: the second merges into the first."""
    spec = generate_city("tiny", 3)
    customers = list(spec.customers)
    customers[0] = dataclasses.replace(customers[0], phone="+86 138 1234 5678")
    customers[1] = dataclasses.replace(customers[1], phone="138-1234-5678", licence_no=None)
    customers[2] = dataclasses.replace(customers[2], phone="12345")  # invalid: kept, no phone
    spec = dataclasses.replace(spec, customers=tuple(customers))
    report = load_city(engine, spec, day=DAY, dispatcher_password=PASSWORD)
    assert report.repeat_callers_merged >= 1
    assert report.phones_rejected >= 1
    with session_scope(engine) as s:
        assert s.exec(select(func.count()).select_from(Customer)).one() == report.customers
        merged = s.exec(select(Customer).where(Customer.phone == "+8613812345678")).all()
        assert len(merged) == 1
        rejected = s.exec(select(Customer).where(Customer.name == customers[2].name)).all()
        assert any(c.phone is None and "rejected" in c.notes for c in rejected)


def test_sketch_plan_feeds_the_map(engine: Engine) -> None:
    """The map of the loaded city shows fences, engineers, routes and reasons."""
    load_city(engine, generate_city("tiny", 3), day=DAY, dispatcher_password=PASSWORD)
    with session_scope(engine) as s:
        plan = write_sketch_plan(s, day=DAY)
    with session_scope(engine) as s:
        data = load_map_data(s, day=DAY, tz="Asia/Shanghai")
    assert data.plan_id == plan.id
    assert len(data.territories) == 3
    assert data.routes and all(r.stops for r in data.routes)
    shown = {t.id for t in data.tickets}
    assert all(s.ticket_id in shown for r in data.routes for s in r.stops)
    placed = {s.ticket_id for r in data.routes for s in r.stops}
    assert not placed & {u.ticket_id for u in data.unassigned}
    assert len(placed) + len(data.unassigned) == len(data.tickets)
    assert data.leaderboard  # last week's completed tickets
    assert all(row.completed >= row.on_time for row in data.leaderboard)


@pytest.mark.slow
def test_demo_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fieldroute demo --no-serve`: loads, plans, prints URL and login, exits 0;
    a second run reuses the city; a database with other data is left alone."""
    from api.cli_demo import demo

    monkeypatch.setitem(SIZES, "small", SIZES["tiny"])  # a city in seconds
    db = tmp_path / "demo.db"
    monkeypatch.setenv("FIELDROUTE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("FIELDROUTE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("FIELDROUTE_SECRET_KEY", "demo-test-secret-key-0123456789-abcdef")
    app = typer.Typer()
    app.command()(demo)
    runner = CliRunner()
    args = ["--size", "small", "--no-serve", "--password", PASSWORD, "--time-limit", "1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Map:       http://127.0.0.1:8000/map?date=" in first.output
    assert f"dispatcher / {PASSWORD}" in first.output
    assert "territories (district fences)" in first.output
    assert "TODO" not in first.output
    second = runner.invoke(app, [*args[:-2], "--port", "8123"])
    assert second.exit_code == 0, second.output
    assert "already in" in second.output
    assert "http://127.0.0.1:8123/map" in second.output

    other = tmp_path / "other.db"
    monkeypatch.setenv("FIELDROUTE_DATABASE_URL", f"sqlite:///{other}")
    from crm.db import make_engine, upgrade

    upgrade(f"sqlite:///{other}")
    with session_scope(make_engine(f"sqlite:///{other}")) as s:
        s.add(Customer(name="A real customer"))
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "--reset" in refused.output
