"""The app factory and the one place that wires a service's dependencies (`ServiceContext`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from services.chassis import metrics
from services.chassis.auth import KeyRing
from services.chassis.bus import Transport
from services.chassis.calendar import BusinessCalendar
from services.chassis.context import authorization_var, request_id_var
from services.chassis.db import make_engine, make_session_factory
from services.chassis.errors import PROBLEM_JSON, Problem, install_problem_handlers
from services.chassis.http import ServiceClient
from services.chassis.idempotency import IdempotencyMiddleware
from services.chassis.inbox import EventConsumer, HandlerRegistry
from services.chassis.migrations import upgrade_async
from services.chassis.policy import PolicyBook, PolicyPack
from services.chassis.relay import OutboxRelay
from services.chassis.settings import Settings, get_settings
from services.chassis.uow import UnitOfWork

log = logging.getLogger(__name__)


def make_transport(settings: Settings) -> Transport:
    if settings.bus == "kafka":
        from services.chassis.bus.kafka import KafkaTransport

        return KafkaTransport(settings.kafka_bootstrap, client_id=f"goumai-{settings.service}")
    from services.chassis.bus.embedded import EmbeddedTransport

    return EmbeddedTransport(settings.embedded_log_path)


@dataclass
class ServiceSpec:
    """What a service contributes; its app.py builds one and calls `create_service_app`."""

    name: str
    title: str
    routers: Sequence[APIRouter]
    handlers: HandlerRegistry | None = None
    build_clients: Callable[[ServiceContext], Any] | None = None
    description: str = ""


@dataclass
class ServiceContext:
    """Everything a route, handler or service function may need, wired once at start."""

    name: str
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    transport: Transport
    policies: PolicyBook
    keyring: KeyRing
    http: httpx.AsyncClient
    relay: OutboxRelay | None = None
    consumer: EventConsumer | None = None
    clients: Any = None
    calendar_cache: dict[str, BusinessCalendar] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, service=self.name, topic_prefix=self.settings.topic_prefix,
                          on_commit=self.relay.wake if self.relay else None)

    def policy(self, on: date | None = None, *, pack: str | None = None) -> PolicyPack:
        return self.policies.pack(pack or self.settings.jurisdiction, on)

    def calendar(self, pack: PolicyPack | None = None) -> BusinessCalendar:
        pack = pack or self.policy()
        if pack.ref not in self.calendar_cache:
            self.calendar_cache[pack.ref] = pack.business_calendar()
        return self.calendar_cache[pack.ref]

    def client(self, service: str) -> ServiceClient:
        return ServiceClient(service, self.settings.service_url(service), self.http)


# ----------------------------------------------------------------- dependencies for routes
def get_ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[ServiceContext, Depends(get_ctx)]


async def get_uow(ctx: CtxDep) -> AsyncIterator[UnitOfWork]:
    async with ctx.uow() as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_session(ctx: CtxDep) -> AsyncIterator[AsyncSession]:
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


# ----------------------------------------------------------------- middleware
class RequestContextMiddleware:
    """Request id in and out (X-Request-ID), caller's token kept for onward calls, metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        rid = headers.get("x-request-id") or uuid.uuid4().hex
        t_rid = request_id_var.set(rid)
        t_auth = authorization_var.set(headers.get("authorization"))
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, scope["method"], path).observe(time.perf_counter() - started)
            request_id_var.reset(t_rid)
            authorization_var.reset(t_auth)


# ----------------------------------------------------------------- health
def health_router() -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.get("/healthz", summary="The process is alive")
    async def healthz(request: Request) -> dict[str, str]:
        return {"status": "ok", "service": request.app.state.settings.service}

    @r.get("/readyz", summary="The database and the bus answer")
    async def readyz(request: Request) -> Response:
        ctx: ServiceContext = request.app.state.ctx
        checks: dict[str, str] = {}
        try:
            async with ctx.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {type(exc).__name__}"
        checks["bus"] = "ok" if await ctx.transport.ping() else "down"
        if ctx.consumer is not None:
            checks["consumer"] = "ok" if ctx.consumer.ready.is_set() else "starting"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "service": ctx.name, "checks": checks}
        if ready:
            return JSONResponse(body)
        return JSONResponse({**body, "type": "https://goumai.example/problems/not_ready", "title": "not ready",
                             "code": "service.not_ready", "detail": str(checks)},
                            status_code=503, media_type=PROBLEM_JSON)

    @r.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return r


def _install_fallback_handler(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        p = Problem("internal", "an unexpected error occurred; it has been logged", status=500)
        return JSONResponse(p.body(str(request.url.path)), status_code=500, media_type=PROBLEM_JSON)


# ----------------------------------------------------------------- factory
def create_service_app(
    spec: ServiceSpec,
    settings: Settings | None = None,
    *,
    transport: Transport | None = None,
    run_background: bool = True,
) -> FastAPI:
    """Build a service. `transport` may be shared by several services in one process (`goumai up`);
    `run_background=False` skips the relay and consumer (for tests that drive them by hand)."""
    settings = settings or get_settings().model_copy(update={"service": spec.name})
    if settings.service != spec.name:
        settings = settings.model_copy(update={"service": spec.name})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url(spec.name)
        if settings.migrate_on_start:
            await upgrade_async(spec.name, url)
        engine = make_engine(url, pool_size=settings.db_pool_size)
        owns_transport = transport is None
        bus = transport or make_transport(settings)
        await bus.start()
        # Tests may route calls to other services in-process (httpx mounts onto ASGI apps).
        override: httpx.AsyncClient | None = getattr(app.state, "http_override", None)
        http = override or httpx.AsyncClient(timeout=settings.http_timeout_seconds)
        ctx = ServiceContext(
            name=spec.name, settings=settings, engine=engine, sessions=make_session_factory(engine),
            transport=bus, policies=PolicyBook.load(settings.policy_dir),
            keyring=KeyRing(settings.jwt_public_keys_dir), http=http,
        )
        ctx.relay = OutboxRelay(service=spec.name, engine=engine, session_factory=ctx.sessions, transport=bus,
                                batch_size=settings.relay_batch_size, poll_seconds=settings.relay_poll_seconds)
        if spec.handlers is not None:
            ctx.consumer = EventConsumer(
                service=spec.name, transport=bus, session_factory=ctx.sessions, handlers=spec.handlers,
                ctx=ctx, topic_prefix=settings.topic_prefix, max_attempts=settings.consumer_max_attempts,
                on_commit=ctx.relay.wake,
            )
        if spec.build_clients is not None:
            ctx.clients = spec.build_clients(ctx)
        app.state.ctx = ctx
        app.state.keyring = ctx.keyring
        tasks: list[asyncio.Task[None]] = []
        if run_background:
            tasks.append(asyncio.create_task(ctx.relay.run(), name=f"{spec.name}-relay"))
            if ctx.consumer is not None:
                tasks.append(asyncio.create_task(ctx.consumer.run(), name=f"{spec.name}-consumer"))
        try:
            yield
        finally:
            ctx.relay.stop()
            if ctx.consumer is not None:
                ctx.consumer.stop()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if override is None:
                await http.aclose()
            await engine.dispose()
            if owns_transport:
                await bus.stop()

    app = FastAPI(title=spec.title, description=spec.description, version="1.0.0", lifespan=lifespan,
                  root_path="")
    app.state.settings = settings
    app.state.spec = spec
    install_problem_handlers(app)
    _install_fallback_handler(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    app.include_router(health_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def service_package_dir(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / name
