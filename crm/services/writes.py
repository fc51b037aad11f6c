"""Starting a write transaction that reads current data and nests savepoints.

Python's sqlite3 driver starts a transaction only at the first INSERT/UPDATE/
DELETE, so reads before it see whatever was committed at that moment and a
SAVEPOINT issued first would become the outermost transaction (its RELEASE
would commit). Taking SQLite's write lock up front (``BEGIN IMMEDIATE``)
fixes both: everything read afterwards stays current until we commit, and
per-item savepoints nest inside one real transaction. PostgreSQL needs
nothing here; callers lock the rows they change (``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

from sqlmodel import Session


def begin_write(session: Session) -> None:
    """Make the session's transaction a write transaction now (SQLite), or do nothing."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:  # type: ignore[attr-defined]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
