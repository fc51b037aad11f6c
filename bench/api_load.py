"""API latency under load: 50 concurrent clients against a real uvicorn.

SQLite, 10,000 tickets. Four phases, one per endpoint, each with the same
number of concurrent clients: list new tickets, read one ticket, create a
ticket, patch a ticket (with its ETag, so no 412s). Prints p50/p95/p99 and
errors per endpoint, and the p95 ratio to the target (reads 50 ms, writes
100 ms on a 2-core machine).

    .venv/bin/python bench/api_load.py [--clients 50] [--requests 2000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._http import Connection, HttpError
from bench._server import percentiles, uvicorn_server

TARGET_MS = {"list_new": 50, "get_one": 50, "create": 100, "patch": 100}


def seed(url: str, tickets: int, seed_value: int = 7) -> None:
    """Bulk-load customers, sites and tickets (Core inserts: seeding is not measured)."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import crm.models  # noqa: F401
    from crm.db import make_engine, session_scope, upgrade
    from crm.models import Role
    from crm.schemas.users import UserCreate
    from crm.services.users import create_user

    upgrade(url)
    rng = random.Random(seed_value)
    engine = make_engine(url)
    t = SQLModel.metadata.tables
    now = datetime.now(UTC)
    n_customers, n_sites = 1000, 2000
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t["customer"]),
            [
                {
                    "name": f"Customer {i}",
                    "phone": f"+86139{i:08d}",
                    "tier": "B",
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for i in range(1, n_customers + 1)
            ],
        )
        conn.execute(
            sa.insert(t["site"]),
            [
                {
                    "customer_id": (i % n_customers) + 1,
                    "name": "",
                    "address": f"{i} Test Rd",
                    "lat": 31.1 + rng.random() * 0.3,
                    "lon": 121.3 + rng.random() * 0.3,
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for i in range(n_sites)
            ],
        )
        statuses = ["new"] * 6 + ["scheduled", "completed", "cancelled", "on_hold"]
        rows = []
        for i in range(tickets):
            site = i % n_sites + 1
            rows.append(
                {
                    "customer_id": (site - 1) % n_customers + 1,
                    "site_id": site,
                    "title": f"Ticket {i}",
                    "description": "",
                    "duration_min": 30 + (i % 4) * 30,
                    "priority": rng.choice(["urgent", "high", "normal", "normal", "low"]),
                    "status": rng.choice(statuses),
                    "checkin_far": False,
                    "sla_due_at": now + timedelta(hours=rng.randint(4, 72)),
                    "created_at": now - timedelta(minutes=i),
                    "updated_at": now,
                    "version": 1,
                }
            )
        conn.execute(sa.insert(t["ticket"]), rows)
        conn.execute(
            sa.insert(t["ticket_window"]),
            [
                {
                    "ticket_id": i + 1,
                    "start_at": now + timedelta(hours=2),
                    "end_at": now + timedelta(hours=4),
                }
                for i in range(0, tickets, 2)
            ],
        )
    with session_scope(engine) as s:
        create_user(
            s, data=UserCreate(username="loadtest", password="load-test-pw", role=Role.dispatcher)
        )
    engine.dispose()


def open_ticket_ids(url: str) -> list[int]:
    """Tickets a dispatcher may still edit (completed/cancelled ones are frozen)."""
    import sqlalchemy as sa

    from crm.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id FROM ticket WHERE status NOT IN ('completed', 'cancelled') ORDER BY id"
            )
        )
        ids = [r[0] for r in rows]
    engine.dispose()
    return ids


async def phase(base: str, token: str, name: str, clients: int, total: int, ids: list[int]) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    per_client = total // clients

    async def worker(k: int) -> None:
        rng = random.Random(k)
        mine = ids[k::clients]
        etags: dict[int, str] = {}
        conn = Connection(base, {"Authorization": f"Bearer {token}"})
        for j in range(per_client):
            kwargs: dict = {}
            if name == "list_new":
                method, path = "GET", f"/tickets?status=new&limit=50&offset={rng.randrange(500)}"
            elif name == "get_one":
                method, path = "GET", f"/tickets/{rng.choice(ids)}"
            elif name == "create":
                site = rng.randrange(1, 2001)
                method, path = "POST", "/tickets"
                kwargs["json_body"] = {
                    "customer_id": (site - 1) % 1000 + 1,
                    "site_id": site,
                    "title": f"load {k}-{j}",
                    "duration_min": 45,
                    "priority": "normal",
                }
            else:
                tid = mine[j % len(mine)]
                if tid not in etags:
                    _, first, _ = await conn.request("GET", f"/tickets/{tid}")
                    etags[tid] = first["etag"]
                method, path = "PATCH", f"/tickets/{tid}"
                kwargs = {
                    "json_body": {"description": f"edit {j}"},
                    "headers": {"If-Match": etags[tid]},
                }
            t0 = time.perf_counter()
            try:
                status, headers, _ = await conn.request(method, path, **kwargs)
                dt = time.perf_counter() - t0
                if status >= 400:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                else:
                    latencies.append(dt)
                    if name == "patch":
                        etags[tid] = headers["etag"]
            except (HttpError, OSError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    stats = percentiles(latencies)
    return {
        "endpoint": name,
        "requests": per_client * clients,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "throughput_rps": round(len(latencies) / wall, 1),
        **stats,
        "target_p95_ms": TARGET_MS[name],
        "p95_ratio": round(stats["p95_ms"] / TARGET_MS[name], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000, help="per endpoint")
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fr-apiload-") as tmp:
        url = f"sqlite:///{tmp}/load.db"
        seed(url, args.tickets)
        env = {
            "FIELDROUTE_DATABASE_URL": url,
            "FIELDROUTE_VAR_DIR": f"{tmp}/var",
            "FIELDROUTE_SECRET_KEY": "bench-secret-key-bench-secret-key",
        }
        with uvicorn_server(env, workers=args.workers, log=Path(tmp) / "uvicorn.log") as base:
            token = httpx.post(
                f"{base}/auth/token", data={"username": "loadtest", "password": "load-test-pw"}
            ).json()["access_token"]
            ids = list(range(1, args.tickets + 1))
            open_ids = open_ticket_ids(url)
            results = []
            for name in ("list_new", "get_one", "create", "patch"):
                pool = open_ids if name == "patch" else ids
                results.append(
                    asyncio.run(phase(base, token, name, args.clients, args.requests, pool))
                )
    load = os.getloadavg()[0]
    if args.json:
        print(
            json.dumps(
                {
                    "clients": args.clients,
                    "tickets": args.tickets,
                    "uvicorn_workers": args.workers,
                    "loadavg_1m": round(load, 2),
                    "endpoints": results,
                },
                indent=2,
            )
        )
    else:
        print(
            f"{args.clients} clients, {args.tickets} tickets, SQLite, "
            f"{args.workers} uvicorn workers (load average {load:.2f})"
        )
        print(
            f"{'endpoint':10} {'reqs':>6} {'err':>4} {'rps':>7} {'p50':>7} {'p95':>7} "
            f"{'p99':>7} {'target':>7} {'ratio':>6}"
        )
        for r in results:
            print(
                f"{r['endpoint']:10} {r['requests']:6d} {r['errors']:4d} "
                f"{r['throughput_rps']:7.1f} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} "
                f"{r['p99_ms']:7.1f} {r['target_p95_ms']:7d} {r['p95_ratio']:6.2f}"
            )
    return 0 if all(r["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
