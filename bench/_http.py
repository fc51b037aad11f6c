"""A minimal HTTP/1.1 keep-alive client for load generation.

The load generator shares the 2 cores with the server it measures; httpx
spent as much CPU per request as the server did, so its figures measured the
client. This speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies,
which is all the API sends) to stay out of the way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection failed or the answer was not HTTP."""


class Connection:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; return status, lower-cased headers and the body."""
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = {**self.headers, **(headers or {}), "Content-Length": str(len(body))}
        if json_body is not None:
            head["Content-Type"] = "application/json"
        raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                assert self._reader is not None
                self._writer.write(raw.encode() + b"\r\n" + body)
                status_line = await self._reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                return await self._read_rest(status_line)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                # A keep-alive connection the server closed while idle: retry once,
                # on a fresh connection (what every HTTP client does).
                if attempt == 2:
                    raise HttpError(str(exc)) from exc
        raise HttpError("unreachable")

    async def _read_rest(self, status_line: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._reader is not None
        try:
            status = int(status_line.split(b" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise HttpError(f"not HTTP: {status_line[:40]!r}") from exc
        headers: dict[str, str] = {}
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        data = await self._reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
