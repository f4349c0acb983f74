"""The dead-letter topic (`<prefix>.dlq`): read it, and replay a dead letter once its cause is fixed.

A consumer that gives up on an event publishes the original message there with `dlq_*` headers and marks the
event `dead` in its inbox, so a plain redelivery does not fail over and over. Replaying removes that mark (in
the consumer's own database) and publishes the original message again to the topic it was read from, with the
same event id: every other consumer group skips it (its inbox has the id), and the one that gave up handles it
now, or dead-letters it again with the new error.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.chassis.bus import InMessage, OutMessage, Transport
from services.chassis.schema import inbox


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    event_type: str
    consumer: str  # the consumer group that gave up
    topic: str  # where it was read
    error: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]  # the original ones, without dlq_*

    @classmethod
    def of(cls, m: InMessage) -> DeadLetter:
        h = {k: v.decode(errors="replace") for k, v in m.headers}
        return cls(event_id=h.get("ce_id", ""), event_type=h.get("ce_type", ""), consumer=h.get("dlq_consumer", ""),
                   topic=h.get("dlq_topic", ""), error=h.get("dlq_error", ""), key=m.key or b"", value=m.value,
                   headers=tuple((k, v) for k, v in m.headers if not k.startswith("dlq_")))


async def read(transport: Transport, prefix: str, *, quiet: float = 1.0, deadline: float = 60.0) -> list[DeadLetter]:
    """Every dead letter on the topic, oldest first (read from the beginning in a group of its own, until
    nothing more comes for `quiet` seconds)."""
    topic = f"{prefix}.dlq"
    await transport.ensure_topics([topic])
    consumer = transport.consumer(group=f"{prefix}.dlq-reader-{time.time_ns()}", topics=[topic])
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        end, empty = time.monotonic() + deadline, 0
        while time.monotonic() < end:
            batch = await consumer.fetch(timeout=quiet, max_records=500)
            if batch:
                out.extend(DeadLetter.of(m) for m in batch)
                empty = 0
                continue
            empty += 1
            if out or empty >= 5:  # a new group may take a few rounds to get its partitions
                break
    finally:
        await consumer.stop()
    return out


def latest(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """One letter per (consumer, event id): the last, in first-seen order (an event replayed and dead again
    is on the topic twice)."""
    by: dict[tuple[str, str], DeadLetter] = {}
    for letter in letters:
        by[(letter.consumer, letter.event_id)] = letter
    return list(by.values())


async def states(sessions: async_sessionmaker[AsyncSession], consumer: str,
                 event_ids: Sequence[str]) -> dict[str, str]:
    """The consumer's inbox state of each event: `dead`, `handled` (a replay went through); missing: not yet."""
    if not event_ids:
        return {}
    async with sessions() as s:
        rows = await s.execute(select(inbox.c.event_id, inbox.c.status)
                               .where(inbox.c.consumer == consumer, inbox.c.event_id.in_(list(event_ids))))
        return {r.event_id: r.status for r in rows}


async def replay(transport: Transport, sessions: async_sessionmaker[AsyncSession],
                 letters: Sequence[DeadLetter]) -> list[DeadLetter]:
    """Replay the letters still dead in their consumer's inbox (all of one consumer, whose database `sessions`
    reaches); returns those replayed. The dead marks go first, in one transaction: a publish that fails after
    it leaves the event for the next replay (it is then missing from the inbox, not dead)."""
    consumers = {letter.consumer for letter in letters}
    if len(consumers) > 1:
        raise ValueError(f"replay one consumer's letters at a time, not {sorted(consumers)}")
    if not letters:
        return []
    consumer = letters[0].consumer
    dead = {e for e, state in (await states(sessions, consumer, [x.event_id for x in letters])).items()
            if state == "dead"}
    todo = [x for x in latest(letters) if x.event_id in dead]
    if not todo:
        return []
    async with sessions() as s:
        await s.execute(delete(inbox).where(inbox.c.consumer == consumer, inbox.c.status == "dead",
                                            inbox.c.event_id.in_([x.event_id for x in todo])))
        await s.commit()
    await transport.publish([OutMessage(topic=x.topic, key=x.key, value=x.value, headers=x.headers) for x in todo])
    return todo
