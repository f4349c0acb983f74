"""What the benches share: where the test servers are, scratch databases they create and drop, percentiles,
and a paced load."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from services.chassis.migrations import upgrade

BASE_URL = os.environ.get("GOUMAI_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:25432")
KAFKA = os.environ.get("GOUMAI_TEST_KAFKA", "127.0.0.1:29092")


async def admin(sql: str) -> None:
    """Run one statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    url = make_url(BASE_URL)
    conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                 database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def db_url(name: str) -> str:
    return make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)


async def fresh_database(name: str, service: str) -> str:
    """Drop and create `name`, migrate it as `service`'s database, and return its URL."""
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"')
    await asyncio.to_thread(upgrade, service, db_url(name))
    return db_url(name)


def pct(samples: list[float], q: float) -> float:
    """The q-quantile of the samples (nearest rank)."""
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


async def paced(sample: Callable[[int], Awaitable[float]], n: int, rate: float, *, start: int = 0) -> list[float]:
    """Start `sample(start + i)` every 1/rate seconds whatever is still in flight; their results, in order."""
    interval = 1.0 / rate
    began = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = began + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the pacing of the load, not a wait for a result
        tasks.append(asyncio.create_task(sample(start + i)))
    return list(await asyncio.gather(*tasks))


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background reader and wait for it to end."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
