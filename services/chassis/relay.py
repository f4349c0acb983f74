"""The outbox relay: publishes committed outbox rows in order, marks them sent after the broker acks.

One relay is active per service database; others stand by (Postgres: a session advisory lock held by
the relay's own connection; SQLite: an exclusive file lock). A commit wakes the relay at once (an
in-process signal, and Postgres LISTEN/NOTIFY across processes); a slow poll is the safety net, since
NOTIFY is lost while a listener is disconnected. A relay that crashes loses nothing: unmarked rows
are published again and consumers' inboxes drop the repeats.

On Postgres the active relay reads and marks rows on the connection that holds its lock (plain asyncpg,
autocommit), so the hot path takes no pool connection and no ORM session. A commit in the relay's own
process hands its rows over (outbox.py), and the relay publishes them without reading them back when that
keeps the order; else it reads. Marking sent rides on the next read (one round trip for both), or is done
alone `mark_delay` after the first unmarked ack. Until then a crash republishes them, as a crash between the
ack and the mark always could.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chassis import metrics
from services.chassis.bus import Transport
from services.chassis.outbox import NOTIFY_CHANNEL, Handover, as_message
from services.chassis.schema import outbox

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
        self._acked_since = 0.0  # when the oldest of them was acked
        self.mark_delay = 0.05
        self._handed: list[Handover] = []  # committed in this process, not yet published
        self._needs_read = True  # rows may be waiting that were not handed over
        self._last_read = 0.0
        self._recent: dict[int, None] = {}  # ids this leader published lately, oldest first
        self.recent_limit = 8192
        self.handed_limit = 1000  # handovers held while a publish is under way; beyond, the relay reads instead
        self.published_handed = 0  # of `published`, those sent from a handover, without a read
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
            await self.transport.publish([as_message(r._mapping) for r in rows])
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
        await self.transport.publish([as_message(r) for r in rows])
        self._published([r["id"] for r in rows])
        return len(rows)

    async def _publish_handed(self) -> None:
        """Publish the rows handed over by commits in this process, in the order they came, up to the first
        that may not go before a read (the read then publishes it and whatever it waits for, in id order)."""
        handed, self._handed = self._handed, []
        ids: list[int] = []
        messages = []
        for h in handed:
            if not h.may_go_before_a_read(_Published(self._recent, ids)):
                self._needs_read = True
                break
            for i, m in zip(h.ids, h.messages, strict=True):
                if i not in self._recent:  # else a read published it first
                    ids.append(i)
                    messages.append(m)
        if messages:
            await self.transport.publish(messages)
            self._published(ids)
            self.published_handed += len(ids)

    def _published(self, ids: list[int]) -> None:
        if not self._acked:
            self._acked_since = time.monotonic()
        self._acked += ids
        recent = self._recent
        for i in ids:
            recent[i] = None
        while len(recent) > self.recent_limit:
            del recent[next(iter(recent))]
        self.published += len(ids)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(ids))

    async def _mark_acked(self) -> None:
        if self._acked and self._conn is not None:
            await self._conn.execute(_MARK_SENT, datetime.now(UTC), self._acked)
            self._acked = []

    async def _publish_loop(self) -> None:
        self._needs_read, self._handed, self._recent = True, [], {}
        while not self._stopping.is_set():
            # Cleared before looking: a commit or NOTIFY from now on sets it again, and one before is seen now.
            self._wake.clear()
            if self._handed:
                await self._publish_handed()
            now = time.monotonic()
            if self._needs_read or now - self._last_read >= self.poll_seconds:
                self._needs_read, self._last_read = False, now
                if await self.publish_pending() >= self.batch_size:
                    self._needs_read = True  # more are waiting
            if self._handed or self._needs_read:
                continue
            if self._acked:  # mark them alone if nothing carries the mark in time
                due = self._acked_since + self.mark_delay - time.monotonic()
                if due <= 0 or not await self._wait(due):
                    await self._mark_acked()
            else:
                await self._wait(self._last_read + self.poll_seconds - time.monotonic())
        await self._mark_acked()  # stopping: leave nothing to republish

    async def _wait(self, seconds: float) -> bool:
        """Wait for a wake (True) or the time (False)."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as the
        # event is set, and a relay that ignores its cancellation never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
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
        self._needs_read = True
        self._wake.set()

    def _take(self, handover: Handover) -> None:
        # Not leading any more, or a backlog (the broker slow or away): the rows are in the table, read in order.
        if self._conn is None or len(self._handed) >= self.handed_limit:
            self._needs_read = True
        else:
            self._handed.append(handover)
        self._wake.set()


class RelayWake:
    """`relay.wake`: what a UnitOfWork calls after a commit with outbox rows. While this relay leads on
    Postgres (`leading`), the UnitOfWork hands its rows over (`handover`) instead of NOTIFYing: the only
    listener is this relay. Otherwise it calls `wake()` and the relay reads the table."""

    def __init__(self, relay: OutboxRelay) -> None:
        self._relay = relay

    def __call__(self) -> None:
        self._relay._needs_read = True
        self._relay._wake.set()

    def handover(self, handover: Handover) -> None:
        self._relay._take(handover)

    @property
    def leading(self) -> bool:
        return self._relay._conn is not None


class _Published:
    """`in`: published lately by this leader, or earlier in the batch being assembled."""

    def __init__(self, recent: dict[int, None], batch: list[int]) -> None:
        self.recent, self.batch = recent, batch

    def __contains__(self, i: object) -> bool:
        return i in self.recent or i in self.batch


# The UPDATE and the SELECT see the same snapshot, so the SELECT leaves out the rows being marked itself.
_MARK_AND_SELECT_UNSENT = (
    "WITH marked AS (UPDATE outbox SET sent_at = $2 WHERE id = ANY($3::bigint[])) "
    "SELECT id, topic, key, headers, payload FROM outbox "
    "WHERE sent_at IS NULL AND NOT (id = ANY($3::bigint[])) ORDER BY id LIMIT $1"
)
_MARK_SENT = "UPDATE outbox SET sent_at = $1 WHERE id = ANY($2::bigint[])"


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
