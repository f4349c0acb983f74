"""Async engines and sessions for a service's own database (Postgres or SQLite, by URL)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.schema import MetaData, Table

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Each service's models.py: `class Base(DeclarativeBase): metadata = new_metadata()`."""
    return MetaData(naming_convention=NAMING)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        db = make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_serialisable_writes(engine)
        return engine
    engine = create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_use_lifo=True
    )
    _ping_when_idle(engine)
    return engine


# A connection back in use within this many seconds is taken as alive; one idle for longer is pinged first.
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling, without its price on the hot path: `pool_pre_ping` costs three round
    trips (BEGIN, ping, ROLLBACK on asyncpg) on every checkout; here only a connection that sat idle is pinged,
    and a dead one is replaced (DisconnectionError makes the pool retry with a new connection). The pool is
    LIFO, so under load the same few connections stay warm and the rest idle. A connection that dies while in
    use still fails its statement, and SQLAlchemy then invalidates the whole pool, as with pre-ping."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["goumai_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("goumai_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("connection found dead on checkout") from exc


def _sqlite_serialisable_writes(engine: AsyncEngine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue instead of deadlocking."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


_INSERT_IGNORE: dict[tuple[str, Table], Any] = {}


def _insert_ignore_stmt(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_IGNORE.get((dialect, table))
    if stmt is None:
        if dialect == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        else:  # pragma: no cover
            raise RuntimeError(f"unsupported dialect {dialect}")
        stmt = stmt.returning(*table.primary_key.columns)
        _INSERT_IGNORE[(dialect, table)] = stmt
    return stmt


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING; True when a row was inserted. Whether a row came back is
    the answer (a driver's rowcount may be -1, "unknown"). The statement is built once per table and
    dialect (the values are its parameters), so the inbox's hot path does not rebuild it per event."""
    result: Any = await session.execute(_insert_ignore_stmt(session, table), values)
    return result.first() is not None


async def insert_ignore_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Many rows in one `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING` (SQLAlchemy's
    insertmanyvalues); the primary keys of the rows that were inserted, as tuples."""
    if not rows:
        return set()
    result: Any = await session.execute(_insert_ignore_stmt(session, table), rows)
    return {tuple(r) for r in result.all()}


# ---------------------------------------------------------------- the chassis's own hot statements on Postgres
# The outbox, inbox and audit rows are written on every commit and every consumed batch, always with the same
# shape. On Postgres they go straight to the asyncpg connection under the session, inside the session's
# transaction: a statement through SQLAlchemy's asyncpg adapter costs ~0.25 ms here (greenlet bridge, cursor,
# result), asyncpg alone ~0.03 ms, and these statements need nothing SQLAlchemy adds.


async def pg_driver(session: AsyncSession) -> Any | None:
    """The asyncpg connection under the session, with the session's transaction begun, or None off Postgres
    (and None if the adapter is not the one this was written against: the callers then use SQLAlchemy)."""
    # Looked up once per session transaction: its connection stays the same until it ends.
    transaction = session.get_transaction()
    cached = session.info.get(_PG_DRIVER)
    if (cached is not None and transaction is not None and cached[0] is transaction and transaction.is_active
            and cached[1]._transaction is not None):
        return cached[1].driver_connection
    if session.get_bind().dialect.name != "postgresql":
        return None
    conn = await session.connection()
    adapter: Any = (await conn.get_raw_connection()).dbapi_connection
    # SQLAlchemy's adapter sends BEGIN lazily, with its first statement; a statement sent to the driver before
    # that would run outside the transaction. So begin it as the adapter does, if it has not yet.
    start = getattr(adapter, "_start_transaction", None)
    mutex = getattr(adapter, "_execute_mutex", None)
    if start is None or mutex is None or not hasattr(adapter, "_transaction"):
        return None
    if adapter._transaction is None:
        async with mutex:
            if adapter._transaction is None:
                await start()
    session.info[_PG_DRIVER] = (session.get_transaction(), adapter)
    return adapter.driver_connection


_PG_DRIVER = "goumai_pg_driver"


def _pg_columns(table: Table) -> tuple[list[str], set[str]]:
    cached = _PG_COLUMNS.get(table)
    if cached is None:
        cols = [c.name for c in table.columns if c is not table.autoincrement_column]
        cached = _PG_COLUMNS[table] = (cols, {c.name for c in table.columns if isinstance(c.type, JSON)})
    return cached


_PG_COLUMNS: dict[Table, tuple[list[str], set[str]]] = {}
_PG_INSERT: dict[tuple[Table, int], str] = {}


def _pg_row(row: dict[str, Any], cols: list[str], json_cols: set[str]) -> list[Any]:
    return [json.dumps(row[c], ensure_ascii=False) if c in json_cols else row.get(c) for c in cols]


def pg_insert(table: Table, rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """`INSERT INTO table (…) VALUES (…), (…)` for the rows in one statement, and its arguments in order (an
    autoincrement id is the database's; a column a row does not give is NULL; JSON columns as JSON text)."""
    cols, json_cols = _pg_columns(table)
    sql = _PG_INSERT.get((table, len(rows)))
    if sql is None:
        n = len(cols)
        values = ", ".join("(" + ", ".join(f"${r * n + i}" for i in range(1, n + 1)) + ")" for r in range(len(rows)))
        sql = _PG_INSERT[(table, len(rows))] = f'INSERT INTO {table.name} ({", ".join(cols)}) VALUES {values}'
    return sql, [value for r in rows for value in _pg_row(r, cols, json_cols)]


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Append rows in the session's transaction (an autoincrement id is the database's; a column a row does
    not give is NULL)."""
    if not rows:
        return
    pg = await pg_driver(session)
    if pg is None:
        await session.execute(table.insert(), rows)
        return
    sql, first = pg_insert(table, rows[:1])
    if len(rows) == 1:
        await pg.execute(sql, *first)  # one message fewer than executemany's
    else:
        cols, json_cols = _pg_columns(table)
        await pg.executemany(sql, [_pg_row(r, cols, json_cols) for r in rows])
