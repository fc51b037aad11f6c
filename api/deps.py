"""Dependencies shared by the routers: session, current user, roles, ETags,
paging. ``Annotated`` aliases keep handler signatures short."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, HTTPException, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.security import read_token
from crm.db import WriteGate, gate_of, writer, writer_holding_gate
from crm.errors import NotFound
from crm.models import Role, User
from crm.services.common import ANY_VERSION, Actor
from crm.services.territories import FenceCache
from crm.settings import Settings

T = TypeVar("T")
oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
SESSION_COOKIE = "fieldroute_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies that do no blocking I/O are ``async def``: FastAPI runs a sync
# dependency in the threadpool, and each hop costs a GIL hand-over that, on a
# loaded 2-core server, dominated the time of a small request.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


# SQLite writers in flight at once, per process (see get_session).
WRITERS_IN_FLIGHT = 1


class _WriteSession(Session):
    """A request's unit of work: a writer until it commits, then a reader.

    What a handler reads after its commit (to build the answer) needs no
    write lock; on SQLite a writer's BEGIN takes it, and another turn at it
    would double a write's queueing. A handler writes once and commits once.
    ``on_done`` hands the write turn on as soon as the write transaction ends
    (commit or rollback), not after the answer is built and sent. After a
    rollback the session is an ordinary writer again, which takes the gate
    for itself should the handler write once more.
    """

    def __init__(
        self,
        engine: Engine,
        bind: Engine | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(bind or writer(engine), expire_on_commit=False)
        self._reader = engine
        self._on_done = on_done
        self.holds_gate = bind is not None

    def _done(self, then: Engine) -> None:
        self.bind = then
        self.holds_gate = False
        if self._on_done is not None:
            self._on_done()

    def commit(self) -> None:
        super().commit()
        self._done(self._reader)

    def rollback(self) -> None:
        super().rollback()
        self._done(writer(self._reader))


async def _take_gate(gate: WriteGate) -> int:
    """The file gate without blocking the event loop (a thread waits when it is busy)."""
    fd = gate.try_take()
    if fd is not None:
        return fd
    waiting = asyncio.get_running_loop().run_in_executor(None, gate.take)
    try:
        return await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # The client went away; the thread still gets the gate: give it straight back.
        waiting.add_done_callback(
            lambda f: None if f.cancelled() or f.exception() else gate.give_back(f.result())
        )
        raise


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; a write's holds SQLite's write gate, in its turn.

    SQLite has one write lock. Writers from all processes queue for it on a
    file lock (crm.db.WriteGate); within a process they first queue here, on
    an asyncio semaphore that holds no thread and has no deadline, so a burst
    of hundreds of writes never piles threads into the wait. One in flight per
    process is best once the file lock wakes waiters at once: measured with
    bench/api_load.py (creates, 2 workers), 1 in flight 544 rps (p95 132 ms),
    2 in flight 451, 8 in flight 366 — extra writers only compete for the GIL
    with the one holding the lock. The request takes the file lock here,
    before its handler runs, so nothing in the handler waits for SQLite: the
    hot writes run on the event loop (see ``unit_of_work``). PostgreSQL locks
    rows: no turn there. (The turn lives here rather than in an app-wide
    dependency: each dependency that yields costs every request a slice.)
    """
    engine = request.app.state.engine
    if request.method in SAFE_METHODS:
        with Session(engine, expire_on_commit=False) as session:
            yield session
        return
    turn: asyncio.Semaphore | None = request.app.state.write_turn
    gate = gate_of(engine)
    if turn is None or gate is None:
        with _WriteSession(engine) as session:
            yield session
        return
    await turn.acquire()
    try:
        fd = await _take_gate(gate)
    except BaseException:
        turn.release()
        raise
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    once = threading.Lock()

    def let_go() -> None:  # at commit (on the loop or a handler's thread), or at the end
        if once.acquire(blocking=False):
            gate.give_back(fd)
            if threading.get_ident() == loop_thread:
                turn.release()
            else:
                loop.call_soon_threadsafe(turn.release)

    try:
        with _WriteSession(engine, writer_holding_gate(engine), let_go) as session:
            yield session
    finally:
        let_go()


async def get_late_gate_session(request: Request) -> AsyncIterator[Session]:
    """A write session for handlers with slow work before their first write: reading
    a large body themselves (uploads, CSV imports) or calling a geocoder.

    ``get_session`` takes the write gate before the handler runs; here that would
    hold every writer of every process for the length of a phone's upload or of
    a geocoder's answer. This session takes the gate at its first write instead
    (in the thread pool, where such handlers write).
    """
    with _WriteSession(request.app.state.engine) as session:
        yield session


async def unit_of_work(session: Session, work: Callable[[], T]) -> T:
    """Run a write handler's body: on the event loop when its session holds
    SQLite's write gate (nothing in it can wait, and a few milliseconds of work
    skip two thread hand-overs), in the thread pool otherwise (PostgreSQL waits
    on the network and on row locks)."""
    if getattr(session, "holds_gate", False):
        return work()
    return await run_in_threadpool(work)


def fences(request: Request) -> FenceCache:
    """The process's fence index cache (see crm.services.territories)."""
    return request.app.state.fences


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
LateGateSessionDep = Annotated[Session, Depends(get_late_gate_session)]


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> User:
    """The account behind the request (one primary-key read, done on the event loop)."""
    return user_from_token(request=request, settings=settings, token=token)


class AccountCache:
    """Accounts read in the last couple of seconds, by id.

    Loading the account behind a token was a quarter of the CPU of a small
    read under load; a dispatcher's page fires many requests in a burst. An
    account changed through this process (disabled, role changed) is dropped
    at once by ``forget``; another worker process sees the change within
    ``ttl`` seconds. The cached rows are detached and only read.
    """

    def __init__(self, ttl: float = 2.0) -> None:
        self._ttl = ttl
        self._rows: dict[int, tuple[float, User | None]] = {}
        self._lock = threading.Lock()

    def get(self, engine: Engine, user_id: int) -> User | None:
        now = time.monotonic()
        with self._lock:
            hit = self._rows.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        # A short session of its own, not the request's: on SQLite a write
        # request's session holds the write lock from its first query.
        with Session(engine) as session:
            user = session.get(User, user_id)
        with self._lock:
            if len(self._rows) > 10_000:
                self._rows.clear()
            self._rows[user_id] = (now + self._ttl, user)
        return user

    def forget(self, user_id: int) -> None:
        with self._lock:
            self._rows.pop(user_id, None)


def user_from_token(request: Request, settings: Settings, token: str | None) -> User:
    """The account behind the request's token (bearer header or session cookie)."""
    if not token:
        token = request.cookies.get(SESSION_COOKIE)
        if (
            token
            and request.method not in SAFE_METHODS
            and (request.headers.get("X-Requested-With") != "fieldroute")
        ):
            # A cookie rides along on cross-site requests; a custom header cannot
            # (without a CORS preflight we never grant), so it proves same origin.
            raise HTTPException(
                403, "cookie-authenticated writes need the header X-Requested-With: fieldroute"
            )
    if not token:
        raise _unauthorised("not authenticated: send a bearer token from POST /auth/token")
    claims = read_token(token, settings.resolved_secret_key)
    if claims is None:
        raise _unauthorised("the token is invalid or has expired: log in again")
    user = request.app.state.accounts.get(request.app.state.engine, int(claims["sub"]))
    if user is None or not user.active:
        raise _unauthorised("the account no longer exists or is disabled")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A guard for routes limited to some roles.

    Engineers get 404 rather than 403 on anything that is not theirs, so a
    phone cannot probe which records exist; staff get an honest 403.
    """

    async def guard(user: CurrentUser) -> User:
        if user.role in roles:
            return user
        if user.role == Role.engineer:
            raise NotFound("resource", "")
        raise HTTPException(403, f"this needs one of the roles: {', '.join(roles)}")

    return guard


Staff = Annotated[User, Depends(require(Role.admin, Role.dispatcher))]
Admin = Annotated[User, Depends(require(Role.admin))]
AnyUser = CurrentUser


def actor_of(user: User) -> Actor:
    return Actor(name=user.username, user_id=user.id, role=user.role, engineer_id=user.engineer_id)


# --- ETags ------------------------------------------------------------------
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


async def if_match(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> int | None:
    """The version a writer based its change on; None when the header is absent."""
    if if_match is None:
        return None
    if if_match.strip() == "*":
        return ANY_VERSION
    m = _ETAG.match(if_match.split(",")[0])
    if not m:
        raise HTTPException(412, f"If-Match {if_match!r} is not an ETag of this API")
    return int(m.group(1))


IfMatchDep = Annotated[int | None, Depends(if_match)]


# --- paging -----------------------------------------------------------------
@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]
