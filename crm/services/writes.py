"""Making sure a unit of work is a *write* transaction from its first read.

On SQLite a deferred transaction that reads and later writes fails at once
("database is locked", whatever the busy timeout) when another writer
committed in between, and a read made before the write lock may be stale.
``crm.db`` therefore starts writer sessions with ``BEGIN IMMEDIATE``
(``crm.db.writer``; the API binds every non-GET request to it). This helper
checks that a unit of work that is about to read-then-write really holds the
lock, and takes it when it is the first to use the session. PostgreSQL needs
nothing here: callers lock the rows they change (``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

from sqlmodel import Session


def begin_write(session: Session) -> None:
    """Start (or check) a transaction holding SQLite's write lock; no-op elsewhere.

    Raises RuntimeError when the session already began as a reader: that is a
    wiring bug (bind the session to ``crm.db.writer(engine)``), and silently
    carrying on would turn a concurrent write into a stale read.
    """
    if session.in_transaction():
        conn = session.connection()
    else:
        conn = session.connection(execution_options={"sqlite_immediate": True})
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:  # type: ignore[attr-defined]
        # A driver that begins lazily (pysqlite's legacy mode): begin now, as a writer.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    if not conn.get_execution_options().get("sqlite_immediate", False):
        raise RuntimeError(
            "this unit of work began as a reader (BEGIN, not BEGIN IMMEDIATE); bind its "
            "session to crm.db.writer(engine) so it holds SQLite's write lock from the start"
        )
