"""Database engine, sessions and the schema-version gate.

SQLite is the embedded default: WAL mode so readers never block the writer,
foreign keys on (SQLite leaves them off), writers queued on a file lock (see
WriteGate) with SQLite's busy timeout behind it for any writer that does not
come through here. PostgreSQL needs nothing special.
"""

from __future__ import annotations

import fcntl
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class SchemaOutdatedError(RuntimeError):
    """The database is not at the schema this code expects."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        # A request holds up to two connections (login check, unit of work) and
        # the server runs 40 threads; SQLite connections cost little, waiting
        # for one from a small pool cost 12 % of a loaded server's time.
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("pool_size", 40)
            kwargs.setdefault("max_overflow", 40)
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        gate = WriteGate(Path(f"{path}.write-lock")) if path and path != ":memory:" else None
        event.listen(engine, "begin", functools.partial(_sqlite_begin, gate))
        if gate is not None:
            event.listen(engine.pool, "checkin", gate.on_checkin)
        engine._fieldroute_gate = gate  # type: ignore[attr-defined]
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling begins late and ignores SAVEPOINTs;
    # turn it off and let SQLAlchemy's "begin" event issue BEGIN itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class WriteGate:
    """SQLite writers take turns on a file lock before BEGIN IMMEDIATE.

    SQLite's own wait for its write lock is a sleep-and-retry (1, 2, 5, 10 …
    100 ms): under a burst of writes from two server processes a writer could
    sleep 100 ms while the lock sat free, and newcomers overtook it (measured:
    lock wait p50 1 ms, p95 104 ms, max 1.7 s). A blocked ``flock`` is woken by
    the kernel the moment the holder lets go, in every process that uses the
    database through this module. The lock is let go when the connection goes
    back to the pool, which a session does as it commits or rolls back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def take(self) -> int:
        """Hold the gate, waiting as long as it takes; the descriptor, for ``give_back``."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def try_take(self) -> int | None:
        """Hold the gate if it is free now; None if not."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    @staticmethod
    def give_back(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def acquire(self, record: Any) -> None:
        if "write_gate_fd" in record.info:
            return  # this connection already holds it (a second BEGIN before checkin)
        record.info["write_gate_fd"] = self.take()

    def on_checkin(self, _dbapi_conn: Any, record: Any) -> None:
        fd = record.info.pop("write_gate_fd", None)
        if fd is not None:
            self.give_back(fd)


def gate_of(engine: Engine) -> WriteGate | None:
    """The engine's write gate (SQLite files only)."""
    return getattr(engine, "_fieldroute_gate", None)


def _sqlite_begin(gate: WriteGate | None, conn: sa.Connection) -> None:
    """Writers take SQLite's write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes cannot upgrade its lock
    if another writer committed meanwhile: SQLite fails it at once with
    "database is locked", busy timeout or not. Starting writers IMMEDIATE
    makes them queue on the busy timeout instead; readers stay concurrent.
    """
    options = conn.get_execution_options()
    immediate = options.get("sqlite_immediate", False)
    if immediate and gate is not None and not options.get("gate_held", False):
        gate.acquire(conn.connection._connection_record)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The engine for a unit of work that will write (see `_sqlite_begin`)."""
    return _kept_view(engine, "_fieldroute_writer", sqlite_immediate=True)


def writer_holding_gate(engine: Engine) -> Engine:
    """A writer for a caller that took the engine's gate itself (see api.deps)."""
    return _kept_view(engine, "_fieldroute_gated_writer", sqlite_immediate=True, gate_held=True)


def _kept_view(engine: Engine, attr: str, **options: Any) -> Engine:
    # Made once per engine and kept on it: making it per request showed in profiles.
    found: Engine | None = getattr(engine, attr, None)
    if found is None:
        found = engine.execution_options(**options)
        setattr(engine, attr, found)
    return found


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work that writes: commit on success, roll back on any exception."""
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Refuse to run against a database the code does not understand."""
    head = head_revision()
    current = current_revision(engine)
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "empty (no schema)" if current is None else f"at revision {current}"
        raise SchemaOutdatedError(
            f"database {where} is {state}, this fieldroute needs revision {head}: "
            "run `fieldroute db upgrade` first"
        )
