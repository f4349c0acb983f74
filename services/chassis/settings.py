"""All configuration in one pydantic-settings class, read from GOUMAI_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("catalogue", "budget", "registry", "contract", "assessment")
DEFAULT_PORTS = {"gateway": 8000, "catalogue": 8001, "budget": 8002, "registry": 8003,
                 "contract": 8004, "assessment": 8005}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOUMAI_", env_file=None, extra="ignore")

    # Which process this is: one of SERVICES or "gateway".
    service: str = "gateway"
    host: str = "127.0.0.1"
    port: int | None = None

    # Where state lives. A service's own database; "{service}" is replaced by the service name.
    var_dir: Path = Path("var")
    database_url: str = "sqlite+aiosqlite:///var/{service}.db"
    db_pool_size: int = 10
    migrate_on_start: bool = True

    # The bus: "kafka" in production, "embedded" (a SQLite log file) on one machine.
    bus: Literal["kafka", "embedded"] = "embedded"
    kafka_bootstrap: str = "127.0.0.1:9092"
    embedded_log_path: Path = Path("var/bus.db")
    topic_prefix: str = "goumai"
    consumer_max_attempts: int = 5
    relay_batch_size: int = 500
    relay_poll_seconds: float = 2.0  # the safety net; commits wake the relay at once

    # Other services, for the few synchronous calls (contract → registry, budget; budget → catalogue).
    catalogue_url: str = "http://127.0.0.1:8001"
    budget_url: str = "http://127.0.0.1:8002"
    registry_url: str = "http://127.0.0.1:8003"
    contract_url: str = "http://127.0.0.1:8004"
    assessment_url: str = "http://127.0.0.1:8005"
    http_timeout_seconds: float = 5.0

    # Policy packs and the jurisdiction this deployment runs under.
    policy_dir: Path = Path(__file__).resolve().parents[2] / "policies"
    jurisdiction: str = "national"

    # Authentication: JWT verified with public keys (by kid); the private key only where tokens are minted.
    jwt_public_keys_dir: Path = Path("var/keys")
    jwt_issuer: str = "goumai"
    jwt_audience: str = "goumai"
    auth_required: bool = True

    # Gateway.
    rate_limit_per_minute: int = 600
    service_internal_token: str | None = Field(default=None, description="token the gateway forwards with")

    log_level: str = "INFO"
    log_json: bool = True

    def resolved_database_url(self, service: str | None = None) -> str:
        return self.database_url.replace("{service}", service or self.service)

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url"))

    def resolved_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS.get(self.service, 8000)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
