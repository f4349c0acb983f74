"""The gateway in-process, in front of services run by a `Cluster` (or fake apps): its settings, a handle with
tokens, and a database of its own (its audit trail) on the test server. Shared by tests/service/gateway,
tests/flows and tests/faults."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from gateway.app import create_app
from services.chassis.auth import KeyRing, mint_token
from services.chassis.settings import SERVICES, Settings
from tests.support.cluster import Cluster


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


async def start_gateway(stack: AsyncExitStack, settings: Settings, upstream: httpx.AsyncClient) -> Gateway:
    app = create_app(settings)
    app.state.http_override = upstream
    await stack.enter_async_context(app.router.lifespan_context(app))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30)
    await stack.enter_async_context(client)
    return Gateway(app=app, client=client, ring=KeyRing(settings.jwt_public_keys_dir), upstream=upstream)


async def gateway_in_front(stack: AsyncExitStack, cluster: Cluster, db_url: str, **extra: Any) -> Gateway:
    """A gateway routing to the services a started `cluster` runs (through the cluster's in-process mounts, so a
    service restarted with `cluster.restart(...)` is reached at once)."""
    return await start_gateway(stack, gateway_settings(db_url, cluster.keys, **extra), cluster.shared_http)


@contextlib.asynccontextmanager
async def gateway_database(base_url: str, tag: str) -> AsyncIterator[str]:
    """A fresh, empty database for a gateway on the test server (migrated by the gateway's lifespan), dropped after."""
    url = make_url(base_url)
    name = f"gt_{tag}_gateway"
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                  database="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
