"""Outbox commit → consumer handled latency, beside a bare aiokafka produce → consume round trip, same broker.

In one run on the Kafka broker at GOUMAI_TEST_KAFKA (default 127.0.0.1:29092) and the Postgres server at
GOUMAI_TEST_PG (default postgresql+asyncpg://postgres@127.0.0.1:25432):

- **chassis**: a `UnitOfWork` commit emitting one event in service A's database (its own database, migrated
  with `services.chassis.migrations.upgrade`) → the `OutboxRelay` of A → Kafka → the `EventConsumer` of service
  B (its own database; inbox row and effects in one transaction); measured from just before `commit()` of a
  transaction already open, as a service's is when it commits (its reads and writes done), to B's transaction,
  with the handler's effects and the inbox row, committed.
- **bare**: `AIOKafkaProducer.send_and_wait` (acks=all, idempotent, as the chassis producer) → an
  `AIOKafkaConsumer` in a consumer group reading it; measured from just before the send to the message in
  the consumer's hands.

Each is measured sequentially (one message in flight; the next starts when the last was handled) and paced
(a message every 1/rate seconds whatever is in flight), the two kinds interleaved in rounds so noise from
other work on the machine hits both alike. Prints p50/p99 per kind and mode and the ratios chassis / bare.
The databases (`gbench_relay_a`, `gbench_relay_b`) are created and dropped by the script; topics get a fresh
prefix per run.

    .venv/bin/python bench/relay.py [--samples 500] [--paced 500] [--rate 100] [--rounds 5] [--keep]

Target: p50 ratio (chassis / bare, sequential) ≤ 3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import BASE_URL, KAFKA, admin, db_url, fresh_database, paced, pct, stop_task

from services.chassis.bus import InMessage
from services.chassis.bus.kafka import KafkaTransport
from services.chassis.db import make_engine, make_session_factory
from services.chassis.inbox import EventConsumer, HandlerRegistry
from services.chassis.relay import OutboxRelay
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.catalogue import CatalogueItemWithdrawn

DB_A, DB_B = "gbench_relay_a", "gbench_relay_b"
KEYS = [f"item-{i:02d}" for i in range(16)]


# ------------------------------------------------------------------ databases


async def create_db(name: str, service: str) -> None:
    await fresh_database(name, service)


# ------------------------------------------------------------------ waiting for messages
class Waiters:
    """Futures by message id, resolved with the time the message was handled."""

    def __init__(self) -> None:
        self.pending: dict[str, asyncio.Future[float]] = {}

    def expect(self, mid: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.pending[mid] = fut
        return fut

    def arrived(self, mid: str, at: float) -> None:
        fut = self.pending.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(at)


Sample = Callable[[int], Awaitable[float]]  # sends message i, returns the latency in ms once it was handled


async def sequential(sample: Sample, n: int, start: int) -> list[float]:
    return [await sample(start + i) for i in range(n)]


# ------------------------------------------------------------------ the chassis path
class CommittedConsumer(EventConsumer):
    """Reports a message handled once the transaction with its inbox row and its handler's effects committed."""

    def __init__(self, path: ChassisPath, **kw: Any) -> None:
        super().__init__(**kw)
        self.path = path

    async def process(self, messages: Sequence[InMessage]) -> None:
        await super().process(messages)
        now = time.perf_counter()
        done, self.path.in_batch = self.path.in_batch, []
        for mid in done:
            self.path.waiters.arrived(mid, now)


class ChassisPath:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.waiters = Waiters()
        self.engine_a = make_engine(db_url(DB_A), pool_size=10)
        self.engine_b = make_engine(db_url(DB_B), pool_size=10)
        self.sessions_a = make_session_factory(self.engine_a)
        self.sessions_b = make_session_factory(self.engine_b)
        self.transport_a = KafkaTransport(KAFKA, client_id="bench-relay-a")
        self.transport_b = KafkaTransport(KAFKA, client_id="bench-relay-b")
        self.relay = OutboxRelay(service="catalogue", engine=self.engine_a, session_factory=self.sessions_a,
                                 transport=self.transport_a, poll_seconds=2.0)
        registry = HandlerRegistry()

        @registry.on("catalogue.item.withdrawn")
        async def handled(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
            self.in_batch.append(payload.reason)

        self.in_batch: list[str] = []
        self.consumer = CommittedConsumer(self, service="bench-b", transport=self.transport_b,
                                          session_factory=self.sessions_b, handlers=registry, ctx=None,
                                          topic_prefix=prefix, group=f"{prefix}.bench-b")
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.transport_a.start()
        await self.transport_b.start()
        await self.transport_a.ensure_topics([f"{self.prefix}.catalogue", f"{self.prefix}.dlq"])
        self.tasks = [asyncio.create_task(self.relay.run()), asyncio.create_task(self.consumer.run())]
        await asyncio.wait_for(self.consumer.ready.wait(), 30)
        deadline = time.monotonic() + 30
        while not self.relay.active:  # the relay takes its advisory lock
            if time.monotonic() > deadline:
                raise RuntimeError("the relay did not become active")
            await asyncio.sleep(0.01)
        # the consumer joins its group and gets its partitions: wait until a first event goes through
        await asyncio.wait_for(self.sample(-1), 60)

    async def stop(self) -> None:
        self.relay.stop()
        self.consumer.stop()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(t, 10)
        await self.transport_a.stop()
        await self.transport_b.stop()
        await self.engine_a.dispose()
        await self.engine_b.dispose()

    async def sample(self, i: int) -> float:
        mid = uuid.uuid4().hex
        fut = self.waiters.expect(mid)
        async with UnitOfWork(self.sessions_a, service="catalogue", topic_prefix=self.prefix,
                              on_commit=self.relay.wake) as uow:
            await uow.begin()  # the service's transaction is open, its work done, when it commits
            uow.emit(CatalogueItemWithdrawn(catalogue_id="bench", department="D01", fiscal_year=2025, version=1,
                                            item_code=KEYS[i % len(KEYS)], reason=mid))
            t0 = time.perf_counter()
            await uow.commit()
        return (await asyncio.wait_for(fut, 30) - t0) * 1000


# ------------------------------------------------------------------ the bare aiokafka path
class BarePath:
    def __init__(self, prefix: str) -> None:
        self.topic = f"{prefix}.bare"
        self.group = f"{prefix}.bare-consumer"
        self.waiters = Waiters()
        self.producer = AIOKafkaProducer(bootstrap_servers=KAFKA, client_id="bench-bare", acks="all",
                                         enable_idempotence=True)
        self.consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=KAFKA, group_id=self.group,
                                         client_id="bench-bare", auto_offset_reset="earliest")
        self.task: asyncio.Task[None] | None = None

    async def start(self, transport: KafkaTransport) -> None:
        await transport.ensure_topics([self.topic])
        await self.producer.start()
        await self.consumer.start()
        self.task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.sample(-1), 60)

    async def _read(self) -> None:
        async for msg in self.consumer:
            self.waiters.arrived(msg.value.decode(), time.perf_counter())

    async def stop(self) -> None:
        await stop_task(self.task)
        await self.consumer.stop()
        await self.producer.stop()

    async def sample(self, i: int) -> float:
        mid = uuid.uuid4().hex
        fut = self.waiters.expect(mid)
        t0 = time.perf_counter()
        await self.producer.send_and_wait(self.topic, mid.encode(), key=KEYS[i % len(KEYS)].encode())
        return (await asyncio.wait_for(fut, 30) - t0) * 1000


# ------------------------------------------------------------------ main
async def measure(args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    prefix = f"brelay{uuid.uuid4().hex[:8]}"
    chassis = ChassisPath(prefix)
    bare = BarePath(prefix)
    results: dict[tuple[str, str], list[float]] = {
        (k, m): [] for k in ("chassis", "bare") for m in ("sequential", "paced")}
    await chassis.start()
    await bare.start(chassis.transport_a)
    try:
        kinds: dict[str, Sample] = {"chassis": chassis.sample, "bare": bare.sample}
        for _ in range(args.warmup):
            for sample in kinds.values():
                await sample(0)
        n = 0
        for r in range(args.rounds):
            order = list(kinds.items()) if r % 2 == 0 else list(reversed(kinds.items()))
            for kind, sample in order:
                results[(kind, "sequential")] += await sequential(sample, args.samples // args.rounds, n)
                n += args.samples
            for kind, sample in order:
                results[(kind, "paced")] += await paced(sample, args.paced // args.rounds, args.rate, start=n)
                n += args.paced
            print(f"  round {r + 1}/{args.rounds}: chassis seq p50 "
                  f"{statistics.median(results[('chassis', 'sequential')]):.2f} ms, bare seq p50 "
                  f"{statistics.median(results[('bare', 'sequential')]):.2f} ms", flush=True)
    finally:
        await bare.stop()
        await chassis.stop()
    return results


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=500, help="sequential samples per kind")
    ap.add_argument("--paced", type=int, default=500, help="paced samples per kind")
    ap.add_argument("--rate", type=float, default=100.0, help="messages per second in the paced run")
    ap.add_argument("--rounds", type=int, default=5, help="rounds that interleave the two kinds")
    ap.add_argument("--warmup", type=int, default=50, help="unrecorded samples per kind first")
    ap.add_argument("--keep", action="store_true", help="keep the databases after the run")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"relay bench: Kafka {KAFKA}, Postgres {make_url(BASE_URL).render_as_string(hide_password=True)}")
    try:
        await create_db(DB_A, "catalogue")
        await create_db(DB_B, "catalogue")
        results = await measure(args)
    finally:
        if not args.keep:
            for name in (DB_A, DB_B):
                await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    print(f"{'path':<46}{'mode':<12}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    labels = {"chassis": "outbox commit → relay → Kafka → inbox handler",
              "bare": "aiokafka send_and_wait → group consumer"}
    for mode in ("sequential", "paced"):
        for kind in ("chassis", "bare"):
            s = results[(kind, mode)]
            m = f"{mode}" if mode == "sequential" else f"{args.rate:g}/s"
            print(f"{labels[kind]:<46}{m:<12}{len(s):>6}{pct(s, .5):>9.2f}{pct(s, .99):>9.2f}"
                  f"{statistics.fmean(s):>9.2f}")
    ratios = {}
    for mode in ("sequential", "paced"):
        c, b = results[("chassis", mode)], results[("bare", mode)]
        ratios[mode] = (pct(c, .5) / pct(b, .5), pct(c, .99) / pct(b, .99))
        print(f"ratio chassis/bare ({mode}): p50 {ratios[mode][0]:.2f}, p99 {ratios[mode][1]:.2f}")
    ok = ratios["sequential"][0] <= 3.0
    print(f"target p50 ratio <= 3 (sequential): {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
