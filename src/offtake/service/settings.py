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
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: it holds the key
        return f"sqlite:///{folder / 'offtake.db'}"
    except Exception:  # noqa: BLE001 - any failure falls back to the working directory
        return "sqlite:///./offtake.db"


class Settings(BaseSettings):
    """Everything the service can be configured with (env prefix ``OFFTAKE_``)."""

    model_config = SettingsConfigDict(env_prefix="OFFTAKE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """SQLAlchemy URL; ``postgresql+psycopg://user@host:5432/db`` selects PostgreSQL."""
    secret_key: str | None = None
    """HS256 signing key (>= 32 characters). Unset: read from ``secret_key_file``, else one is
    generated once and kept in the database (whose file must then be private: 0600)."""
    secret_key_file: Path | None = None
    """File holding the signing key (first line); must not be readable by group or others."""
    token_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    """Lifetime of an access token [s]; a token claiming a longer one is refused."""
    client_cache_s: float = Field(default=5.0, ge=0, le=60)
    """How long a worker trusts what it read about a token's client (active, roles, token
    generation) before reading it again [s]; changes made through a worker apply at once
    there, in other workers within this time."""
    login_max_failures_per_client: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    login_window_s: float = Field(default=60.0, gt=0)
    """Failed logins are counted over this window; reaching a limit locks that client id or
    address out of the token endpoints for ``login_lock_s`` [s]."""
    login_lock_s: float = Field(default=60.0, ge=0)
    login_concurrency: int = Field(default=4, ge=1, le=256)
    """Token requests processed at once (each costs an argon2 hash, 64 MiB by default)."""
    test_die_after_commit: int = Field(default=0, ge=0)
    """Tests only: the Nth meter-reading batch this process commits kills the process
    (SIGKILL) before it answers, to exercise clients' resend path. 0 (default) = never."""
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
    sandbox_clock: bool = False
    """Sandbox runs only: enable ``PUT /api/v1/admin/sim-clock``, so metering bills readings
    on a simulated clock (month of the simulated start, energy x speed) and invoicing asks
    whether a month is over by simulated time (docs/service.md#sandbox-clock)."""
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
