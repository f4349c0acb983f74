"""An embedded, durable event log in one SQLite file: for the one-machine default.

Semantics match what the services rely on from Kafka: topics with partitions, order per key (a key
always maps to the same partition), consumer groups whose members share the partitions, committed
offsets per group, redelivery from the last commit after a member dies (its heartbeat lapses).
Several processes may share the file; in one process a publish wakes consumers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from services.chassis.bus import InMessage, OutMessage
from services.chassis.bus import TopicPartition as TP

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (topic TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS heads (topic TEXT, partition INTEGER, next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS records (topic TEXT, partition INTEGER, offset INTEGER, key BLOB,
  value BLOB NOT NULL, headers TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (topic, partition, offset));
CREATE TABLE IF NOT EXISTS group_offsets (grp TEXT, topic TEXT, partition INTEGER,
  next_offset INTEGER NOT NULL, PRIMARY KEY (grp, topic, partition));
CREATE TABLE IF NOT EXISTS members (grp TEXT, member TEXT, topics TEXT NOT NULL, heartbeat REAL NOT NULL,
  PRIMARY KEY (grp, member));
"""

# Wakes consumers in this process when anything is appended to a log file.
_signals: dict[str, weakref.WeakSet[asyncio.Event]] = {}


def _notify(path: str) -> None:
    for ev in list(_signals.get(path, ())):
        loop = getattr(ev, "_goumai_loop", None)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(ev.set)


def partition_for(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


class _Log:
    """The SQLite file, used from worker threads one statement batch at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path.resolve())
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def tx(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                result = fn(c, *args)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")
            return result


def _partitions(c: sqlite3.Connection, topic: str, default: int) -> int:
    row = c.execute("SELECT partitions FROM topics WHERE topic=?", (topic,)).fetchone()
    if row:
        return int(row[0])
    c.execute("INSERT INTO topics(topic, partitions) VALUES (?, ?)", (topic, default))
    c.executemany(
        "INSERT OR IGNORE INTO heads(topic, partition, next_offset) VALUES (?, ?, 0)",
        [(topic, p) for p in range(default)],
    )
    return default


def _append(c: sqlite3.Connection, messages: Sequence[OutMessage], default_partitions: int) -> None:
    now = time.time()
    for m in messages:
        n = _partitions(c, m.topic, default_partitions)
        p = partition_for(m.key, n)
        (offset,) = c.execute(
            "UPDATE heads SET next_offset = next_offset + 1 WHERE topic=? AND partition=? "
            "RETURNING next_offset - 1",
            (m.topic, p),
        ).fetchone()
        c.execute(
            "INSERT INTO records(topic, partition, offset, key, value, headers, ts) VALUES (?,?,?,?,?,?,?)",
            (m.topic, p, offset, m.key, m.value,
             json.dumps([[k, v.decode("latin-1")] for k, v in m.headers]), now),
        )


class EmbeddedTransport:
    name = "embedded"

    def __init__(self, path: Path | str, *, partitions: int = 3, session_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.partitions = partitions
        self.session_timeout = session_timeout
        self._log: _Log | None = None

    def _db(self) -> _Log:
        if self._log is None:
            self._log = _Log(self.path)
        return self._log

    async def start(self) -> None:
        await asyncio.to_thread(self._db)

    async def stop(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            await asyncio.to_thread(log.close)

    async def publish(self, messages: Sequence[OutMessage]) -> None:
        if not messages:
            return
        db = self._db()
        await asyncio.to_thread(db.tx, _append, list(messages), self.partitions)
        _notify(db.path)

    def consumer(self, *, group: str, topics: Sequence[str]) -> EmbeddedConsumer:
        return EmbeddedConsumer(self, group=group, topics=topics)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        db = self._db()

        def create(c: sqlite3.Connection) -> None:
            for t in topics:
                _partitions(c, t, self.partitions)

        await asyncio.to_thread(db.tx, create)

    async def ping(self) -> bool:
        try:
            await asyncio.to_thread(self._db().tx, lambda c: c.execute("SELECT 1").fetchone())
            return True
        except sqlite3.Error:
            return False

    async def describe(self) -> str:
        return f"embedded log at {self.path}"


class EmbeddedConsumer:
    def __init__(self, transport: EmbeddedTransport, *, group: str, topics: Sequence[str]) -> None:
        self.t = transport
        self.group = group
        self.topics = sorted(topics)
        self.member = str(uuid.uuid4())
        self._wake = asyncio.Event()
        self._assigned: list[TP] = []
        self._positions: dict[TP, int] = {}

    async def start(self) -> None:
        db = self.t._db()
        self._wake._goumai_loop = asyncio.get_running_loop()  # type: ignore[attr-defined]
        _signals.setdefault(db.path, weakref.WeakSet()).add(self._wake)
        await self.t.ensure_topics(self.topics)
        await asyncio.to_thread(db.tx, self._heartbeat)

    async def stop(self) -> None:
        db = self.t._db()
        _signals.get(db.path, weakref.WeakSet()).discard(self._wake)

        def leave(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM members WHERE grp=? AND member=?", (self.group, self.member))

        await asyncio.to_thread(db.tx, leave)

    def _heartbeat(self, c: sqlite3.Connection) -> list[TP]:
        """Record that this member is alive and work out its share of the group's partitions."""
        now = time.time()
        c.execute(
            "INSERT INTO members(grp, member, topics, heartbeat) VALUES (?,?,?,?) "
            "ON CONFLICT(grp, member) DO UPDATE SET heartbeat=excluded.heartbeat",
            (self.group, self.member, json.dumps(self.topics), now),
        )
        c.execute("DELETE FROM members WHERE grp=? AND heartbeat < ?", (self.group, now - self.t.session_timeout))
        members = [r[0] for r in c.execute("SELECT member FROM members WHERE grp=? ORDER BY member", (self.group,))]
        parts: list[TP] = []
        for topic in self.topics:
            n = _partitions(c, topic, self.t.partitions)
            parts.extend((topic, p) for p in range(n))
        rank = members.index(self.member)
        mine = [tp for i, tp in enumerate(parts) if i % len(members) == rank]
        if mine != self._assigned:
            # Partitions kept go on from where they were; new ones start at the group's committed offset.
            self._positions = {tp: pos for tp, pos in self._positions.items() if tp in mine}
            self._assigned = mine
        for tp in mine:
            if tp not in self._positions:
                row = c.execute(
                    "SELECT next_offset FROM group_offsets WHERE grp=? AND topic=? AND partition=?",
                    (self.group, tp[0], tp[1]),
                ).fetchone()
                self._positions[tp] = int(row[0]) if row else 0
        return mine

    def _read(self, c: sqlite3.Connection, max_records: int) -> list[InMessage]:
        self._heartbeat(c)
        out: list[InMessage] = []
        for tp in self._assigned:
            if len(out) >= max_records:
                break
            rows = c.execute(
                "SELECT offset, key, value, headers FROM records WHERE topic=? AND partition=? AND offset>=? "
                "ORDER BY offset LIMIT ?",
                (tp[0], tp[1], self._positions[tp], max_records - len(out)),
            ).fetchall()
            for offset, key, value, headers in rows:
                hdrs = tuple((k, v.encode("latin-1")) for k, v in json.loads(headers))
                out.append(InMessage(tp[0], tp[1], int(offset), key, value, hdrs))
            if rows:
                self._positions[tp] = int(rows[-1][0]) + 1
        return out

    async def fetch(self, *, timeout: float, max_records: int) -> list[InMessage]:
        db = self.t._db()
        deadline = time.monotonic() + timeout
        while True:
            self._wake.clear()
            msgs: list[InMessage] = await asyncio.to_thread(db.tx, self._read, max_records)
            remaining = deadline - time.monotonic()
            if msgs or remaining <= 0:
                return msgs
            # Woken at once by a publish in this process; other processes are seen on the next look.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.25)):  # not wait_for: it can swallow a cancel
                    await self._wake.wait()

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        if not offsets:
            return

        def write(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT INTO group_offsets(grp, topic, partition, next_offset) VALUES (?,?,?,?) "
                "ON CONFLICT(grp, topic, partition) DO UPDATE SET next_offset=excluded.next_offset",
                [(self.group, t, p, o) for (t, p), o in offsets.items()],
            )

        await asyncio.to_thread(self.t._db().tx, write)
