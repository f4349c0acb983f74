"""Services in one test process on real Postgres and Kafka (or SQLite and the embedded log).

`Cluster` starts any of the five service apps with their lifespans (migrations, relay, consumer),
routes their calls to each other in-process (httpx mounts on ASGI apps), and gives each an
httpx client. `EventProbe` reads a topic from the start with its own group and polls with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.chassis.app import ServiceContext, make_transport
from services.chassis.auth import KeyRing, mint_token
from services.chassis.bus import Transport
from services.chassis.bus.embedded import EmbeddedTransport
from services.chassis.bus.kafka import KafkaTransport
from services.chassis.settings import SERVICES, Settings
from services.events import Envelope


def settings_for(service: str, *, database_url: str, bus: str, kafka: str | None, log_path: Path | None,
                 keys: Path, prefix: str, **extra: Any) -> Settings:
    return Settings(
        service=service,
        database_url=database_url,
        bus=bus,  # type: ignore[arg-type]
        kafka_bootstrap=kafka or "127.0.0.1:9",
        embedded_log_path=log_path or Path("var/bus.db"),
        topic_prefix=prefix,
        jwt_public_keys_dir=keys,
        relay_poll_seconds=0.5,
        consumer_max_attempts=3,
        **{f"{s}_url": f"http://{s}" for s in SERVICES},
        **extra,
    )


class Cluster:
    def __init__(self, *, db_urls: dict[str, str], bus: str, kafka: str | None, log_path: Path | None,
                 keys: Path, prefix: str | None = None, extra: dict[str, Any] | None = None,
                 wrap_transport: Callable[[Transport], Transport] | None = None) -> None:
        self.db_urls = db_urls
        self.bus = bus
        self.kafka = kafka
        self.log_path = log_path
        self.keys = keys
        self.prefix = prefix or f"t{uuid.uuid4().hex[:8]}"
        self.extra = extra or {}
        # Each service's own transport, wrapped (e.g. to deliver every message twice); None: the app makes its own.
        self.wrap_transport = wrap_transport
        self._transports: dict[str, Transport] = {}
        self.apps: dict[str, FastAPI] = {}
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.mounts: dict[str, httpx.ASGITransport] = {}
        self.run_background = True
        self._shared: httpx.AsyncClient | None = None
        self._lifespans: dict[str, contextlib.AsyncExitStack] = {}
        self._stack = contextlib.AsyncExitStack()
        self.ring = KeyRing(keys)

    def transport(self) -> Transport:
        if self.bus == "kafka":
            assert self.kafka
            return KafkaTransport(self.kafka, client_id="goumai-test")
        assert self.log_path
        return EmbeddedTransport(self.log_path)

    @property
    def shared_http(self) -> httpx.AsyncClient:
        """The client the services (and a gateway in front of them) use to call each other in-process."""
        assert self._shared is not None, "the cluster is not started"
        return self._shared

    def _app(self, service: str) -> FastAPI:
        module = importlib.import_module(f"services.{service}.app")
        settings = settings_for(service, database_url=self.db_urls[service], bus=self.bus, kafka=self.kafka,
                                log_path=self.log_path, keys=self.keys, prefix=self.prefix, **self.extra)
        if self.wrap_transport is None:
            app: FastAPI = module.create_app(settings, run_background=self.run_background)
            return app
        transport = self.wrap_transport(make_transport(settings))
        self._transports[service] = transport
        wrapped: FastAPI = module.create_app(settings, run_background=self.run_background, transport=transport)
        return wrapped

    async def _enter(self, service: str, app: FastAPI) -> None:
        """Run the app's lifespan (migrations, relay, consumer) in a stack of its own, closed by `stop`."""
        app.state.http_override = self.shared_http
        lifespan = contextlib.AsyncExitStack()
        transport = self._transports.pop(service, None)
        if transport is not None:  # given to the app, which starts it but leaves stopping it to its owner
            lifespan.push_async_callback(transport.stop)
        await lifespan.enter_async_context(app.router.lifespan_context(app))
        self._lifespans[service] = lifespan
        self._stack.push_async_callback(self._leave, service, lifespan)
        self.apps[service] = app

    async def _leave(self, service: str, lifespan: contextlib.AsyncExitStack) -> None:
        if self._lifespans.get(service) is lifespan:
            del self._lifespans[service]
        await lifespan.aclose()

    async def start(self, *services: str, run_background: bool = True) -> Cluster:
        self.run_background = run_background
        apps = {s: self._app(s) for s in services}
        for s, app in apps.items():
            self.mounts[s] = httpx.ASGITransport(app=app)
        shared = httpx.AsyncClient(mounts={f"http://{s}": t for s, t in self.mounts.items()}, timeout=10)
        await self._stack.enter_async_context(shared)
        self._shared = shared
        for s in services:
            await self._enter(s, apps[s])
            client = httpx.AsyncClient(transport=self.mounts[s], base_url=f"http://{s}", timeout=10)
            self.clients[s] = await self._stack.enter_async_context(client)
        for s in services:
            await self._ready(s)
        return self

    async def _ready(self, service: str) -> None:
        consumer = self.ctx(service).consumer
        if consumer is not None and self.run_background:
            await asyncio.wait_for(consumer.ready.wait(), 30)

    async def halt(self, service: str) -> None:
        """Stop one service as a crash would: its lifespan ends (relay and consumer cancelled wherever they are,
        no graceful drain); calls to it fail until `resume`."""
        lifespan = self._lifespans.pop(service)
        await lifespan.aclose()

    async def resume(self, service: str) -> FastAPI:
        """Start a new app for a halted service, on the same database and consumer group; the in-process
        routes (the other services, the gateway, `clients`) reach the new app from now on."""
        assert service not in self._lifespans, f"{service} is running"
        app = self._app(service)
        self.mounts[service].app = app
        await self._enter(service, app)
        await self._ready(service)
        return app

    async def restart(self, service: str) -> FastAPI:
        await self.halt(service)
        return await self.resume(service)

    async def stop(self) -> None:
        await self._stack.aclose()

    def ctx(self, service: str) -> ServiceContext:
        ctx: ServiceContext = self.apps[service].state.ctx
        return ctx

    def token(self, role: str, *, org: str | None = None, region: str | None = None, **kw: Any) -> str:
        return mint_token(self.ring, role=role, org=org, region=region, **kw)

    def auth(self, role: str, *, org: str | None = None, region: str | None = None,
             idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token(role, org=org, region=region)}"}
        if idempotency_key is not False:
            h["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        return h

    def probe(self, *services: str) -> EventProbe:
        return EventProbe(self.transport(), [f"{self.prefix}.{s}" for s in services])


class EventProbe:
    """Reads topics from the beginning (its own consumer group) and waits for matching events."""

    def __init__(self, transport: Transport, topics: list[str]) -> None:
        self.transport = transport
        self.topics = topics
        self.seen: list[Envelope] = []
        self._consumer: Any = None

    async def __aenter__(self) -> EventProbe:
        await self.transport.start()
        await self.transport.ensure_topics(self.topics)
        self._consumer = self.transport.consumer(group=f"probe-{uuid.uuid4().hex}", topics=self.topics)
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._consumer.stop()
        await self.transport.stop()

    async def _pull(self, timeout: float) -> None:
        for m in await self._consumer.fetch(timeout=timeout, max_records=500):
            self.seen.append(Envelope.from_kafka(m.key, m.value, m.headers))

    def matching(self, type_: str, where: Callable[[dict[str, Any]], bool] | None = None) -> list[Envelope]:
        return [e for e in self.seen if e.type == type_ and (where is None or where(e.data))]

    async def wait_for(self, type_: str, where: Callable[[dict[str, Any]], bool] | None = None, *,
                       count: int = 1, timeout: float = 20.0) -> list[Envelope]:
        """Poll with a deadline until `count` matching events were seen; fail with what was seen."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(type_, where)
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(e.type, e.subject) for e in self.seen][-20:]
                raise AssertionError(f"expected {count} × {type_}, got {len(found)}; last seen: {seen}")
            await self._pull(min(remaining, 0.5))

    async def settle(self, quiet: float = 1.0) -> None:
        """Read until nothing new arrives for `quiet` seconds (to assert that no more events come)."""
        while True:
            before = len(self.seen)
            await self._pull(quiet)
            if len(self.seen) == before:
                return


async def poll(check: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05,
               message: str = "condition not met") -> Any:
    """Call `check` (sync or async) until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)  # poll with a deadline
    raise AssertionError(f"{message} within {timeout}s (last: {last!r})")


@contextlib.asynccontextmanager
async def running(cluster: Cluster, *services: str) -> AsyncIterator[Cluster]:
    await cluster.start(*services)
    try:
        yield cluster
    finally:
        await cluster.stop()
