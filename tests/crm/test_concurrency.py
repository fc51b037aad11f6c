"""Optimistic locking holds even when both writers passed the If-Match check."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.db import session_scope, writer
from crm.errors import PreconditionFailed
from crm.models import Customer
from crm.schemas.customers import CustomerCreate, CustomerUpdate
from crm.services.customers import create_customer, update_customer


def test_interleaved_writers_second_gets_412(engine: Engine) -> None:
    """Two transactions both read version 1 (so both pass the If-Match check); the
    first commits; the second's UPDATE … WHERE version = 1 matches nothing and becomes
    412, and the first writer's change survives."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite writers hold the write lock from BEGIN: they cannot interleave")
    with session_scope(engine) as s:
        cid = create_customer(s, data=CustomerCreate(name="Race Ltd")).id
    slow = Session(writer(engine))
    try:
        assert slow.get(Customer, cid) is not None  # the slow request read version 1
        with session_scope(engine) as fast:
            update_customer(
                fast, customer_id=cid, data=CustomerUpdate(notes="fast"), expected_version=1
            )
        with pytest.raises(PreconditionFailed):
            update_customer(
                slow, customer_id=cid, data=CustomerUpdate(notes="slow"), expected_version=1
            )
    finally:
        slow.close()
    with Session(engine) as s:
        row = s.get(Customer, cid)
        assert row is not None and row.notes == "fast" and row.version == 2


def test_sqlite_writers_queue_instead_of_interleaving(engine: Engine) -> None:
    """On SQLite a second writer waits for the first to finish, then sees its change and
    is refused by the version check — never a silent overwrite."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific locking")
    import threading

    with session_scope(engine) as s:
        cid = create_customer(s, data=CustomerCreate(name="Queue Ltd")).id
    first = Session(writer(engine))
    assert first.get(Customer, cid) is not None  # holds the write lock now
    outcome: list[str] = []

    def second_writer() -> None:
        with Session(writer(engine)) as second:
            try:
                update_customer(
                    second, customer_id=cid, data=CustomerUpdate(notes="second"), expected_version=1
                )
                second.commit()
                outcome.append("applied")
            except PreconditionFailed:
                outcome.append("412")

    t = threading.Thread(target=second_writer)
    t.start()
    t.join(0.3)
    assert t.is_alive(), "the second writer must wait for the lock"
    update_customer(first, customer_id=cid, data=CustomerUpdate(notes="first"), expected_version=1)
    first.commit()
    first.close()
    t.join(30)
    assert outcome == ["412"]
