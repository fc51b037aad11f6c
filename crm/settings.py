"""Runtime configuration, read from ``FIELDROUTE_*`` environment variables.

Settings live in ``crm`` because it is the lowest layer that touches the
outside world (the database); ``dispatch`` and ``api`` read them from here.
The pure packages (``routing``, ``geofence``) take every knob as an argument.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


class Settings(BaseSettings):
    """Every deployment knob in one place; environment first, then defaults."""

    model_config = SettingsConfigDict(env_prefix="FIELDROUTE_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where local state lives.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default a SQLite file under var_dir."
    )
    secret_key: str | None = Field(
        default=None, description="Token signing key; generated under var_dir if unset."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Local zone for 'today'.")
    dask_scheduler: str | None = Field(default=None, description="tcp://host:port of Dask.")
    tile_url: str = Field(default=OSM_TILES, description="Map tiles; empty for none.")
    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1)
    checkin_radius_m: float = Field(default=200.0, ge=0)
    checkin_accuracy_cap_m: float = Field(default=300.0, ge=0)
    location_retention_days: int = Field(default=30, ge=1)
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    geocoder: str | None = Field(
        default=None, description="geopy geocoder name (e.g. 'nominatim'); None disables."
    )
    geocoder_options: dict[str, str] = Field(default_factory=dict)
    plan_workers: int | None = Field(default=None, description="Solver processes; default cores.")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.var_dir / 'fieldroute.db').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept under var_dir.

        Keeping it on disk means tokens survive a restart without anyone
        having to invent a secret before the first run.
        """
        if self.secret_key:
            return self.secret_key
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def get_settings() -> Settings:
    return Settings()
