"""Fixtures for the gateway: its own database on the test server, a gateway in front of fake services
(`edge`), and a gateway in front of the five real services in-process (`stack`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from gateway.app import create_app
from services.chassis.auth import KeyRing, mint_token
from services.chassis.settings import SERVICES, Settings
from tests.support.cluster import Cluster
from tests.support.servers import need_postgres

RUN = uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
async def gateway_db() -> AsyncIterator[str]:
    """A fresh database for the gateway (its audit trail) on the test server; migrated by its lifespan."""
    base = need_postgres()
    url = make_url(base)
    name = f"gt_{RUN}_gateway"
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                  database="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def gateway_settings(db_url: str, keys: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {f"{s}_url": f"http://{s}" for s in SERVICES}
    values.update(service="gateway", database_url=db_url, jwt_public_keys_dir=keys, rate_limit_per_minute=100_000,
                  http_timeout_seconds=10.0)
    values.update(extra)
    return Settings(**values)


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    ring: KeyRing
    upstream: httpx.AsyncClient
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, role: str, *, org: str | None = None, region: str | None = None, **kw: Any) -> str:
        return mint_token(self.ring, role=role, org=org, region=region, **kw)

    def auth(self, role: str, *, org: str | None = None, region: str | None = None,
             key: bool = True) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token(role, org=org, region=region)}"}
        if key:
            h["Idempotency-Key"] = uuid.uuid4().hex
        return h


GatewayFactory = Callable[..., Awaitable[Gateway]]


async def start_gateway(stack: AsyncExitStack, settings: Settings, upstream: httpx.AsyncClient) -> Gateway:
    app = create_app(settings)
    app.state.http_override = upstream
    await stack.enter_async_context(app.router.lifespan_context(app))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30)
    await stack.enter_async_context(client)
    return Gateway(app=app, client=client, ring=KeyRing(settings.jwt_public_keys_dir), upstream=upstream)


@pytest.fixture
async def edge(gateway_db: str, keys_dir: Path) -> AsyncIterator[GatewayFactory]:
    """`gw = await edge({"catalogue": transport}, rate_limit_per_minute=3)`: a gateway whose services are
    the given httpx transports (fake apps); unnamed services cannot be reached."""
    async with AsyncExitStack() as stack:

        async def make(transports: dict[str, httpx.AsyncBaseTransport] | None = None, *, keys: Path | None = None,
                       **extra: Any) -> Gateway:
            mounts = {f"http://{s}": t for s, t in (transports or {}).items()}
            upstream = await stack.enter_async_context(httpx.AsyncClient(mounts=mounts, timeout=10))
            settings = gateway_settings(gateway_db, keys or keys_dir, **extra)
            return await start_gateway(stack, settings, upstream)

        yield make


@pytest.fixture(scope="session")
async def stack(pg_urls: dict[str, str], kafka_bootstrap: str, keys_dir: Path,
                gateway_db: str) -> AsyncIterator[tuple[Cluster, Gateway]]:
    """The five services in-process on Postgres and Kafka, and the gateway in front of them (one per test session)."""
    c = Cluster(db_urls=pg_urls, bus="kafka", kafka=kafka_bootstrap, log_path=None, keys=keys_dir)
    await c.start(*SERVICES)
    try:
        async with AsyncExitStack() as es:
            shared: httpx.AsyncClient = c.apps[SERVICES[0]].state.http_override
            gw = await start_gateway(es, gateway_settings(gateway_db, keys_dir), shared)
            yield c, gw
    finally:
        await c.stop()
