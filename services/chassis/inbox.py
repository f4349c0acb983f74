"""Event consumers: handlers in one registry, effects and the inbox row in one transaction.

For each batch the consumer records the event ids in the service's inbox (one `INSERT … ON CONFLICT DO
NOTHING RETURNING`), runs the handlers of the fresh ones, and commits their state changes, the events they
emitted and the inbox rows together; the offsets are committed after that. A repeat of an event already in
the inbox changes nothing. A batch is first tried in one transaction (fast); if it fails, each event is
retried alone, and one that keeps failing goes to the dead-letter topic with its error, so the partition
goes on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.chassis import metrics
from services.chassis.bus import Consumer, InMessage, OutMessage, TopicPartition, Transport, next_offsets
from services.chassis.db import insert_ignore, insert_ignore_many, pg_driver
from services.chassis.schema import inbox
from services.chassis.uow import UnitOfWork
from services.events import REGISTRY, Envelope

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """One event as a batch handler gets it: the payload model and its envelope."""

    payload: Any
    event: Envelope


BatchHandler = Callable[..., Awaitable[None]]


class HandlerRegistry:
    """`handlers = HandlerRegistry()`; then either

    - `@handlers.on("assessment.finalized")` on a plain function `async def f(payload, *, event, uow, ctx)`,
      called once per event, or
    - `@handlers.on_batch("assessment.finalized")` on `async def f(deliveries, *, uow, ctx)`, called with a
      run of consecutive events of that type (in the order read) so the handler can read and write its rows
      with one statement per table instead of one per event. A failing batch is retried one event at a
      time, so a batch handler must give the same result for a run as for its events one by one."""

    def __init__(self) -> None:
        self._by_type: dict[str, list[BatchHandler]] = {}

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            async def each(deliveries: Sequence[Delivery], *, uow: UnitOfWork, ctx: Any) -> None:
                for d in deliveries:
                    await fn(d.payload, event=d.event, uow=uow, ctx=ctx)

            self._add(event_type, each)
            return fn

        return register

    def on_batch(self, event_type: str) -> Callable[[BatchHandler], BatchHandler]:
        def register(fn: BatchHandler) -> BatchHandler:
            self._add(event_type, fn)
            return fn

        return register

    def _add(self, event_type: str, fn: BatchHandler) -> None:
        if event_type not in REGISTRY:
            raise ValueError(f"no such event type: {event_type}")
        self._by_type.setdefault(event_type, []).append(fn)

    def handlers_for(self, event_type: str) -> list[BatchHandler]:
        return self._by_type.get(event_type, [])

    @property
    def event_types(self) -> list[str]:
        return sorted(self._by_type)

    def topics(self, prefix: str) -> list[str]:
        return sorted({REGISTRY[t].topic(prefix) for t in self._by_type})


AHEAD_MAX_IDLE_SECONDS = 30.0

_CLAIM_PG = (
    "INSERT INTO inbox (consumer, event_id, event_type, status, handled_at) "
    "SELECT $1, e.id, e.type, 'handled', $2 FROM unnest($3::varchar[], $4::varchar[]) AS e(id, type) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_CLAIM_ONE_PG = (  # a lone event, the common case at low load: a VALUES row is cheaper for the server than unnest
    "INSERT INTO inbox (consumer, event_id, event_type, status, handled_at) VALUES ($1, $3, $4, 'handled', $2) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


class PoisonMessage(Exception):
    """A message that cannot be read as one of our events."""


def decode(message: InMessage) -> Envelope:
    try:
        return Envelope.from_kafka(message.key, message.value, message.headers)
    except Exception as exc:
        raise PoisonMessage(f"undecodable message: {exc}") from exc


class _OffsetCommitter:
    """Commits handled offsets in the background, at most once per `interval` (as Kafka's own auto-commit
    does, every 5 s by default), so the next batches are fetched and handled meanwhile: under load a
    commit per batch would cost the broker and the consumer a round trip each time. Offsets handled while
    one commit waits or is under way are merged (the highest per partition) into the next, so commits stay
    in order and only ever name handled messages. A crash before a commit lands means a redelivery, which
    the inbox drops. A failed commit is raised in the consumer's loop, as an inline commit would be."""

    def __init__(self, consumer: Consumer, interval: float) -> None:
        self.consumer = consumer
        self.interval = interval
        self.pending: dict[TopicPartition, int] = {}
        self.task: asyncio.Task[None] | None = None
        self._now = asyncio.Event()  # flush: commit without waiting out the interval

    def add(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.check()
        for tp, offset in offsets.items():
            self.pending[tp] = max(self.pending.get(tp, 0), offset)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self.pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._now.wait()
            batch, self.pending = self.pending, {}
            await self.consumer.commit(batch)

    def check(self) -> None:
        task = self.task
        if task is None or not task.done() or task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.task = None
            raise exc

    async def flush(self) -> None:
        self._now.set()
        if self.task is not None:
            await asyncio.shield(self.task)
        self.check()

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()  # cut off mid-flight, as an inline commit would be


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        transport: Transport,
        session_factory: async_sessionmaker[AsyncSession],
        handlers: HandlerRegistry,
        ctx: Any,
        topic_prefix: str = "goumai",
        group: str | None = None,
        max_attempts: int = 5,
        batch_size: int = 200,
        on_commit: Callable[[], None] | None = None,
        retry_backoff: float = 0.05,
        commit_interval: float = 0.2,
    ) -> None:
        self.service = service
        self.transport = transport
        self.sessions = session_factory
        self.handlers = handlers
        self.ctx = ctx
        self.prefix = topic_prefix
        self.group = group or f"{topic_prefix}.{service}"
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self._on_commit = on_commit
        self.retry_backoff = retry_backoff
        self.commit_interval = commit_interval
        self._stopping = asyncio.Event()
        self.seen = 0  # messages read, whatever became of them
        self.handled = 0
        self.dead_lettered = 0
        self.ready = asyncio.Event()
        self._ahead: UnitOfWork | None = None  # the next batch's transaction, begun while waiting (Postgres)
        self._ahead_since = 0.0
        bind = session_factory.kw.get("bind")
        self._begins_ahead = getattr(getattr(bind, "dialect", None), "name", None) == "postgresql"

    def stop(self) -> None:
        self._stopping.set()

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, service=self.service, topic_prefix=self.prefix, on_commit=self._on_commit)

    async def run(self) -> None:
        topics = self.handlers.topics(self.prefix)
        if not topics:
            self.ready.set()
            return
        await self.transport.ensure_topics([*topics, f"{self.prefix}.dlq"])
        consumer = self.transport.consumer(group=self.group, topics=topics)
        await consumer.start()
        self.ready.set()
        committer = _OffsetCommitter(consumer, self.commit_interval)
        try:
            while not self._stopping.is_set():
                await self._begin_ahead()
                messages = await consumer.fetch(timeout=0.5, max_records=self.batch_size)
                committer.check()
                if not messages:
                    continue
                await self.process(messages)
                committer.add(next_offsets(messages))
            await committer.flush()
        finally:
            committer.cancel()
            await self._end_ahead()
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _begin_ahead(self) -> None:
        """On Postgres the next batch's transaction is begun while the consumer waits for messages, so the
        BEGIN round trip is off a message's path. One left idle is renewed now and then, for servers that
        end sessions idle in a transaction. If it cannot begin, the batch opens its own as usual."""
        if not self._begins_ahead:
            return
        now = time.monotonic()
        if self._ahead is not None and now - self._ahead_since > AHEAD_MAX_IDLE_SECONDS:
            await self._end_ahead()
        if self._ahead is None:
            # Held before it begins, so a cancellation while beginning still closes it (in `run`'s finally).
            self._ahead, self._ahead_since = self._uow(), now
            try:
                await self._ahead.begin()
            except Exception as exc:
                log.warning("%s could not begin its next transaction ahead: %s", self.service, exc)
                await self._end_ahead()

    async def _end_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            with contextlib.suppress(Exception):
                await ahead.__aexit__(None, None, None)

    def _batch_uow(self) -> UnitOfWork:
        ahead, self._ahead = self._ahead, None
        return ahead or self._uow()

    async def process(self, messages: Sequence[InMessage]) -> None:
        """Handle a batch; returns when every message is handled, skipped or dead-lettered."""
        self.seen += len(messages)
        work: list[tuple[InMessage, Envelope]] = []
        for m in messages:
            try:
                env = decode(m)
            except PoisonMessage as exc:
                await self._dead_letter(m, None, exc)
                continue
            if self.handlers.handlers_for(env.type):
                work.append((m, env))
        if not work:
            return
        try:
            async with self._batch_uow() as uow:
                await self._handle(uow, [env for _, env in work])
                await uow.commit()
            self._count(work)
            return
        except Exception:
            log.info("batch of %d failed in %s; handling one by one", len(work), self.service)
        for m, env in work:
            await self._handle_alone(m, env)

    def _count(self, work: Sequence[tuple[InMessage, Envelope]]) -> None:
        self.handled += len(work)
        for _, env in work:
            metrics.EVENTS_HANDLED.labels(self.service, env.type).inc()

    async def _handle(self, uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
        """Claim the events in the inbox (one statement), then hand the fresh ones to their handlers in runs of
        one type, in the order read: the order per key holds, and a handler sees a run at once."""
        unique = list({env.id: env for env in envelopes}.values())  # each id once, where it first came
        claimed = await self._claim(uow, unique)
        fresh = [env for env in unique if env.id in claimed]
        repeats = collections.Counter(env.type for env in envelopes)
        repeats.subtract(env.type for env in fresh)
        for event_type, n in repeats.items():
            if n > 0:
                metrics.EVENTS_DUPLICATE.labels(self.service, event_type).inc(n)
        for event_type, run in itertools.groupby(fresh, key=lambda env: env.type):
            deliveries = [Delivery(env.payload(), env) for env in run]
            for handler in self.handlers.handlers_for(event_type):
                await handler(deliveries, uow=uow, ctx=self.ctx)

    async def _claim(self, uow: UnitOfWork, envelopes: Sequence[Envelope]) -> set[str]:
        """Insert the events' inbox rows; the ids that were not there yet."""
        now = datetime.now(UTC)
        pg = await pg_driver(uow.session)
        if pg is not None:  # one statement for the batch, straight to the driver (see db.insert_rows)
            if len(envelopes) == 1:
                rows = await pg.fetch(_CLAIM_ONE_PG, self.group, now, envelopes[0].id, envelopes[0].type)
            else:
                rows = await pg.fetch(_CLAIM_PG, self.group, now, [e.id for e in envelopes],
                                      [e.type for e in envelopes])
            return {r[0] for r in rows}
        claimed = await insert_ignore_many(uow.session, inbox, [
            {"consumer": self.group, "event_id": env.id, "event_type": env.type, "status": "handled",
             "handled_at": now} for env in envelopes])
        return {event_id for _, event_id in claimed}

    async def _handle_alone(self, m: InMessage, env: Envelope) -> None:
        last: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self._uow() as uow:
                    await self._handle(uow, [env])
                    await uow.commit()
                self._count([(m, env)])
                return
            except Exception as exc:
                last = exc
                log.warning("handler for %s %s failed (attempt %d/%d): %s",
                            env.type, env.id, attempt, self.max_attempts, exc)
                if attempt < self.max_attempts:
                    await asyncio.sleep(min(self.retry_backoff * 2 ** (attempt - 1), 2.0))
        assert last is not None
        await self._dead_letter(m, env, last)

    async def _dead_letter(self, m: InMessage, env: Envelope | None, exc: BaseException) -> None:
        err = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        headers = (
            *m.headers,
            ("dlq_error", err.encode()[:4000]),
            ("dlq_consumer", self.group.encode()),
            ("dlq_topic", m.topic.encode()),
            ("dlq_partition", str(m.partition).encode()),
            ("dlq_offset", str(m.offset).encode()),
        )
        await self.transport.publish(
            [OutMessage(topic=f"{self.prefix}.dlq", key=m.key or b"", value=m.value, headers=headers)]
        )
        if env is not None:
            # Remember it, so a redelivery does not fail all over again; replay from the DLQ instead.
            async with self._uow() as uow:
                await insert_ignore(
                    uow.session,
                    inbox,
                    {"consumer": self.group, "event_id": env.id, "event_type": env.type,
                     "status": "dead", "handled_at": datetime.now(UTC)},
                )
                await uow.commit()
        self.dead_lettered += 1
        metrics.EVENTS_DEAD_LETTERED.labels(self.service).inc()
        log.error("event sent to the dead-letter topic by %s: %s", self.group, err)
