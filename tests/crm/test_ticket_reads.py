"""The hand-written ticket list (crm.services.ticket_reads) against a reference: the
same filters applied in Python to the ORM's rows, on SQLite and PostgreSQL, for
filter combinations drawn by hypothesis; and each row against the ORM's values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_json
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crm.db import session_scope
from crm.errors import InvalidInput
from crm.models import (
    Customer,
    Engineer,
    Priority,
    Site,
    Skill,
    Territory,
    Ticket,
    TicketSkill,
    TicketStatus,
    TicketWindow,
)
from crm.schemas.tickets import TicketFilters
from crm.services import ticket_reads
from crm.services.tickets import to_public

T = TypeVar("T")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LATS = [31.0, 31.1, 31.2, 31.3, 31.4, 31.5]
LONS = [121.0, 121.1, 121.2, 121.3, 121.4, 121.5]
TITLES = ["Boiler", "boiler leak", "AC service", "Fridge", "Water heater", "BOILER check"]


def _seed(engine: Engine) -> None:
    rng = random.Random(3)
    with session_scope(engine) as s:
        terr = [Territory(name=f"T{i}") for i in range(2)]
        cust = [Customer(name=f"C{i}") for i in range(3)]
        engs = [Engineer(name=f"E{i}", home_lat=31.2, home_lon=121.4) for i in range(3)]
        s.add_all([*terr, *cust, *engs])
        s.flush()
        sites = [
            Site(
                customer_id=cust[i % 3].id,
                lat=LATS[i],
                lon=LONS[i],
                territory_id=terr[i % 2].id if i < 4 else None,
            )
            for i in range(6)
        ]
        s.add_all(sites)
        s.flush()
        skills = [Skill(code=c, name=c) for c in ("zeta", "alpha", "mid")]
        s.add_all(skills)
        s.flush()
        for i in range(40):
            site = rng.choice(sites)
            planned = T0 + timedelta(hours=rng.randint(0, 72)) if rng.random() < 0.6 else None
            ticket = Ticket(
                customer_id=site.customer_id,
                site_id=site.id,
                title=rng.choice(TITLES),
                duration_min=30,
                priority=rng.choice(list(Priority)),
                status=rng.choice(list(TicketStatus)),
                engineer_id=rng.choice([None, *(e.id for e in engs)]),
                planned_start=planned,
                planned_end=planned + timedelta(hours=1) if planned else None,
                sla_due_at=T0 + timedelta(hours=rng.randint(0, 96), microseconds=i)
                if rng.random() < 0.7
                else None,
                checkin_far=rng.random() < 0.2,
                checkin_distance_m=rng.choice([None, 12.5, 480.0]),
                created_at=T0 + timedelta(hours=i),
            )
            s.add(ticket)
            s.flush()
            # Inserted out of order: the answer must sort them itself.
            for k in rng.sample(range(3), rng.randint(0, 3)):
                s.add(TicketSkill(ticket_id=ticket.id, skill_id=skills[k].id, min_level=k + 1))
            for h in rng.sample([30, 2, 14], rng.randint(0, 3)):
                start = T0 + timedelta(hours=h)
                s.add(
                    TicketWindow(
                        ticket_id=ticket.id, start_at=start, end_at=start + timedelta(hours=2)
                    )
                )


def _maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """Mostly absent: with every filter present at once nothing would match."""
    return st.one_of(st.none(), st.none(), st.none(), strategy)


def _times() -> st.SearchStrategy[datetime | None]:
    # Whole hours, as the seeded times are: boundaries are hit exactly.
    return _maybe(st.integers(0, 100).map(lambda h: T0 + timedelta(hours=h)))


filters = st.builds(
    TicketFilters,
    status=_maybe(st.lists(st.sampled_from(list(TicketStatus)), min_size=1, max_size=3)),
    priority=_maybe(st.lists(st.sampled_from(list(Priority)), min_size=1, max_size=2)),
    engineer_id=_maybe(st.integers(1, 4)),
    customer_id=_maybe(st.integers(1, 3)),
    site_id=_maybe(st.integers(1, 6)),
    territory_id=_maybe(st.integers(1, 2)),
    flag=_maybe(st.just("checkin_far")),
    created_from=_times(),
    created_to=_times(),
    planned_from=_times(),
    planned_to=_times(),
    sla_before=_times(),
    min_lat=_maybe(st.sampled_from(LATS)),
    max_lon=_maybe(st.sampled_from(LONS)),
    q=_maybe(st.sampled_from(["boil", "BOILER", "heat", "x"])),
    sort=_maybe(st.sampled_from(["-priority", "sla_due_at", "-planned_start,status"])),
    limit=st.integers(1, 50),
    offset=st.one_of(st.just(0), st.integers(0, 45)),
)


def _expected(
    tickets: list[Ticket], sites: dict[int, Site], f: TicketFilters, nulls_first_asc: bool
) -> list[int]:
    def keep(t: Ticket) -> bool:
        site = sites[t.site_id]
        checks = [
            not f.status or t.status in f.status,
            not f.priority or t.priority in f.priority,
            f.engineer_id is None or t.engineer_id == f.engineer_id,
            f.customer_id is None or t.customer_id == f.customer_id,
            f.site_id is None or t.site_id == f.site_id,
            f.territory_id is None or site.territory_id == f.territory_id,
            f.flag is None or t.checkin_far,
            f.min_lat is None or site.lat >= f.min_lat,
            f.max_lon is None or site.lon <= f.max_lon,
            f.q is None or f.q.lower() in t.title.lower(),
        ]
        for value, lo, hi in (
            (t.created_at, f.created_from, f.created_to),
            (t.planned_start, f.planned_from, f.planned_to),
            (t.sla_due_at, None, f.sla_before),
        ):
            if lo is not None:
                checks.append(value is not None and value >= lo)
            if hi is not None:
                checks.append(value is not None and value < hi)
        return all(checks)

    rows = sorted((t for t in tickets if keep(t)), key=lambda t: t.id or 0)
    for part in reversed((f.sort or "").split(",")):
        if not part:
            continue
        name, desc = part.lstrip("-"), part.startswith("-")
        nulls_first = nulls_first_asc != desc
        present = [t for t in rows if getattr(t, name) is not None]
        absent = [t for t in rows if getattr(t, name) is None]
        # Stable (reverse too): ties keep the order of the keys after this one. Enums
        # compare by their stored value, times by their UTC text.
        present.sort(key=lambda t: str(getattr(t, name)), reverse=desc)
        rows = absent + present if nulls_first else present + absent
    return [t.id or 0 for t in rows]


def test_the_list_matches_a_reference_filter(engine: Engine) -> None:
    _seed(engine)
    with Session(engine) as s:
        tickets = list(s.exec(select(Ticket)))
        sites = {x.id or 0: x for x in s.exec(select(Site))}
    nulls_first_asc = engine.dialect.name == "sqlite"  # PostgreSQL puts NULLs last

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(f=filters)
    def check(f: TicketFilters) -> None:
        with Session(engine) as s:
            rows, total = ticket_reads.list_page(s, f)
        want = _expected(tickets, sites, f, nulls_first_asc)
        assert total == len(want)
        assert [r["id"] for r in rows] == want[f.offset : f.offset + f.limit]

    check()


def test_rows_equal_the_orm_values_and_engineers_see_their_own(engine: Engine) -> None:
    _seed(engine)
    with Session(engine) as s:
        rows, total = ticket_reads.list_page(s, TicketFilters(limit=500))
        assert total == 40 == len(rows)
        orm = {t.id: t for t in s.exec(select(Ticket))}
        models = {m.id: m for m in to_public(s, list(orm.values()))}
        for row in rows:
            # Byte-equal JSON: types too (a 0 is not False), times in UTC with "Z".
            assert to_json(row) == models[row["id"]].model_dump_json().encode()
        # Skills by code and windows by start, checked against the tables themselves.
        codes = {sk.id: sk.code for sk in s.exec(select(Skill))}
        for row in rows:
            want_skills = sorted(
                (codes[ts.skill_id], ts.min_level)
                for ts in s.exec(select(TicketSkill).where(TicketSkill.ticket_id == row["id"]))
            )
            assert [(x["code"], x["min_level"]) for x in row["required_skills"]] == want_skills
            want_windows = sorted(
                (w.start_at, w.end_at)
                for w in s.exec(select(TicketWindow).where(TicketWindow.ticket_id == row["id"]))
            )
            assert [(w["start"], w["end"]) for w in row["windows"]] == want_windows
        assert any(len(r["windows"]) > 1 for r in rows) and any(
            len(r["required_skills"]) > 1 for r in rows
        )
        mine, count = ticket_reads.list_page(s, TicketFilters(limit=500), only_engineer=2)
        assert count == len(mine) == sum(1 for t in orm.values() if t.engineer_id == 2)
        one = ticket_reads.one(s, rows[0]["id"])
        assert one is not None
        assert to_json(one) == models[rows[0]["id"]].model_dump_json().encode()
        assert ticket_reads.one(s, 10_000) is None


def test_an_unknown_sort_key_is_refused(engine: Engine) -> None:
    with Session(engine) as s, pytest.raises(InvalidInput, match="cannot sort by 'title'"):
        ticket_reads.list_page(s, TicketFilters(sort="title"))
