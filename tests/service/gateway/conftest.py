"""Fixtures for the gateway: its own database on the test server, a gateway in front of fake services
(`edge`), and a gateway in front of the five real services in-process (`stack`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.chassis.settings import SERVICES
from tests.support.cluster import Cluster
from tests.support.gateway import Gateway, gateway_database, gateway_settings, start_gateway
from tests.support.servers import need_postgres

__all__ = ["Gateway", "GatewayFactory", "gateway_settings", "start_gateway"]

RUN = uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
async def gateway_db() -> AsyncIterator[str]:
    """A fresh database for the gateway (its audit trail) on the test server; migrated by its lifespan."""
    async with gateway_database(need_postgres(), RUN) as url:
        yield url


GatewayFactory = Callable[..., Awaitable[Gateway]]


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
