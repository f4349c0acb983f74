"""Each service's own Alembic history, applied by `goumai migrate` and at start on the embedded default.

A service's `migrations/env.py` is two lines: import its metadata and call `run_env(metadata)`.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES_ROOT = Path(__file__).resolve().parents[1]
# Processes outside services/ that own a database too: name → (models module, migrations folder).
OTHER_HISTORIES = {"gateway": ("gateway.models", SERVICES_ROOT.parent / "gateway" / "migrations")}


def migrations_dir(service: str) -> Path:
    if service in OTHER_HISTORIES:
        return OTHER_HISTORIES[service][1]
    return SERVICES_ROOT / service / "migrations"


def models_module(service: str) -> str:
    if service in OTHER_HISTORIES:
        return OTHER_HISTORIES[service][0]
    return f"services.{service}.models"


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


_ALEMBIC = threading.Lock()


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; runs its own event loop, so call it from a thread inside async code)."""
    importlib.import_module(models_module(service))
    db = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and db and db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    with _ALEMBIC:  # Alembic's `context` is process-global: one migration at a time per process
        command.upgrade(alembic_config(service, url), revision)


async def upgrade_async(service: str, url: str) -> None:
    await asyncio.to_thread(upgrade, service, url)


def run_env(target_metadata: MetaData) -> None:
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    service = config.attributes.get("service", "goumai")

    def do_run(connection: Any) -> None:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both migrate.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": zlib.crc32(f"goumai-migrate-{service}".encode())})
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(run())
