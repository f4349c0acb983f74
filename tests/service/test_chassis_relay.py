"""The relay on Postgres and Kafka: rows a commit in its own process hands over are published without reading
the table, but never ahead of an earlier unsent row for the same key, and never twice (outbox.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from services.chassis.bus import InMessage
from services.chassis.bus.kafka import KafkaTransport
from services.chassis.db import make_engine, make_session_factory, pg_driver
from services.chassis.migrations import upgrade_async
from services.chassis.outbox import Handover
from services.chassis.relay import OutboxRelay
from services.chassis.schema import outbox
from services.chassis.uow import UnitOfWork
from services.events.catalogue import CatalogueItemWithdrawn
from tests.support.cluster import poll
from tests.support.servers import need_kafka, need_postgres


class Relayed:
    """A catalogue database of its own (no other test's unsent rows), its relay leading, and a reader."""

    def __init__(self, db_url: str, bootstrap: str) -> None:
        self.prefix = f"h{uuid.uuid4().hex[:8]}"
        self.engine = make_engine(db_url)
        self.sessions = make_session_factory(self.engine)
        self.transport = KafkaTransport(bootstrap, client_id="handover-test")
        self.reader_transport = KafkaTransport(bootstrap, client_id="handover-reader")
        # No safety-net poll during a test: a row is published from a handover or after a wake, or not at all.
        self.relay = OutboxRelay(service="catalogue", engine=self.engine, session_factory=self.sessions,
                                 transport=self.transport, poll_seconds=600)
        self.got: list[InMessage] = []

    async def start(self) -> None:
        await self.transport.start()
        await self.transport.ensure_topics([f"{self.prefix}.catalogue"])
        self.task = asyncio.create_task(self.relay.run())
        await poll(lambda: self.relay.wake.leading, timeout=10, message="relay leading")
        self.reader = self.reader_transport.consumer(group=f"{self.prefix}.reader",
                                                     topics=[f"{self.prefix}.catalogue"])
        await self.reader.start()

    async def stop(self) -> None:
        self.relay.stop()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.reader.stop()
        await self.transport.stop()
        await self.engine.dispose()

    async def commit(self, reason: str, key: str, on_commit: Any) -> str:
        async with UnitOfWork(self.sessions, service="catalogue", topic_prefix=self.prefix,
                              on_commit=on_commit) as uow:
            event = uow.emit(CatalogueItemWithdrawn(catalogue_id="c", department="D01", fiscal_year=2025,
                                                    version=1, item_code=key, reason=reason))
            await uow.commit()
        return event.id

    async def read_until(self, event_id: str, timeout: float = 30) -> list[str]:
        """Event ids read, in order, up to and including `event_id`."""
        deadline = time.monotonic() + timeout
        while event_id not in self.ids() and time.monotonic() < deadline:
            self.got.extend(await self.reader.fetch(timeout=0.5, max_records=100))
        assert event_id in self.ids(), f"{event_id} not published within {timeout}s"
        return self.ids()

    def ids(self) -> list[str]:
        return [dict(m.headers)["ce_id"].decode() for m in self.got]


class Spy:
    """Passes a commit's handover on to the relay, and keeps it to look at."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.wake = relay.wake
        self.handovers: list[Handover] = []

    @property
    def leading(self) -> bool:
        return self.wake.leading

    def __call__(self) -> None:
        self.wake()

    def handover(self, h: Handover) -> None:
        self.handovers.append(h)
        self.wake.handover(h)


class Swallowed:
    """A commit's announcement that never reaches the relay, as from another process whose NOTIFY was lost:
    the rows are committed, unsent, and this relay does not know of them."""

    leading = True

    def __init__(self) -> None:
        self.handovers: list[Handover] = []

    def __call__(self) -> None:
        return None

    def handover(self, h: Handover) -> None:
        self.handovers.append(h)


@pytest.fixture
async def relayed() -> AsyncIterator[Relayed]:
    base = make_url(need_postgres())
    name = f"gt_handover_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(host=base.host, port=base.port, user=base.username, password=base.password,
                                  database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    await upgrade_async("catalogue", url)
    r = Relayed(url, need_kafka())
    try:
        await r.start()
        yield r
    finally:
        await r.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def unsent(r: Relayed) -> int:
    async with r.sessions() as s:
        return (await s.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))))\
            .scalar_one()


async def test_a_commit_in_the_relays_process_is_published_from_its_handover_and_marked_sent(
        relayed: Relayed) -> None:
    spy = Spy(relayed.relay)
    first = await relayed.commit("one", "K-1", spy)
    second = await relayed.commit("two", "K-1", spy)
    assert len(spy.handovers) == 2
    assert await relayed.read_until(second) == [first, second]
    assert relayed.relay.published_handed == 2, "published from the handovers, without reading them back"
    await poll(lambda: no_unsent(relayed), timeout=10, message="marked sent")


async def no_unsent(r: Relayed) -> bool:
    return await unsent(r) == 0


async def test_a_handed_row_waits_for_an_earlier_unsent_row_it_saw(relayed: Relayed) -> None:
    """Another writer committed an event for the same key first, and the relay has not heard of it. The later
    commit's rows must not overtake it: the relay reads the table in id order instead."""
    other, spy = Swallowed(), Spy(relayed.relay)
    earlier = await relayed.commit("earlier", "K-2", other)
    later = await relayed.commit("later", "K-2", spy)
    assert spy.handovers[0].unsent_seen == other.handovers[0].ids, "the later INSERT saw the earlier row"
    assert await relayed.read_until(later) == [earlier, later], "order per key kept"
    assert relayed.relay.published_handed == 0
    await poll(lambda: no_unsent(relayed), timeout=10, message="both marked sent")


async def test_a_row_a_read_published_first_is_not_published_again_from_its_handover(relayed: Relayed) -> None:
    late = Swallowed()
    first = await relayed.commit("first", "K-3", late)
    relayed.relay.wake()  # a NOTIFY or the poll: the relay reads the row and publishes it
    await relayed.read_until(first)
    relayed.relay.wake.handover(late.handovers[0])  # its handover arrives only now
    marker = await relayed.commit("marker", "K-3", relayed.relay.wake)  # same key: read after anything before
    assert await relayed.read_until(marker) == [first, marker]


async def test_a_commit_that_is_only_a_savepoint_is_not_handed_over(relayed: Relayed) -> None:
    """A session joined to an outer transaction (as tests use) commits a savepoint: its rows may still be rolled
    back, so they must not be published from memory."""
    from sqlalchemy.ext.asyncio import AsyncSession

    async with relayed.engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        uow = UnitOfWork(lambda: session, service="catalogue", topic_prefix=relayed.prefix,  # type: ignore[arg-type]
                         on_commit=relayed.relay.wake)
        async with uow:
            phantom = uow.emit(CatalogueItemWithdrawn(catalogue_id="c", department="D01", fiscal_year=2025,
                                                      version=1, item_code="K-4", reason="rolled back")).id
            await uow.commit()
        await session.close()
        await outer.rollback()
    marker = await relayed.commit("marker", "K-4", relayed.relay.wake)
    assert phantom not in await relayed.read_until(marker)


async def test_the_driver_connection_is_looked_up_again_for_the_next_transaction(relayed: Relayed) -> None:
    """pg_driver caches the connection per session transaction; after a commit the session's next transaction
    may be on another connection, and a statement sent there must be inside that transaction."""
    async with relayed.sessions() as session:
        await pg_driver(session)
        await session.commit()
        pg = await pg_driver(session)
        await pg.execute("INSERT INTO outbox (event_id, topic, key, type, headers, payload, created_at) "
                         "VALUES ('not-kept', 't', 'k', 'x', '[]', '{}', now())")
        await session.rollback()
    async with relayed.sessions() as session:
        kept = (await session.execute(text("SELECT count(*) FROM outbox WHERE event_id = 'not-kept'"))).scalar_one()
    assert kept == 0, "the statement ran inside the session's second transaction and was rolled back with it"


async def test_beyond_the_handover_limit_the_relay_reads_the_table(relayed: Relayed) -> None:
    """Handovers are held only up to a limit (a broker away would otherwise pile them up in memory); a commit
    beyond it is published by a read, in id order, all the same."""
    relayed.relay.handed_limit = 0
    spy = Spy(relayed.relay)
    event = await relayed.commit("over the limit", "K-5", spy)
    assert len(spy.handovers) == 1
    assert await relayed.read_until(event) == [event]
    assert relayed.relay.published_handed == 0
