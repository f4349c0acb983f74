"""Shared fixtures. Tiers: tests/unit (pure domain, no I/O), tests/service (one service's API on
Postgres + Kafka), tests/flows (several services over the bus), tests/faults, tests/conformance."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.chassis.auth import generate_keypair
from services.chassis.migrations import upgrade_async
from services.chassis.settings import SERVICES
from tests.support.cluster import Cluster
from tests.support.servers import need_kafka, need_postgres

RUN = uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    generate_keypair(folder, kid="test-key-1")
    return folder


@pytest.fixture(scope="session")
async def pg_urls() -> AsyncIterator[dict[str, str]]:
    """A fresh database per service on the test server, migrated to head, for this test run."""
    base = need_postgres()
    url = make_url(base)
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                  database="postgres")
    urls = {}
    try:
        for s in SERVICES:
            name = f"gt_{RUN}_{s}"
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
            urls[s] = url.set(database=name).render_as_string(hide_password=False)
        for s, u in urls.items():
            await upgrade_async(s, u)
        yield urls
    finally:
        for s in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "gt_{RUN}_{s}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return need_kafka()


ClusterFactory = Callable[..., Awaitable[Cluster]]


@pytest.fixture
async def cluster(pg_urls: dict[str, str], kafka_bootstrap: str, keys_dir: Path) -> AsyncIterator[ClusterFactory]:
    """`c = await cluster("budget", "catalogue")`: those services on Postgres and Kafka, stopped after."""
    started: list[Cluster] = []

    async def make(*services: str, run_background: bool = True, **extra: object) -> Cluster:
        c = Cluster(db_urls=pg_urls, bus="kafka", kafka=kafka_bootstrap, log_path=None, keys=keys_dir,
                    extra=dict(extra))
        started.append(c)
        return await c.start(*services, run_background=run_background)

    yield make
    for c in reversed(started):
        await c.stop()


@pytest.fixture
async def embedded_cluster(tmp_path: Path, keys_dir: Path) -> AsyncIterator[ClusterFactory]:
    """The same on the embedded default: SQLite files and the embedded log."""
    started: list[Cluster] = []

    async def make(*services: str, run_background: bool = True, **extra: object) -> Cluster:
        urls = {s: f"sqlite+aiosqlite:///{tmp_path}/{s}.db" for s in SERVICES}
        c = Cluster(db_urls=urls, bus="embedded", kafka=None, log_path=tmp_path / "bus.db", keys=keys_dir,
                    extra=dict(extra))
        started.append(c)
        return await c.start(*services, run_background=run_background)

    yield make
    for c in reversed(started):
        await c.stop()


@pytest.fixture
async def db_session(pg_urls: dict[str, str], request: pytest.FixtureRequest) -> AsyncIterator[AsyncSession]:
    """A session on a service's database inside a transaction that is rolled back after the test:
    commits inside the test release savepoints only. Pick the service with
    `@pytest.mark.parametrize("db_session", ["budget"], indirect=True)` (default: budget)."""
    service = getattr(request, "param", "budget")
    engine = create_async_engine(pg_urls[service])
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()
    await engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say on which real servers the suite ran: the conformance suite per transport, and the rest."""
    from collections import Counter

    from tests.support.servers import KAFKA, PG

    outcomes: Counter[tuple[str, str]] = Counter()
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") != "call" and outcome == "passed":
                continue
            if "tests/conformance/" in nodeid:
                transport = "kafka" if "[kafka]" in nodeid else "embedded" if "[embedded]" in nodeid else "?"
                outcomes[(f"conformance on {transport}", outcome)] += 1
            else:
                tier = nodeid.split("/")[1] if nodeid.startswith("tests/") else "other"
                outcomes[(tier, outcome)] += 1
    if not outcomes:
        return
    terminalreporter.section("where the suite ran")
    terminalreporter.write_line(f"PostgreSQL: {PG or 'not available'}; Kafka: {KAFKA or 'not available'}")
    for group in sorted({g for g, _ in outcomes}):
        counts = ", ".join(f"{outcomes[(group, o)]} {o}" for o in ("passed", "failed", "skipped", "error")
                           if outcomes[(group, o)])
        terminalreporter.write_line(f"{group}: {counts}")
