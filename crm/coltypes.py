"""Column types shared by every table.

Timestamps are timezone-aware UTC everywhere (ARCHITECTURE.md). SQLite has no
timezone-aware type, so the type stores naive UTC there and re-attaches UTC
on the way out; PostgreSQL gets ``timestamptz``. A naive datetime is refused
at bind time: guessing its zone is how schedules drift by hours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declared_attr


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite hands back the stored text; one C call parses it (the generic
        # path parsed with a regex, then re-attached the zone: a list page
        # converts 250 of these).
        return utc_from_db

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_from_db(value: Any) -> datetime | None:
    """A stored time as aware UTC: SQLite keeps naive-UTC text, PostgreSQL hands back
    aware datetimes (also what crm.services.ticket_reads reads off the driver)."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")  # one C call, zone and all
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Versioned:
    """Mixin: the row's ``version`` is both its ETag and SQLAlchemy's optimistic lock.

    With ``version_id_col`` every UPDATE carries ``WHERE version = :seen``; a
    concurrent writer makes it match no row and the second writer gets
    StaleDataError instead of silently overwriting. The table class declares
    ``version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})``.
    (A mixin, not a Column built in the class body: pydantic would keep such a
    name as a private attribute and deep-copy the Column into every new row.)
    """

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def str_enum(enum: type[StrEnum], length: int = 16) -> sa.Enum:
    """A closed vocabulary stored as VARCHAR, read back as the Python enum.

    Non-native: no database enum type (adding a value needs no migration) and
    no CHECK constraint; the API validates values on the way in.
    """
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )
