"""On SQLite a write request takes the write gate before its handler runs; while it
waits for the gate (another process writing), the server keeps answering reads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.db import WriteGate, gate_of
from crm.models import Role
from tests import factories as f


@pytest.fixture
def gate(engine: Engine) -> WriteGate:
    found = gate_of(engine)
    if found is None:
        pytest.skip("the write gate is SQLite's")
    return found


def _gate_is_free(gate: WriteGate) -> bool:
    fd = gate.try_take()
    if fd is None:
        return False
    gate.give_back(fd)
    return True


def test_a_waiting_write_does_not_hold_up_reads(
    client: TestClient, engine: Engine, gate: WriteGate
) -> None:
    h = f.headers_for(client, engine, Role.dispatcher)
    c = f.customer(client, h)
    s = f.site(client, h, c["id"])
    existing = f.ticket(client, h, c["id"], s["id"])
    result: dict[str, Any] = {}

    def create() -> None:
        body = {"customer_id": c["id"], "site_id": s["id"], "title": "Queued", "duration_min": 30}
        result["response"] = client.post("/tickets", headers=h, json=body)

    fd = gate.take()  # as if another process were writing
    try:
        writer = threading.Thread(target=create)
        writer.start()
        time.sleep(0.3)
        assert "response" not in result  # the write waits for the gate…
        started = time.perf_counter()
        read = client.get(f"/tickets/{existing['id']}", headers=h)
        assert read.status_code == 200  # …and a read is answered meanwhile
        assert time.perf_counter() - started < 5
        assert "response" not in result
    finally:
        gate.give_back(fd)
    writer.join(30)
    assert result["response"].status_code == 201, result["response"].text
    assert _gate_is_free(gate)  # again, once the request has committed


def test_a_failed_write_lets_go_of_the_gate(
    client: TestClient, engine: Engine, gate: WriteGate
) -> None:
    h = f.headers_for(client, engine, Role.dispatcher)
    c = f.customer(client, h)
    bad = {"customer_id": c["id"], "site_id": 999_999, "title": "No site", "duration_min": 30}
    assert client.post("/tickets", headers=h, json=bad).status_code == 404
    assert _gate_is_free(gate)
