"""The outbox relay: publishes committed outbox rows in order, marks them sent after the broker acks.

One relay is active per service database; others stand by (Postgres: a session advisory lock held by
the relay's own connection; SQLite: an exclusive file lock). A commit wakes the relay at once (an
in-process signal, and Postgres LISTEN/NOTIFY across processes); a slow poll is the safety net, since
NOTIFY is lost while a listener is disconnected. A relay that crashes loses nothing: unmarked rows
are published again and consumers' inboxes drop the repeats.

On Postgres the active relay reads and marks rows on the connection that holds its lock (plain asyncpg,
autocommit), so the hot path takes no pool connection and no ORM session. Marking a batch sent rides on the
next read (one round trip for both); when no read follows within `mark_delay`, the batch is marked alone.
Until then a crash republishes it, as a crash between the ack and the mark always could.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chassis import metrics
from services.chassis.bus import OutMessage, Transport
from services.chassis.schema import outbox
from services.chassis.uow import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        transport: Transport,
        batch_size: int = 500,
        poll_seconds: float = 2.0,
    ) -> None:
        self.service = service
        self.engine = engine
        self.sessions = session_factory
        self.transport = transport
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.active = False
        self.published = 0
        self._conn: Any = None  # the leadership connection, while leading on Postgres
        self._acked: list[int] = []  # published and acked, not yet marked sent (Postgres)
        self.mark_delay = 0.05
        self.wake = RelayWake(self)


    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows in id order; return how many were sent."""
        if self._conn is not None:
            return await self._publish_pending_pg(self._conn)
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.headers, outbox.c.payload)
                    .where(outbox.c.sent_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                return 0
            await self.transport.publish(
                [
                    OutMessage(
                        topic=r.topic,
                        key=r.key.encode(),
                        value=r.payload.encode(),
                        headers=tuple((k, v.encode()) for k, v in r.headers),
                    )
                    for r in rows
                ]
            )
            await session.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(sent_at=datetime.now(UTC))
            )
            await session.commit()
        self.published += len(rows)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def run(self) -> None:
        """Stand by until this relay holds the lock, then publish until stopped."""
        while not self._stopping.is_set():
            try:
                async with self._leadership() as leading:
                    if not leading:
                        await self._wait(self.poll_seconds)
                        continue
                    self.active = True
                    await self._publish_loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay of %s failed; retrying", self.service)
                await self._wait(min(self.poll_seconds, 1.0))
            finally:
                self.active = False

    async def _publish_pending_pg(self, pg: Any) -> int:
        acked, self._acked = self._acked, []
        try:
            rows = await pg.fetch(_MARK_AND_SELECT_UNSENT, self.batch_size, datetime.now(UTC), acked)
        except BaseException:
            self._acked = acked + self._acked  # not marked: the statement failed as a whole
            raise
        if not rows:
            return 0
        await self.transport.publish(
            [
                OutMessage(
                    topic=r["topic"],
                    key=r["key"].encode(),
                    value=r["payload"].encode(),
                    headers=tuple((k, v.encode()) for k, v in _json(r["headers"])),
                )
                for r in rows
            ]
        )
        self._acked = [r["id"] for r in rows]
        self.published += len(rows)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _mark_acked(self) -> None:
        if self._acked and self._conn is not None:
            await self._conn.execute(_MARK_SENT, datetime.now(UTC), self._acked)
            self._acked = []

    async def _publish_loop(self) -> None:
        while not self._stopping.is_set():
            # Cleared before reading: a commit from now on sets it again, and one before is in the read.
            self._wake.clear()
            sent = await self.publish_pending()
            if sent < self.batch_size:
                if self._acked and not await self._wait(self.mark_delay):
                    await self._mark_acked()  # no read came to carry the mark
                await self._wait(self.poll_seconds)
        await self._mark_acked()  # stopping: leave nothing to republish

    async def _wait(self, seconds: float) -> bool:
        """Wait for a wake (True) or the time (False)."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as the
        # event is set, and a relay that ignores its cancellation never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
                return True
        return False

    @contextlib.asynccontextmanager
    async def _leadership(self) -> Any:
        url = self.engine.url
        if url.get_backend_name() == "postgresql":
            async with self._pg_leadership() as leading:
                yield leading
        else:
            with _file_lock(_sqlite_lock_path(str(url))) as leading:
                yield leading

    @contextlib.asynccontextmanager
    async def _pg_leadership(self) -> Any:
        """Leadership is a session advisory lock on a connection of the relay's own, outside the pool:
        closing it (even when the relay is cancelled) always drops the lock with the session."""
        lock_id = zlib.crc32(f"goumai-relay-{self.service}".encode())
        url = self.engine.url
        pg = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                   database=url.database)
        try:
            got = await pg.fetchval("SELECT pg_try_advisory_lock($1)", lock_id)
            if not got:
                yield False
                return
            await pg.add_listener(NOTIFY_CHANNEL, self._on_notify)
            self._conn = pg
            yield True
        finally:
            self._conn = None
            pg.terminate()  # synchronous: runs to the end even under cancellation

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()


class RelayWake:
    """`relay.wake`: the in-process signal a UnitOfWork calls after a commit with outbox rows. While this
    relay leads on Postgres (`leading`), the UnitOfWork need not NOTIFY: the only listener is this relay."""

    def __init__(self, relay: OutboxRelay) -> None:
        self._relay = relay

    def __call__(self) -> None:
        self._relay._wake.set()

    @property
    def leading(self) -> bool:
        return self._relay._conn is not None


# The UPDATE and the SELECT see the same snapshot, so the SELECT leaves out the rows being marked itself.
_MARK_AND_SELECT_UNSENT = (
    "WITH marked AS (UPDATE outbox SET sent_at = $2 WHERE id = ANY($3::bigint[])) "
    "SELECT id, topic, key, headers, payload FROM outbox "
    "WHERE sent_at IS NULL AND NOT (id = ANY($3::bigint[])) ORDER BY id LIMIT $1"
)
_MARK_SENT = "UPDATE outbox SET sent_at = $1 WHERE id = ANY($2::bigint[])"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _sqlite_lock_path(url: str) -> Path | None:
    db = make_url(url).database
    if not db or db == ":memory:":
        return None
    return Path(db + ".relay.lock")


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Any:
    if path is None:
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
