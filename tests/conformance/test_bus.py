"""Bus conformance: both transports (Kafka, embedded log) keep the promises the services rely on —
order per key, committed offsets per consumer group, at-least-once after a consumer dies mid-batch,
effects once under redelivery (inbox), dead-lettering of an event that keeps failing, and an outbox
relay that stands by while another is active and loses nothing when it crashes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from services.chassis import dlq
from services.chassis.bus import Consumer, InMessage, OutMessage, Transport, next_offsets
from services.chassis.db import insert_rows, make_engine, make_session_factory
from services.chassis.inbox import EventConsumer, HandlerRegistry
from services.chassis.relay import OutboxRelay
from services.chassis.schema import audit_log, inbox, outbox
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.catalogue import CatalogueItemWithdrawn
from tests.conformance.conftest import Bus
from tests.support.cluster import poll


def message(topic: str, key: str, n: int) -> OutMessage:
    return OutMessage(topic=topic, key=key.encode(), value=str(n).encode(), headers=(("n", str(n).encode()),))


async def drain(consumer: Consumer, want: int, *, timeout: float = 30.0) -> list[InMessage]:
    got: list[InMessage] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        got.extend(await consumer.fetch(timeout=0.5, max_records=500))
    return got


async def started(t: Transport) -> Transport:
    await t.start()
    return t


async def test_order_per_key(bus: Bus) -> None:
    t = await started(bus.new())
    topic = bus.topic()
    await t.ensure_topics([topic])
    keys = [f"k{i}" for i in range(7)]
    await t.publish([message(topic, keys[n % 7], n) for n in range(350)])
    c = t.consumer(group=f"g-{uuid.uuid4().hex}", topics=[topic])
    await c.start()
    got = await drain(c, 350)
    await c.stop()
    await t.stop()
    assert len(got) == 350
    per_key: dict[bytes, list[int]] = defaultdict(list)
    for m in got:
        per_key[m.key or b""].append(int(m.value))
    assert set(per_key) == {k.encode() for k in keys}
    for k, values in per_key.items():
        assert values == sorted(values), f"key {k!r} out of order"


async def test_group_resumes_from_committed_offset(bus: Bus) -> None:
    t = await started(bus.new())
    topic = bus.topic()
    await t.ensure_topics([topic])
    await t.publish([message(topic, "one-key", n) for n in range(20)])
    group = f"g-{uuid.uuid4().hex}"
    first = t.consumer(group=group, topics=[topic])
    await first.start()
    got = await drain(first, 20)
    done = [m for m in got if int(m.value) < 12]
    await first.commit(next_offsets(done))
    await first.stop()

    second = bus.new().consumer(group=group, topics=[topic])
    await second.start()
    rest = await drain(second, 8)
    await second.stop()
    await t.stop()
    assert [int(m.value) for m in rest] == list(range(12, 20))


async def test_at_least_once_when_a_consumer_dies_mid_batch(bus: Bus) -> None:
    t = await started(bus.new())
    topic = bus.topic()
    await t.ensure_topics([topic])
    await t.publish([message(topic, f"k{n % 3}", n) for n in range(30)])
    group = f"g-{uuid.uuid4().hex}"
    doomed_transport = await started(bus.new())
    doomed = doomed_transport.consumer(group=group, topics=[topic])
    await doomed.start()
    batch = await drain(doomed, 30)
    assert len(batch) == 30
    # It handled ten, committed nothing, and died (no commit; its membership lapses or is left).
    if bus.kind == "kafka":
        await doomed.stop()
    await doomed_transport.stop()

    survivor = bus.new().consumer(group=group, topics=[topic])
    await survivor.start()
    again = await drain(survivor, 30, timeout=40)
    await survivor.stop()
    await t.stop()
    # At least once: every uncommitted message comes again (a repeat is allowed, a loss is not).
    assert {int(m.value) for m in again} == set(range(30)), "uncommitted messages must come again"


async def test_two_members_share_a_group(bus: Bus) -> None:
    t = await started(bus.new())
    topic = bus.topic()
    await t.ensure_topics([topic])
    group = f"g-{uuid.uuid4().hex}"
    a = bus.new().consumer(group=group, topics=[topic])
    b = bus.new().consumer(group=group, topics=[topic])
    await a.start()
    await b.start()
    await t.publish([message(topic, f"k{n}", n) for n in range(60)])
    seen: list[InMessage] = []
    deadline = time.monotonic() + 40
    while len(seen) < 60 and time.monotonic() < deadline:
        for c in (a, b):
            got = await c.fetch(timeout=0.3, max_records=100)
            await c.commit(next_offsets(got))
            seen.extend(got)
    await a.stop()
    await b.stop()
    await t.stop()
    values = sorted(int(m.value) for m in seen)
    assert set(values) == set(range(60))


def withdrawn(n: int, key: str = "item") -> CatalogueItemWithdrawn:
    return CatalogueItemWithdrawn(catalogue_id=f"cat-{n}", department="D", fiscal_year=2025, version=n,
                                  item_code=key, reason=f"r{n}")


async def effects(sessions: Any, marker: str) -> int:
    async with sessions() as s:
        return int((await s.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == marker))).scalar_one())


async def test_effects_once_under_redelivery(bus: Bus) -> None:
    """Each event is delivered twice (and the first consumer dies before committing): the handler's
    effect — here an audit row written in the handler's transaction — happens once per event."""
    engine = make_engine(bus.db_url)
    sessions = make_session_factory(engine)
    marker = f"effect-{uuid.uuid4().hex}"
    registry = HandlerRegistry()

    @registry.on("catalogue.item.withdrawn")
    async def count_it(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
        uow.audit(marker, "conformance", event.id)

    t = await started(bus.new())
    topic = bus.topic()
    await t.ensure_topics([topic, f"{bus.prefix}.dlq"])
    envelopes = [Envelope.wrap(withdrawn(n, f"k{n % 4}"), source="/test") for n in range(40)]
    wire = [OutMessage(topic, *e.to_kafka()[:2], tuple(e.to_kafka()[2])) for e in envelopes]
    await t.publish(wire + wire)  # every event twice

    group = f"{bus.prefix}.svc"
    first = EventConsumer(service="catalogue", transport=bus.new(), session_factory=sessions, handlers=registry,
                          ctx=None, topic_prefix=bus.prefix, group=group)
    # Handle one fetched batch without committing its offsets: a crash after the database commit.
    c = first.transport.consumer(group=group, topics=[topic])
    await first.transport.start()
    await c.start()
    batch = await drain(c, 20)
    await first.process(batch[:20])
    if bus.kind == "kafka":
        await c.stop()
    await first.transport.stop()

    second = EventConsumer(service="catalogue", transport=bus.new(), session_factory=sessions, handlers=registry,
                           ctx=None, topic_prefix=bus.prefix, group=group)
    await second.transport.start()
    task = asyncio.create_task(second.run())
    try:
        await poll(lambda: _at_least(sessions, marker, 40), timeout=40, message="40 effects")
        # Every message, redeliveries included, has been read (80); the count must still be exactly 40.
        await poll(lambda: second.seen >= 80, timeout=30, message="all 80 deliveries read")
    finally:
        second.stop()
        await task
        await second.transport.stop()
        await t.stop()
    assert await effects(sessions, marker) == 40
    await engine.dispose()


async def _at_least(sessions: Any, marker: str, n: int) -> bool:
    return await effects(sessions, marker) >= n


async def test_a_failing_event_goes_to_the_dead_letter_topic_and_the_partition_goes_on(bus: Bus) -> None:
    engine = make_engine(bus.db_url)
    sessions = make_session_factory(engine)
    marker = f"dlq-{uuid.uuid4().hex}"
    registry = HandlerRegistry()

    @registry.on("catalogue.item.withdrawn")
    async def fussy(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
        if payload.reason == "poison":
            raise ValueError("this event cannot be handled")
        uow.audit(marker, "conformance", event.id)

    t = await started(bus.new())
    topic = bus.topic()
    dlq = f"{bus.prefix}.dlq"
    await t.ensure_topics([topic, dlq])
    bad = Envelope.wrap(CatalogueItemWithdrawn(catalogue_id="x", department="D", fiscal_year=2025, version=1,
                                               item_code="same-key", reason="poison"), source="/test")
    good = [Envelope.wrap(withdrawn(n, "same-key"), source="/test") for n in range(3)]
    for e in [good[0], bad, good[1], good[2]]:
        k, v, h = e.to_kafka()
        await t.publish([OutMessage(topic, k, v, tuple(h))])
    consumer = EventConsumer(service="catalogue", transport=bus.new(), session_factory=sessions, handlers=registry,
                             ctx=None, topic_prefix=bus.prefix, group=f"{bus.prefix}.dlqtest", max_attempts=3,
                             retry_backoff=0.01)
    await consumer.transport.start()
    task = asyncio.create_task(consumer.run())
    watcher = t.consumer(group=f"w-{uuid.uuid4().hex}", topics=[dlq])
    await watcher.start()
    try:
        dead = await drain(watcher, 1, timeout=40)
        await poll(lambda: _at_least(sessions, marker, 3), timeout=30, message="the good events after the bad one")
    finally:
        consumer.stop()
        await task
        await watcher.stop()
        await consumer.transport.stop()
        await t.stop()
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["ce_id"].decode() == bad.id
    assert b"cannot be handled" in headers["dlq_error"]
    assert consumer.dead_lettered == 1
    await engine.dispose()


async def test_relay_stands_by_while_another_is_active_and_loses_nothing(bus: Bus) -> None:
    engine = make_engine(bus.db_url)
    sessions = make_session_factory(engine)
    t1, t2 = await started(bus.new()), await started(bus.new())
    a = OutboxRelay(service="catalogue", engine=engine, session_factory=sessions, transport=t1, poll_seconds=0.2)
    b = OutboxRelay(service="catalogue", engine=engine, session_factory=sessions, transport=t2, poll_seconds=0.2)
    ta = asyncio.create_task(a.run())
    await poll(lambda: a.active, timeout=10, message="first relay active")
    tb = asyncio.create_task(b.run())
    reader_t = await started(bus.new())
    topic = bus.topic()
    await reader_t.ensure_topics([topic])
    reader = reader_t.consumer(group=f"r-{uuid.uuid4().hex}", topics=[topic])
    await reader.start()
    ids: list[str] = []
    try:
        for n in range(10):
            async with UnitOfWork(sessions, service="catalogue", topic_prefix=bus.prefix, on_commit=a.wake) as uow:
                ids.append(uow.emit(withdrawn(n, f"r{n}")).id)
                await uow.commit()
        assert not b.active, "the second relay must stand by"
        # The active relay dies: the stand-by takes over and publishes what came after.
        ta.cancel()
        await asyncio.gather(ta, return_exceptions=True)
        await poll(lambda: b.active, timeout=15, message="stand-by relay took over")
        for n in range(10, 20):
            async with UnitOfWork(sessions, service="catalogue", topic_prefix=bus.prefix, on_commit=b.wake) as uow:
                ids.append(uow.emit(withdrawn(n, f"r{n}")).id)
                await uow.commit()
        got: list[InMessage] = []
        deadline = time.monotonic() + 30
        # Repeats are allowed (the dead relay may have published a batch it never marked sent).
        while not set(ids) <= {dict(m.headers)["ce_id"].decode() for m in got} and time.monotonic() < deadline:
            got.extend(await reader.fetch(timeout=0.5, max_records=500))
    finally:
        b.stop()
        await asyncio.gather(tb, return_exceptions=True)
        await reader.stop()
        for t in (t1, t2, reader_t):
            await t.stop()
    seen = {dict(m.headers)["ce_id"].decode() for m in got}
    assert set(ids) <= seen, "every committed outbox row is published"
    async with sessions() as s:
        unsent = (await s.execute(select(func.count()).select_from(outbox).where(
            outbox.c.event_id.in_(ids), outbox.c.sent_at.is_(None)))).scalar_one()
    assert unsent == 0
    await engine.dispose()


async def test_outbox_audit_and_inbox_rows_are_in_the_callers_transaction(bus: Bus) -> None:
    """The chassis writes its own rows straight to the driver on Postgres; they must still be inside the
    session's transaction even as its first statement, so a rollback leaves none of them."""
    engine = make_engine(bus.db_url)
    sessions = make_session_factory(engine)
    marker = f"tx-{uuid.uuid4().hex}"
    registry = HandlerRegistry()

    @registry.on("catalogue.item.withdrawn")
    async def fails(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
        raise ValueError("after the inbox claim")

    env = Envelope.wrap(withdrawn(1), source="/test")
    async with UnitOfWork(sessions, service="catalogue", topic_prefix=bus.prefix) as uow:
        await insert_rows(uow.session, audit_log, [{
            "at": env.time, "actor": "t", "role": "system", "org": None, "action": marker, "entity": "e",
            "entity_id": "1", "request_id": None, "detail": {"n": 1}}])
        await insert_rows(uow.session, outbox, [{
            "event_id": env.id, "topic": "t", "key": "k", "type": env.type, "headers": [], "payload": "{}",
            "created_at": env.time}])
        await uow.rollback()
    consumer = EventConsumer(service="catalogue", transport=bus.new(), session_factory=sessions, handlers=registry,
                             ctx=None, topic_prefix=bus.prefix, group=f"{bus.prefix}.tx")
    async with UnitOfWork(sessions, service="catalogue", topic_prefix=bus.prefix) as uow:
        try:
            await consumer._handle(uow, [env])
        except ValueError:
            await uow.rollback()
    async with sessions() as s:
        assert await effects(sessions, marker) == 0
        assert (await s.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.event_id == env.id))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(inbox)
                                .where(inbox.c.event_id == env.id))).scalar_one() == 0
    await engine.dispose()


async def test_a_dead_letter_replayed_after_the_fix_is_handled_once(bus: Bus) -> None:
    """The dead-letter topic: a letter names its consumer, topic and error; replaying it (goumai dlq replay)
    once the cause is fixed gets it handled exactly once, and a second replay changes nothing."""
    engine = make_engine(bus.db_url)
    sessions = make_session_factory(engine)
    marker = f"replay-{uuid.uuid4().hex}"
    broken = {"yes": True}
    registry = HandlerRegistry()

    @registry.on("catalogue.item.withdrawn")
    async def fussy(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
        if payload.reason == "needs-the-fix" and broken["yes"]:
            raise ValueError("not fixed yet")
        uow.audit(marker, "conformance", event.id)

    t = await started(bus.new())
    topic = bus.topic()
    await t.ensure_topics([topic, f"{bus.prefix}.dlq"])
    bad = Envelope.wrap(CatalogueItemWithdrawn(catalogue_id="x", department="D", fiscal_year=2025, version=1,
                                               item_code="k", reason="needs-the-fix"), source="/test")
    good = Envelope.wrap(withdrawn(1, "k"), source="/test")
    for e in (bad, good):
        k, v, h = e.to_kafka()
        await t.publish([OutMessage(topic, k, v, tuple(h))])
    group = f"{bus.prefix}.replaytest"
    consumer = EventConsumer(service="catalogue", transport=bus.new(), session_factory=sessions, handlers=registry,
                             ctx=None, topic_prefix=bus.prefix, group=group, max_attempts=2, retry_backoff=0.01)
    await consumer.transport.start()
    task = asyncio.create_task(consumer.run())
    try:
        await poll(lambda: consumer.dead_lettered == 1 and consumer.handled >= 1, timeout=40, message="one dead")
        [letter] = [x for x in await dlq.read(t, bus.prefix) if x.consumer == group]
        assert (letter.event_id, letter.topic) == (bad.id, topic) and "not fixed yet" in letter.error
        assert await dlq.states(sessions, group, [bad.id]) == {bad.id: "dead"}
        broken["yes"] = False  # the fix
        assert [x.event_id for x in await dlq.replay(t, sessions, [letter])] == [bad.id]
        await poll(lambda: _at_least(sessions, marker, 2), timeout=30, message="the replayed event handled")
        assert await dlq.states(sessions, group, [bad.id]) == {bad.id: "handled"}
        assert await dlq.replay(t, sessions, [letter]) == []  # handled: nothing to replay
        await poll(lambda: consumer.seen >= 3, timeout=30, message="the replay read")
    finally:
        consumer.stop()
        await task
        await consumer.transport.stop()
        await t.stop()
    assert await effects(sessions, marker) == 2
    assert consumer.dead_lettered == 1
    await engine.dispose()
