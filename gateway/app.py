"""The gateway app: `create_app(settings)`; run it like a service (`uvicorn --factory gateway.app:create_app`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from gateway import audit, health, openapi, proxy, public
from gateway.audit import AuditTrail
from gateway.middleware import AccessAuditMiddleware, GuardMiddleware
from gateway.ratelimit import TokenBucketLimiter
from gateway.state import GatewayState
from services.chassis.app import RequestContextMiddleware, _install_fallback_handler
from services.chassis.auth import KeyRing
from services.chassis.db import make_engine
from services.chassis.errors import install_problem_handlers
from services.chassis.migrations import upgrade_async
from services.chassis.settings import Settings, get_settings

PORTAL = Path(__file__).resolve().parent / "portal"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.service != "gateway":
        settings = settings.model_copy(update={"service": "gateway"})
    ring = KeyRing(settings.jwt_public_keys_dir)
    gw = GatewayState(settings=settings, keyring=ring, limiter=TokenBucketLimiter(settings.rate_limit_per_minute))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url("gateway")
        if settings.migrate_on_start:
            await upgrade_async("gateway", url)
        gw.engine = make_engine(url, pool_size=settings.db_pool_size)
        gw.audit = AuditTrail(gw.engine)
        # Tests route to in-process services (httpx mounts onto ASGI apps), as the chassis does.
        override: httpx.AsyncClient | None = getattr(app.state, "http_override", None)
        gw._http = override or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout_seconds, connect=min(2.0, settings.http_timeout_seconds)),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        try:
            yield
        finally:
            if override is None:
                await gw.http.aclose()
            gw._http = None
            await gw.engine.dispose()

    app = FastAPI(title="Goumai gateway — 政府购买服务", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None,
                  description="One entry point: /api/{service}/… and the public disclosure API /api/public/….")
    app.state.settings = settings
    app.state.keyring = ring  # read by the chassis' `current_principal` (the audit route)
    app.state.gateway = gw
    install_problem_handlers(app)
    _install_fallback_handler(app)
    app.add_middleware(GuardMiddleware, gateway=gw)
    app.add_middleware(AccessAuditMiddleware, gateway=gw)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.include_router(health.chassis_health())
    app.include_router(health.router)
    app.include_router(openapi.router)
    app.include_router(audit.router)
    app.include_router(public.router)
    app.include_router(proxy.router)  # last: /api/{service}/… catches what the others do not
    app.mount("/portal", StaticFiles(directory=PORTAL, html=True), name="portal")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/portal/")

    return app
