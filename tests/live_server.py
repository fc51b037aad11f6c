"""`fieldroute serve` as a real process for tests: a copy of the migrated template
database, a free port, the environment, and a wait for /healthz."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    db: Path
    port: int
    proc: subprocess.Popen[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert self.proc.poll() is None, f"server exited with {self.proc.returncode}"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(template: Path, tmp_path: Path, *args: str) -> LiveServer:
    """Serve a copy of ``template`` (stderr piped, as text); ``args`` go to `serve`."""
    db = tmp_path / "live.db"
    shutil.copy(template, db)
    port = free_port()
    env = {
        **os.environ,
        "FIELDROUTE_DATABASE_URL": f"sqlite:///{db}",
        "FIELDROUTE_VAR_DIR": str(tmp_path / "var"),
        "FIELDROUTE_SECRET_KEY": "live-server-test-secret-live-server",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return LiveServer(db, port, proc)
