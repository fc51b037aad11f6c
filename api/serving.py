"""Worker processes that share a port evenly (SO_REUSEPORT), supervised.

uvicorn's own ``--workers`` has every worker accept from one shared socket,
and whichever worker wakes first takes the connection. Under load that is
the one already running, so long-lived keep-alive connections pile onto it:
measured with bench/api_load.py (50 clients, 2 workers), one worker did 85 %
of the work while the other idled, and the latency was that of one core.
With SO_REUSEPORT each worker has its own socket on the same port and the
kernel spreads new connections across them by hash, so both cores serve.

The parent only supervises: it restarts a worker that dies while serving,
stops everything if one cannot start (the same fault would repeat), and
passes SIGINT/SIGTERM on so each worker shuts down gracefully.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from typing import Any

import uvicorn

log = logging.getLogger("fieldroute.serve")


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bind_reuse_port(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _detach_from_terminal() -> None:
    """Own process group (a terminal's Ctrl-C reaches the parent, which stops the
    workers once, gracefully) and, on Linux, SIGTERM when the parent dies, so a
    killed supervisor leaves no worker holding the port."""
    os.setpgrp()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Server(uvicorn.Server):
    """Tells the supervisor when it serves: dying before that is a start-up fault."""

    def __init__(self, config: uvicorn.Config, ready: EventType) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready.set()


def _worker(app: str, host: str, port: int, options: dict[str, Any], ready: EventType) -> None:
    _detach_from_terminal()
    sock = bind_reuse_port(host, port)
    config = uvicorn.Config(app, host=host, port=port, **options)
    _Server(config, ready).run(sockets=[sock])


def serve_workers(app: str, host: str, port: int, workers: int, **options: Any) -> int:
    """Run ``workers`` uvicorn servers on one port until a signal; the exit code."""
    # Bind once here first: a port in use fails now, with one clear message,
    # rather than in every worker. Kept open so no other program takes the port
    # while the workers start (ours can share it: same user, SO_REUSEPORT).
    guard = bind_reuse_port(host, port)
    ctx = mp.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}

    def start() -> tuple[BaseProcess, EventType]:
        ready = ctx.Event()
        proc = ctx.Process(target=_worker, args=(app, host, port, options, ready))
        proc.start()
        return proc, ready

    procs = [start() for _ in range(workers)]
    guard.close()
    code = 0
    announced = False
    try:
        while not stopping:
            time.sleep(0.2)
            serving = all(ready.is_set() and proc.is_alive() for proc, ready in procs)
            if serving and not announced:
                # Operators (and tests) learn here that every worker has started.
                sys.stderr.write(f"fieldroute: {workers} workers serving\n")
                sys.stderr.flush()
            announced = serving
            for i, (proc, ready) in enumerate(procs):
                if proc.is_alive() or stopping:
                    continue
                if not ready.is_set():
                    log.error("worker %s failed to start (exit %s)", proc.pid, proc.exitcode)
                    stopping, code = True, 1
                    break
                log.warning("worker %s died (exit %s); starting another", proc.pid, proc.exitcode)
                procs[i] = start()
    finally:
        for proc, _ in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes in-flight requests
        for proc, _ in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code
