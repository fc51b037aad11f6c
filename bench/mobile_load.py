"""Mobile sync under load: many engineers syncing their offline queues at once.

Seeds a fresh SQLite database (engineers with logins, six dispatched tickets
each), starts the real app under uvicorn on 127.0.0.1 in a subprocess, and
has every engineer POST /me/sync with 20 queued actions and 50 location
points; a share of them resend the identical request (a lost answer), which
must replay, not re-apply. Afterwards the database is checked: exact event
counts and final statuses (zero duplicated effects), every ping stored once.

    .venv/bin/python bench/mobile_load.py              # 500 engineers, all at once
    .venv/bin/python bench/mobile_load.py --json
    .venv/bin/python bench/mobile_load.py --spread 120 # the 500 syncs start over 2 min

In a burst every sync is in flight at once, and SQLite takes one writer at a
time, so the p95 is mostly queueing: about 0.95 × N × (time one sync takes).
``--spread`` shows the latency of a sync when the server is not saturated.

The per-engineer queue: four tickets accept → start_travel → arrive →
complete (16), one accept → start_travel → unable_to_complete (3), one
decline (1): 20 actions, 21 ticket events of kind transition/returned_to_pool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.security import issue_token  # noqa: E402
from crm.db import make_engine, upgrade  # noqa: E402
from crm.models import (  # noqa: E402
    Customer,
    Engineer,
    IdempotencyRecord,
    LocationPing,
    Site,
    Ticket,
    TicketEvent,
    User,
)
from crm.services.users import hash_password  # noqa: E402

TARGET_P95_MS = 200.0
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CENTRE = (31.23, 121.47)
# (actions per ticket, how many such tickets): 4×4 + 3 + 1 = 20 actions.
QUEUE_SHAPE = [
    (["accept", "start_travel", "arrive", "complete"], 4),
    (["accept", "start_travel", "unable_to_complete"], 1),
    (["decline"], 1),
]
TICKETS_PER_ENGINEER = sum(n for _, n in QUEUE_SHAPE)
ACTIONS_PER_ENGINEER = sum(len(a) * n for a, n in QUEUE_SHAPE)


@dataclass
class Seeded:
    engineer_ids: list[int]
    user_ids: list[int]
    # engineer id → [(ticket id, site lat, site lon)]
    tickets: dict[int, list[tuple[int, float, float]]]


@dataclass
class Calls:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    replays_ok: int = 0
    items_applied: int = 0
    items_rejected: int = 0


def seed(url: str, engineers: int, rng: random.Random) -> Seeded:
    """Engineers, users, customers, sites and dispatched tickets, in bulk inserts."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    pw = hash_password("bench-password")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Engineer.__table__),
            [
                {
                    "name": f"Engineer {i}",
                    "home_lat": CENTRE[0] + rng.uniform(-0.2, 0.2),
                    "home_lon": CENTRE[1] + rng.uniform(-0.2, 0.2),
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for i in range(engineers)
            ],
        )
        engineer_ids = list(conn.execute(sa.select(Engineer.__table__.c.id)).scalars())
        conn.execute(
            sa.insert(User.__table__),
            [
                {
                    "username": f"eng{eid}",
                    "password_hash": pw,
                    "role": "engineer",
                    "engineer_id": eid,
                    "active": True,
                    "failed_logins": 0,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for eid in engineer_ids
            ],
        )
        users = dict(
            conn.execute(sa.select(User.__table__.c.engineer_id, User.__table__.c.id)).all()
        )
        conn.execute(
            sa.insert(Customer.__table__),
            [
                {
                    "name": f"Customer {i}",
                    "tier": "B",
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for i in range(engineers)
            ],
        )
        customer_ids = list(conn.execute(sa.select(Customer.__table__.c.id)).scalars())
        site_rows = []
        for cid in customer_ids:
            for _ in range(TICKETS_PER_ENGINEER):
                site_rows.append(
                    {
                        "customer_id": cid,
                        "name": "",
                        "address": f"{cid} Bench Road",
                        "lat": CENTRE[0] + rng.uniform(-0.2, 0.2),
                        "lon": CENTRE[1] + rng.uniform(-0.2, 0.2),
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
        conn.execute(sa.insert(Site.__table__), site_rows)
        sites = conn.execute(
            sa.select(
                Site.__table__.c.id,
                Site.__table__.c.customer_id,
                Site.__table__.c.lat,
                Site.__table__.c.lon,
            ).order_by(Site.__table__.c.id)
        ).all()
        ticket_rows = []
        for k, (sid, cid, _lat, _lon) in enumerate(sites):
            eid = engineer_ids[k // TICKETS_PER_ENGINEER]
            ticket_rows.append(
                {
                    "customer_id": cid,
                    "site_id": sid,
                    "title": f"Job {k}",
                    "description": "",
                    "duration_min": 45,
                    "priority": "normal",
                    "status": "dispatched",
                    "engineer_id": eid,
                    "checkin_far": False,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
        conn.execute(sa.insert(Ticket.__table__), ticket_rows)
        t = Ticket.__table__
        rows = conn.execute(
            sa.select(t.c.id, t.c.engineer_id, Site.__table__.c.lat, Site.__table__.c.lon)
            .join(Site.__table__, Site.__table__.c.id == t.c.site_id)
            .order_by(t.c.id)
        ).all()
    engine.dispose()
    tickets: dict[int, list[tuple[int, float, float]]] = {}
    for tid, eid, lat, lon in rows:
        tickets.setdefault(eid, []).append((tid, lat, lon))
    return Seeded(engineer_ids, [users[e] for e in engineer_ids], tickets)


def sync_body(
    eid: int, tickets: list[tuple[int, float, float]], points: int, rng: random.Random
) -> dict[str, Any]:
    """One engineer's offline queue and the pings recorded meanwhile."""
    now = datetime.now(UTC)
    t0 = now - timedelta(hours=3)
    items: list[dict[str, Any]] = []
    ticket_iter = iter(tickets)
    step = 0
    for actions, n in QUEUE_SHAPE:
        for _ in range(n):
            tid, lat, lon = next(ticket_iter)
            for action in actions:
                step += 1
                payload: dict[str, Any] = {}
                if action in ("arrive", "complete"):
                    payload = {
                        "lat": lat + rng.uniform(-3e-4, 3e-4),
                        "lon": lon + rng.uniform(-3e-4, 3e-4),
                        "accuracy_m": 12.0,
                    }
                if action == "complete":
                    payload |= {
                        "outcome": "fixed",
                        "notes": "Replaced the part.",
                        "parts_used": [{"code": "P-1", "quantity": 1}],
                    }
                if action in ("decline", "unable_to_complete"):
                    payload["reason"] = "Bench reason"
                items.append(
                    {
                        "key": f"e{eid}-{tid}-{action}",
                        "client_at": (t0 + timedelta(minutes=5 * step)).isoformat(),
                        "ticket_id": tid,
                        "action": action,
                        "payload": payload,
                    }
                )
    lat, lon = CENTRE
    locations = []
    for i in range(points):
        lat += rng.uniform(-5e-4, 5e-4)
        lon += rng.uniform(-5e-4, 5e-4)
        locations.append(
            {
                "at": (t0 + timedelta(seconds=120 * i)).isoformat(),
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "accuracy_m": 9.0,
            }
        )
    return {"items": items, "locations": locations}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, var_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIELDROUTE_DATABASE_URL": url,
        "FIELDROUTE_SECRET_KEY": SECRET,
        "FIELDROUTE_VAR_DIR": str(var_dir),
        "FIELDROUTE_TILE_URL": "",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        # Phones keep connections open between syncs; uvicorn's default 5 s idle
        # limit would close pooled connections under the client while it queues.
        "--timeout-keep-alive",
        "600",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("uvicorn did not answer /healthz within 60 s")


def server_cpu_s(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds used so far by the server and its worker processes."""
    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def run_load(
    base: str,
    seeded: Seeded,
    *,
    points: int,
    concurrency: int,
    retry_fraction: float,
    spread_s: float,
    rng: random.Random,
) -> tuple[Calls, float]:
    calls = Calls()
    tokens = {
        eid: issue_token(user_id=uid, role="engineer", secret=SECRET, ttl=timedelta(hours=2))
        for eid, uid in zip(seeded.engineer_ids, seeded.user_ids, strict=True)
    }
    bodies = {
        eid: json.dumps(sync_body(eid, seeded.tickets[eid], points, rng)).encode()
        for eid in seeded.engineer_ids
    }
    resend = set(rng.sample(seeded.engineer_ids, int(len(seeded.engineer_ids) * retry_fraction)))
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        # Warm-up: import paths, first connections, caches; changes nothing.
        for eid in seeded.engineer_ids[:5]:
            await client.get("/me/day", headers={"Authorization": f"Bearer {tokens[eid]}"})

        async def one(eid: int, replay: bool) -> None:
            headers = {"Authorization": f"Bearer {tokens[eid]}", "Content-Type": "application/json"}
            async with gate:
                t = time.perf_counter()
                try:
                    r = await client.post("/me/sync", content=bodies[eid], headers=headers)
                except httpx.HTTPError as exc:
                    calls.errors.append(f"engineer {eid}: {type(exc).__name__}: {exc}")
                    return
                calls.latencies_ms.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                calls.errors.append(f"engineer {eid}: HTTP {r.status_code}: {r.text[:200]}")
                return
            out = r.json()
            if out["rejected"]:
                bad = next(x for x in out["results"] if x["outcome"] == "rejected")
                calls.errors.append(f"engineer {eid}: item rejected: {bad['problem']}")
            if replay:
                if out["replayed"] == ACTIONS_PER_ENGINEER:
                    calls.replays_ok += 1
            else:
                calls.items_applied += out["applied"]
            calls.items_rejected += out["rejected"]
            if out["locations"]["stored"] + out["locations"]["duplicates"] != points:
                calls.errors.append(f"engineer {eid}: locations {out['locations']}")

        # Open loop: each engineer comes back online at a random moment of the
        # spread window (0 = all at the same instant, the burst case).
        offsets = {eid: rng.uniform(0, spread_s) for eid in seeded.engineer_ids}

        async def engineer(eid: int) -> None:
            if offsets[eid]:
                await asyncio.sleep(offsets[eid])
            await one(eid, replay=False)
            if eid in resend:
                await one(eid, replay=True)

        started = time.perf_counter()
        await asyncio.gather(*(engineer(eid) for eid in seeded.engineer_ids))
        wall = time.perf_counter() - started
    calls.replays_expected = len(resend)  # type: ignore[attr-defined]
    return calls, wall


def verify(url: str, engineers: int, points: int) -> dict[str, Any]:
    """Count what the database holds against what the queues should have done exactly once."""
    engine = make_engine(url)
    with engine.connect() as conn:
        ev = TicketEvent.__table__
        kinds = dict(conn.execute(sa.select(ev.c.kind, sa.func.count()).group_by(ev.c.kind)).all())
        t = Ticket.__table__
        statuses = dict(
            conn.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all()
        )
        pings = conn.execute(
            sa.select(sa.func.count()).select_from(LocationPing.__table__)
        ).scalar_one()
        keys = conn.execute(
            sa.select(sa.func.count()).select_from(IdempotencyRecord.__table__)
        ).scalar_one()
        e = Engineer.__table__
        seen = conn.execute(
            sa.select(sa.func.count()).where(e.c.last_seen_at.is_not(None))
        ).scalar_one()
    engine.dispose()
    expected = {
        "transition_events": engineers * ACTIONS_PER_ENGINEER,
        "returned_to_pool_events": engineers,
        "completed": engineers * 4,
        "on_hold": engineers,
        "new": engineers,
        "pings": engineers * points,
        "idempotency_keys": engineers * ACTIONS_PER_ENGINEER,
        "engineers_seen": engineers,
    }
    actual = {
        "transition_events": kinds.get("transition", 0),
        "returned_to_pool_events": kinds.get("returned_to_pool", 0),
        "completed": statuses.get("completed", 0),
        "on_hold": statuses.get("on_hold", 0),
        "new": statuses.get("new", 0),
        "pings": pings,
        "idempotency_keys": keys,
        "engineers_seen": seen,
    }
    mismatches = {
        k: {"expected": v, "actual": actual[k]} for k, v in expected.items() if actual[k] != v
    }
    return {"expected": expected, "actual": actual, "mismatches": mismatches}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[idx]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engineers", type=int, default=500)
    ap.add_argument("--points", type=int, default=50, help="Location points per sync.")
    ap.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="Syncs in flight at once; 0 = every engineer at the same time.",
    )
    ap.add_argument(
        "--retry-fraction",
        type=float,
        default=0.1,
        help="Share of engineers resending their identical sync (lost answer).",
    )
    ap.add_argument(
        "--spread",
        type=float,
        default=0.0,
        help="Seconds over which the engineers' syncs start (random, open loop); 0 = burst.",
    )
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    concurrency = args.concurrency or args.engineers
    tmp = Path(tempfile.mkdtemp(prefix="fieldroute-mobile-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        upgrade(url)
        seeded = seed(url, args.engineers, rng)
        port = free_port()
        proc = start_server(url, tmp / "var", port, args.workers)
        load_before = os.getloadavg()[0]
        try:
            cpu_before = server_cpu_s(proc)
            calls, wall = asyncio.run(
                run_load(
                    f"http://127.0.0.1:{port}",
                    seeded,
                    points=args.points,
                    concurrency=concurrency,
                    retry_fraction=args.retry_fraction,
                    spread_s=args.spread,
                    rng=rng,
                )
            )
            cpu_used = server_cpu_s(proc) - cpu_before
        finally:
            stop_server(proc)
        load_after = os.getloadavg()[0]
        check = verify(url, args.engineers, args.points)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    lat = calls.latencies_ms
    p95 = pct(lat, 95)
    replays_expected = getattr(calls, "replays_expected", 0)
    result = {
        "engineers": args.engineers,
        "actions_per_sync": ACTIONS_PER_ENGINEER,
        "points_per_sync": args.points,
        "concurrency": concurrency,
        "spread_s": args.spread,
        "uvicorn_workers": args.workers,
        "sync_calls": len(lat),
        "errors": len(calls.errors),
        "error_samples": calls.errors[:5],
        "replays": {"expected": replays_expected, "ok": calls.replays_ok},
        "duplicated_effects": len(check["mismatches"]),
        "db_check": check,
        "latency_ms": {
            "p50": round(pct(lat, 50), 1),
            "p95": round(p95, 1),
            "p99": round(pct(lat, 99), 1),
            "max": round(max(lat), 1) if lat else None,
            "mean": round(statistics.fmean(lat), 1) if lat else None,
        },
        "wall_s": round(wall, 2),
        "throughput": {
            "syncs_per_s": round(len(lat) / wall, 1),
            "actions_per_s": round(calls.items_applied / wall, 1),
        },
        "server_cpu_ms_per_sync": round(cpu_used / max(len(lat), 1) * 1000, 1),
        "load_average_1m": {"before": round(load_before, 2), "after": round(load_after, 2)},
        "target_p95_ms": TARGET_P95_MS,
        "p95_over_target": round(p95 / TARGET_P95_MS, 2),
        "passed": not calls.errors
        and not check["mismatches"]
        and calls.replays_ok == replays_expected
        and p95 <= TARGET_P95_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        ms = result["latency_ms"]
        print(
            f"mobile sync load: {args.engineers} engineers × ({ACTIONS_PER_ENGINEER} actions + "
            f"{args.points} points), at most {concurrency} in flight, "
            + (f"starts spread over {args.spread:g} s, " if args.spread else "all at once, ")
            + f"{args.workers} uvicorn worker(s)"
        )
        print(
            f"  sync calls      {len(lat)} ({replays_expected} identical resends) in "
            f"{wall:.1f} s: {result['throughput']['syncs_per_s']} syncs/s, "
            f"{result['throughput']['actions_per_s']} actions/s"
        )
        print(
            f"  latency ms      p50 {ms['p50']}  p95 {ms['p95']}  p99 {ms['p99']}  max {ms['max']}"
        )
        print(
            f"  target          p95 ≤ {TARGET_P95_MS:.0f} ms: ratio {result['p95_over_target']}"
            f" ({'met' if p95 <= TARGET_P95_MS else 'NOT met'})"
        )
        print(
            f"  errors          {len(calls.errors)}"
            + (f"  e.g. {calls.errors[0]}" if calls.errors else "")
        )
        print(
            f"  server CPU      {result['server_cpu_ms_per_sync']} ms per sync; load average "
            f"{load_before:.1f} → {load_after:.1f} on {os.cpu_count()} cores"
        )
        print(f"  replays         {calls.replays_ok}/{replays_expected} replayed whole")
        print(
            f"  duplicates      {len(check['mismatches'])} mismatching count(s) in the database"
            + (
                f": {check['mismatches']}"
                if check["mismatches"]
                else f" (events, statuses, {check['actual']['pings']} pings all exact)"
            )
        )
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
