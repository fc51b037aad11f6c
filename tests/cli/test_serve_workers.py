"""`fieldroute serve --workers N`: N processes, each with its own socket on the
port (SO_REUSEPORT), replaced when one dies, all stopped by one SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from api.serving import reuse_port_supported
from tests import live_server

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="needs SO_REUSEPORT")


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
            found.add(int(entry))
    return found


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[3] == "0A" and int(cols[1].split(":")[1], 16) == port:  # 0A: LISTEN
            inodes.add(cols[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_workers_share_the_port_are_replaced_and_stop_together(
    sqlite_template: Path, tmp_path: Path
) -> None:
    server = live_server.start(sqlite_template, tmp_path, "--workers", "2")
    proc, port = server.proc, server.port
    announcements: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "workers serving" in line:
                announcements.append(line)

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        # Killing a worker before it has started would be a start-up fault (which
        # stops the server): wait until the supervisor says all are serving.
        _until(lambda: len(announcements) == 1 and server.healthy(), "two workers serving")
        workers = _children(proc.pid)

        def each_listening() -> list[set[str]]:
            listening = _listening_inodes(port)
            return [(_socket_inodes(w) & listening) for w in workers]

        # Each worker listens on a socket of its own (the kernel balances between
        # them); with one shared socket both would hold the same inode. (One may
        # answer before the other has bound: wait for both.)
        _until(lambda: all(len(s) == 1 for s in each_listening()), "both workers listening")
        per_worker = each_listening()
        assert per_worker[0] != per_worker[1]

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        _until(
            lambda: (
                len(_children(proc.pid) - workers) == 1
                and len(announcements) == 2
                and server.healthy()
            ),
            "a replacement worker",
        )
        assert victim not in _children(proc.pid)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert _children(proc.pid) == set()
        assert not server.healthy()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_worker_that_cannot_start_stops_the_server() -> None:
    """A fault at start-up would repeat on every restart: stop, exit code 1."""
    from api.serving import serve_workers

    started = time.monotonic()
    assert serve_workers("tests.no_such_module:app", "127.0.0.1", live_server.free_port(), 2) == 1
    assert time.monotonic() - started < 60


def test_an_outdated_schema_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FIELDROUTE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "FIELDROUTE_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--port",
            str(live_server.free_port()),
            "--workers",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "schema" in (done.stdout + done.stderr).lower()
