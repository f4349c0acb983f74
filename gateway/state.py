"""What the gateway's routes and middleware share, wired once in `create_app` and its lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit import AuditTrail
from gateway.ratelimit import TokenBucketLimiter
from services.chassis.auth import KeyRing
from services.chassis.settings import SERVICES, Settings


@dataclass
class GatewayState:
    settings: Settings
    keyring: KeyRing
    limiter: TokenBucketLimiter
    services: tuple[str, ...] = SERVICES
    engine: AsyncEngine | None = None
    audit: AuditTrail | None = None
    _http: httpx.AsyncClient | None = None
    openapi_cache: dict[str, Any] = field(default_factory=dict)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the gateway is not started (its lifespan has not run)")
        return self._http

    def service_url(self, service: str) -> str:
        return self.settings.service_url(service).rstrip("/")
