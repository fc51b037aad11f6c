"""SQLite writers queue on a file lock (crm.db.WriteGate): a waiting writer goes as
soon as the holder is done, readers never wait, and the lock is let go however
the holder's transaction ends. Also the API's request session, which stops
being a writer once it has committed."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.deps import _WriteSession
from crm.db import make_engine, session_scope, writer
from crm.models import Customer


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Engine:
    db = tmp_path / "gate.db"
    db.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{db}")
    yield engine
    engine.dispose()


def _gate_free(engine: Engine) -> bool:
    """Whether the write gate's file lock could be taken right now."""
    fd = os.open(f"{engine.url.database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing lets go of a lock we got
    return True


def _add(session: Session, name: str) -> None:
    session.add(Customer(name=name, phone=None))
    session.flush()


def test_second_writer_waits_for_the_first_then_goes_at_once(sqlite_file: Engine) -> None:
    order: list[str] = []
    first = Session(writer(sqlite_file))
    assert _gate_free(sqlite_file)
    _add(first, "first")  # BEGIN IMMEDIATE: holds the gate and SQLite's lock
    assert not _gate_free(sqlite_file)

    def second() -> None:
        with session_scope(sqlite_file) as s:
            _add(s, "second")
        order.append("second")

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.3)
    assert order == []  # queued behind the first writer
    # Readers pass straight (WAL) while a writer holds the gate.
    with Session(sqlite_file) as reader:
        assert reader.exec(select(Customer)).all() == []
    released = time.perf_counter()
    order.append("first")
    first.commit()
    first.close()
    t.join(10)
    waited_after_release = time.perf_counter() - released
    assert order == ["first", "second"]
    # Woken by the kernel, not by a retry timer (SQLite's own back-off sleeps
    # up to 100 ms): generous bound for a loaded CI machine.
    assert waited_after_release < 5
    with Session(sqlite_file) as s:
        assert {c.name for c in s.exec(select(Customer))} == {"first", "second"}


@pytest.mark.parametrize("ending", ["rollback", "exception", "close"])
def test_the_gate_is_let_go_however_the_writer_ends(sqlite_file: Engine, ending: str) -> None:
    kept_open = Session(writer(sqlite_file))
    try:
        if ending == "exception":
            with pytest.raises(RuntimeError), session_scope(sqlite_file) as failing:
                _add(failing, "x")
                raise RuntimeError("boom")
        else:
            _add(kept_open, "x")
            if ending == "rollback":
                kept_open.rollback()  # the session itself stays open
            else:
                kept_open.close()
        assert _gate_free(sqlite_file), f"gate still held after {ending}"
        done = threading.Event()

        def writer_after() -> None:
            with session_scope(sqlite_file) as w:
                _add(w, "after")
            done.set()

        threading.Thread(target=writer_after, daemon=True).start()
        assert done.wait(10), f"gate still held after {ending}"
    finally:
        kept_open.close()


def test_writers_in_another_process_queue_on_the_same_gate(sqlite_file: Engine) -> None:
    url = sqlite_file.url.render_as_string(hide_password=False)
    holder = Session(writer(sqlite_file))
    _add(holder, "holder")
    code = (
        "import sys, time\n"
        "from crm.db import make_engine, session_scope\n"
        "from crm.models import Customer\n"
        f"e = make_engine({url!r})\n"
        "with session_scope(e) as s:\n"
        "    s.add(Customer(name='child', phone=None))\n"
        "    s.flush()\n"
        "    print(time.time())\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert child.poll() is None  # waiting for our write to finish
    committed_at = time.time()
    holder.commit()
    holder.close()
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    assert float(out) >= committed_at  # it wrote only after we let go


def test_request_session_reads_its_answer_without_the_write_lock(sqlite_file: Engine) -> None:
    """After its commit the request session reads as a reader: a writer holding the gate
    does not hold up building the answer."""
    with _WriteSession(sqlite_file) as s:
        _add(s, "mine")
        s.commit()
        other = Session(writer(sqlite_file))
        _add(other, "theirs")  # now someone else holds the gate
        try:
            started = time.perf_counter()
            names = {c.name for c in s.exec(select(Customer))}
            assert time.perf_counter() - started < 5
            assert names == {"mine"}
        finally:
            other.rollback()
            other.close()
