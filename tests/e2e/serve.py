"""Run the app under uvicorn on a listening socket handed over by the test process.

The test binds 127.0.0.1:0 and passes the socket's file descriptor, so the
port is known before the server starts and no other process can take it; a
request sent before the app is ready waits in the socket's backlog instead
of failing, which is why the fixture needs no polling loop.

Usage: ``python -m tests.e2e.serve FD`` (settings from ``FIELDROUTE_*``).
"""

from __future__ import annotations

import socket
import sys

import uvicorn


def main(fd: int) -> None:
    sock = socket.socket(fileno=fd)  # family and type are read from the descriptor
    config = uvicorn.Config("api.asgi:app", log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(int(sys.argv[1]))
