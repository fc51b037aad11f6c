"""A slow upload does not hold SQLite's write gate: against a real uvicorn, a CSV
import whose body is still arriving leaves the gate free for every other writer."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crm.db import gate_of, make_engine
from crm.models import Role
from tests.factories import PASSWORD, make_user


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_slow_upload_leaves_the_write_gate_free(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "upload.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    gate = gate_of(engine)
    assert gate is not None
    username = make_user(engine, Role.dispatcher)
    port = _free_port()
    env = {
        **os.environ,
        "FIELDROUTE_DATABASE_URL": f"sqlite:///{db}",
        "FIELDROUTE_VAR_DIR": str(tmp_path / "var"),
        "FIELDROUTE_SECRET_KEY": "upload-test-secret-upload-test-secret",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
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
        server.terminate()
        server.wait(30)
        engine.dispose()
