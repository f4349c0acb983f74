"""What the benches share: where the test servers are, and scratch databases they create and drop."""

from __future__ import annotations

import asyncio
import os

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
