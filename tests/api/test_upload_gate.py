"""A slow upload does not hold SQLite's write gate: against a real uvicorn, a CSV
import whose body is still arriving leaves the gate free for every other writer."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from crm.db import gate_of, make_engine
from crm.models import Role
from tests import live_server
from tests.factories import PASSWORD, make_user


def test_a_slow_upload_leaves_the_write_gate_free(sqlite_template: Path, tmp_path: Path) -> None:
    server = live_server.start(sqlite_template, tmp_path)
    engine = make_engine(f"sqlite:///{server.db}")
    gate = gate_of(engine)
    assert gate is not None
    username = make_user(engine, Role.dispatcher)
    port, base = server.port, server.base
    try:
        server.wait_healthy()
        token = httpx.post(
            f"{base}/auth/token", data={"username": username, "password": PASSWORD}
        ).json()["access_token"]
        body = b"name,phone\nSlow Upload Ltd,+86 139 0000 0001\n"
        head = (
            f"POST /imports/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as phone:
            phone.sendall(head + body[:10])  # the rest is still on its way
            time.sleep(0.5)
            fd = gate.try_take()
            assert fd is not None, "the upload holds the write gate while its body arrives"
            gate.give_back(fd)
            phone.sendall(body[10:])
            chunks = []
            while chunk := phone.recv(65536):  # until the server closes
                chunks.append(chunk)
            answer = b"".join(chunks).decode()
        assert answer.startswith("HTTP/1.1 200"), answer
        assert '"created":1' in answer.replace(" ", "")
    finally:
        server.stop()
        engine.dispose()
