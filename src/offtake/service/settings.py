"""Service settings, read from ``OFFTAKE_*`` environment variables.

One :class:`Settings` object is built at start and injected (``create_app(settings)``);
nothing else in the service reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """A SQLite file under the user data directory (``./offtake.db`` if that is unknown)."""
    try:
        from platformdirs import user_data_dir

        folder = Path(user_data_dir("offtake", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'offtake.db'}"
    except Exception:  # noqa: BLE001 - any failure falls back to the working directory
        return "sqlite:///./offtake.db"


class Settings(BaseSettings):
    """Everything the service can be configured with (env prefix ``OFFTAKE_``)."""

    model_config = SettingsConfigDict(env_prefix="OFFTAKE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """SQLAlchemy URL; ``postgresql+psycopg://user@host:5432/db`` selects PostgreSQL."""
    secret_key: str | None = None
    """HS256 signing key (>= 32 characters). Unset: one is generated once and kept in the DB."""
    token_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    """Lifetime of an access token [s]."""
    token_issuer: str = "offtake"
    pubsub: str = "auto"
    """Setpoint fan-out across processes: ``auto`` (PostgreSQL LISTEN/NOTIFY when the
    database is PostgreSQL, else in-process), ``postgres`` or ``memory``."""
    pubsub_channel: str = "offtake_setpoints"
    """LISTEN/NOTIFY channel name (make it unique per deployment sharing one database)."""
    penalty_pkr_per_kwh: float = Field(default=50.0, ge=0)
    """Penalty on energy drawn above the setpoint [PKR/kWh], on top of the tariff."""
    compliance_tolerance_mw: float = Field(default=0.05, ge=0)
    """Draw this much above the setpoint is not flagged [MW]."""
    compliance_grace_s: float = Field(default=60.0, ge=0)
    """A setpoint cut is enforced this long after it was issued [s] (ramp time)."""
    billing_timezone: str = "Asia/Karachi"
    """Months for invoices are calendar months in this zone."""
    allocation_tick_s: float = Field(default=60.0, ge=0)
    """Re-run allocation this often so forecast intervals take effect [s]; 0 disables."""
    migrate_on_start: bool = True
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError("OFFTAKE_SECRET_KEY must be at least 32 characters")
        return value

    @field_validator("pubsub")
    @classmethod
    def _known_pubsub(cls, value: str) -> str:
        if value not in {"auto", "postgres", "memory"}:
            raise ValueError("OFFTAKE_PUBSUB must be one of auto, postgres, memory")
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")
