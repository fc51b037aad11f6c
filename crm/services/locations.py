"""Location pings: batches from phones, the engineer's last known position,
and pruning.

A batch goes in with one multi-row INSERT. Points already stored for the
engineer (same timestamp: a resent batch) are skipped, so resending without
an idempotency key does not double the trail. The newest point moves
``Engineer.last_*`` only if it is newer than what is there: batches from an
offline phone arrive late and out of order.

The engineer row is updated with a plain UPDATE that leaves its version
alone on purpose: the position is not something a dispatcher edits, and
bumping the version on every ping would make every dispatcher edit of an
engineer on the road fail with 412.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.errors import InvalidInput
from crm.models import Engineer, LocationPing
from crm.schemas.mobile import LocationPoint, LocationPublic, LocationReceipt

# A phone clock a little ahead of ours is normal; minutes ahead is a bug or a lie.
FUTURE_SKEW = timedelta(minutes=2)

_PINGS = LocationPing.__table__  # type: ignore[attr-defined]
_ENGINEERS = Engineer.__table__  # type: ignore[attr-defined]


def check_points(points: Sequence[LocationPoint], *, now: datetime, where: str = "points") -> None:
    """Refuse a batch holding a point from the future (beyond a small clock skew)."""
    limit = now + FUTURE_SKEW
    bad = [i for i, p in enumerate(points) if p.at > limit]
    if bad:
        raise InvalidInput(
            f"{len(bad)} point(s) are timestamped in the future (more than "
            f"{int(FUTURE_SKEW.total_seconds())} s ahead of the server clock {now.isoformat()}); "
            "check the phone's clock. Nothing of this batch was stored",
            [{"loc": ["body", where, i, "at"], "msg": "in the future"} for i in bad[:20]],
        )


def store_points(
    session: Session,
    *,
    engineer_id: int,
    points: Sequence[LocationPoint],
    now: datetime,
    retention_days: int,
) -> LocationReceipt:
    """Store a checked batch and move the engineer's last position forward."""
    check_points(points, now=now)
    oldest_kept = now - timedelta(days=retention_days)
    fresh: dict[datetime, LocationPoint] = {}
    too_old = 0
    for p in points:
        at = p.at.astimezone(UTC)
        if at < oldest_kept:
            too_old += 1
            continue
        fresh.setdefault(at, p)
    duplicates = len(points) - too_old - len(fresh)
    if fresh:
        known = set(
            session.execute(
                sa.select(_PINGS.c.at).where(
                    _PINGS.c.engineer_id == engineer_id,
                    _PINGS.c.at >= min(fresh),
                    _PINGS.c.at <= max(fresh),
                )
            ).scalars()
        )
        for at in known & fresh.keys():
            del fresh[at]
            duplicates += 1
    if fresh:
        session.execute(
            sa.insert(_PINGS),
            [
                {
                    "engineer_id": engineer_id,
                    "at": at,
                    "lat": round(p.lat, 6),
                    "lon": round(p.lon, 6),
                    "accuracy_m": None if p.accuracy_m is None else round(p.accuracy_m, 1),
                }
                for at, p in sorted(fresh.items())
            ],
        )
        newest_at = max(fresh)
        newest = fresh[newest_at]
        session.execute(
            sa.update(_ENGINEERS)
            .where(
                _ENGINEERS.c.id == engineer_id,
                sa.or_(_ENGINEERS.c.last_seen_at.is_(None), _ENGINEERS.c.last_seen_at < newest_at),
            )
            .values(
                last_lat=round(newest.lat, 6), last_lon=round(newest.lon, 6), last_seen_at=newest_at
            )
        )
    last_seen = session.execute(
        sa.select(_ENGINEERS.c.last_seen_at).where(_ENGINEERS.c.id == engineer_id)
    ).scalar_one_or_none()
    return LocationReceipt(
        received=len(points),
        stored=len(fresh),
        duplicates=duplicates,
        too_old=too_old,
        last_seen_at=last_seen,
    )


def recent(
    session: Session, *, engineer_id: int, since: datetime | None, limit: int
) -> list[LocationPublic]:
    """The engineer's own trail, newest first."""
    stmt = select(LocationPing).where(LocationPing.engineer_id == engineer_id)
    if since is not None:
        stmt = stmt.where(col(LocationPing.at) >= since)
    rows = session.exec(stmt.order_by(col(LocationPing.at).desc()).limit(limit)).all()
    return [LocationPublic(at=r.at, lat=r.lat, lon=r.lon, accuracy_m=r.accuracy_m) for r in rows]


def prune(session: Session, *, now: datetime, retention_days: int) -> int:
    """Delete points older than the retention period; returns how many.

    One DELETE per engineer so each uses the (engineer_id, at) index rather
    than scanning the whole table for an ``at`` range.
    """
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    for engineer_id in session.execute(sa.select(_ENGINEERS.c.id)).scalars():
        result = session.execute(
            sa.delete(_PINGS).where(_PINGS.c.engineer_id == engineer_id, _PINGS.c.at < cutoff)
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
