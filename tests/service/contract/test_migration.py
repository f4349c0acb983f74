"""The hand-written migration 0002 creates exactly what models.py declares (on the migrated test database)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.contract.models import Base


async def test_migration_matches_models(pg_urls: dict[str, str]) -> None:
    engine = create_async_engine(pg_urls["contract"])
    ours = set(Base.metadata.tables)

    def diff(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, Base.metadata)
                if _table_of(d) in ours]

    try:
        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == []


def _table_of(d: Any) -> str | None:
    item = d[0] if isinstance(d, list) else d
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str):
            return part
        if name is not None and hasattr(part, "columns"):
            return str(name)
    return None
