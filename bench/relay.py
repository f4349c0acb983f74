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

The consuming side of each runs in a process of its own, as service B does beside service A when deployed
(`--in-process`: both sides in this process, one event loop). A consumer process reports each message with the
time it was handled on CLOCK_MONOTONIC (`time.monotonic`), the one clock every process on the machine reads,
and the sending side subtracts its own reading of that clock.

Each is measured sequentially (one message in flight; the next starts when the last was handled) and paced
(a message every 1/rate seconds whatever is in flight), the two kinds interleaved in rounds so noise from
other work on the machine hits both alike. Prints p50/p99 per kind and mode and the ratios chassis / bare.
The databases (`gbench_relay_a`, `gbench_relay_b`) are created and dropped by the script; topics get a fresh
prefix per run.

    .venv/bin/python bench/relay.py [--samples 3000] [--paced 1000] [--rate 100] [--rounds 15] [--in-process]
                                    [--keep]

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
Report = Callable[[str, float], None]  # (message id, monotonic time it was handled)


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


# ------------------------------------------------------------------ the consuming sides (service B; bare)
class CommittedConsumer(EventConsumer):
    """Reports a message handled once the transaction with its inbox row and its handler's effects committed."""

    def __init__(self, report: Report, **kw: Any) -> None:
        super().__init__(**kw)
        self.report = report
        self.in_batch: list[str] = []

    async def process(self, messages: Sequence[InMessage]) -> None:
        await super().process(messages)
        now = time.monotonic()
        done, self.in_batch = self.in_batch, []
        for mid in done:
            self.report(mid, now)


class ChassisConsumer:
    """Service B: its own database, its EventConsumer with one handler."""

    def __init__(self, prefix: str, report: Report) -> None:
        self.engine = make_engine(db_url(DB_B), pool_size=10)
        self.transport = KafkaTransport(KAFKA, client_id="bench-relay-b")
        registry = HandlerRegistry()
        self.consumer = CommittedConsumer(report, service="bench-b", transport=self.transport,
                                          session_factory=make_session_factory(self.engine), handlers=registry,
                                          ctx=None, topic_prefix=prefix, group=f"{prefix}.bench-b")

        @registry.on("catalogue.item.withdrawn")
        async def handled(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
            self.consumer.in_batch.append(payload.reason)

        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.transport.start()
        self.task = asyncio.create_task(self.consumer.run())
        await asyncio.wait_for(self.consumer.ready.wait(), 30)

    async def stop(self) -> None:
        self.consumer.stop()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.task, 10)
        await self.transport.stop()
        await self.engine.dispose()


class BareConsumer:
    def __init__(self, prefix: str, report: Report) -> None:
        self.report = report
        self.consumer = AIOKafkaConsumer(f"{prefix}.bare", bootstrap_servers=KAFKA, group_id=f"{prefix}.bare-consumer",
                                         client_id="bench-bare", auto_offset_reset="earliest")
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.consumer:
            self.report(msg.value.decode(), time.monotonic())

    async def stop(self) -> None:
        await stop_task(self.task)
        await self.consumer.stop()


CONSUMERS: dict[str, Callable[[str, Report], ChassisConsumer | BareConsumer]] = {
    "chassis": ChassisConsumer, "bare": BareConsumer}


async def serve_consumer(kind: str, prefix: str) -> None:
    """`--consumer KIND --prefix P`: run one consuming side in this process; print `ready`, then a line
    `<message id> <monotonic time>` per message handled; stop when stdin closes."""

    def report(mid: str, at: float) -> None:
        sys.stdout.write(f"{mid} {at!r}\n")
        sys.stdout.flush()

    side = CONSUMERS[kind](prefix, report)
    await side.start()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    await side.stop()


class ConsumerProcess:
    """A consuming side in a child process (this script with `--consumer`), its reports read from its stdout."""

    def __init__(self, kind: str, prefix: str, waiters: Waiters) -> None:
        self.kind, self.prefix, self.waiters = kind, prefix, waiters
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--consumer", self.kind, "--prefix", self.prefix,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"{self.kind} consumer process did not start: {line!r}")
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            mid, at = line.split()
            self.waiters.arrived(mid.decode(), float(at))

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
        await stop_task(self.task)


async def consuming_side(kind: str, prefix: str, waiters: Waiters, in_process: bool) -> Any:
    side: Any = CONSUMERS[kind](prefix, waiters.arrived) if in_process else ConsumerProcess(kind, prefix, waiters)
    await side.start()
    return side


# ------------------------------------------------------------------ the sending sides (service A; bare)
class ChassisPath:
    """Service A: its own database, a UnitOfWork that commits one event, its OutboxRelay."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.waiters = Waiters()
        self.engine = make_engine(db_url(DB_A), pool_size=10)
        self.sessions = make_session_factory(self.engine)
        self.transport = KafkaTransport(KAFKA, client_id="bench-relay-a")
        self.relay = OutboxRelay(service="catalogue", engine=self.engine, session_factory=self.sessions,
                                 transport=self.transport, poll_seconds=2.0)
        self.task: asyncio.Task[None] | None = None
        self.consumer: Any = None

    async def start(self, in_process: bool) -> None:
        await self.transport.start()
        await self.transport.ensure_topics([f"{self.prefix}.catalogue", f"{self.prefix}.dlq"])
        self.task = asyncio.create_task(self.relay.run())
        self.consumer = await consuming_side("chassis", self.prefix, self.waiters, in_process)
        deadline = time.monotonic() + 30
        while not self.relay.active:  # the relay takes its advisory lock
            if time.monotonic() > deadline:
                raise RuntimeError("the relay did not become active")
            await asyncio.sleep(0.01)
        # the consumer joins its group and gets its partitions: wait until a first event goes through
        await asyncio.wait_for(self.sample(-1), 60)

    async def stop(self) -> None:
        self.relay.stop()
        if self.consumer is not None:
            await self.consumer.stop()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.task, 10)
        await self.transport.stop()
        await self.engine.dispose()

    async def sample(self, i: int) -> float:
        mid = uuid.uuid4().hex
        fut = self.waiters.expect(mid)
        async with UnitOfWork(self.sessions, service="catalogue", topic_prefix=self.prefix,
                              on_commit=self.relay.wake) as uow:
            await uow.begin()  # the service's transaction is open, its work done, when it commits
            uow.emit(CatalogueItemWithdrawn(catalogue_id="bench", department="D01", fiscal_year=2025, version=1,
                                            item_code=KEYS[i % len(KEYS)], reason=mid))
            t0 = time.monotonic()
            await uow.commit()
        return (await asyncio.wait_for(fut, 30) - t0) * 1000


class BarePath:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.topic = f"{prefix}.bare"
        self.waiters = Waiters()
        self.producer = AIOKafkaProducer(bootstrap_servers=KAFKA, client_id="bench-bare", acks="all",
                                         enable_idempotence=True)
        self.consumer: Any = None

    async def start(self, transport: KafkaTransport, in_process: bool) -> None:
        await transport.ensure_topics([self.topic])
        await self.producer.start()
        self.consumer = await consuming_side("bare", self.prefix, self.waiters, in_process)
        await asyncio.wait_for(self.sample(-1), 60)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        await self.producer.stop()

    async def sample(self, i: int) -> float:
        mid = uuid.uuid4().hex
        fut = self.waiters.expect(mid)
        t0 = time.monotonic()
        await self.producer.send_and_wait(self.topic, mid.encode(), key=KEYS[i % len(KEYS)].encode())
        return (await asyncio.wait_for(fut, 30) - t0) * 1000


# ------------------------------------------------------------------ main
async def measure(args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    prefix = f"brelay{uuid.uuid4().hex[:8]}"
    chassis = ChassisPath(prefix)
    bare = BarePath(prefix)
    results: dict[tuple[str, str], list[float]] = {
        (k, m): [] for k in ("chassis", "bare") for m in ("sequential", "paced")}
    try:
        await chassis.start(args.in_process)
        await bare.start(chassis.transport, args.in_process)
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
    ap.add_argument("--samples", type=int, default=3000, help="sequential samples per kind")
    ap.add_argument("--paced", type=int, default=1000, help="paced samples per kind")
    ap.add_argument("--rate", type=float, default=100.0, help="messages per second in the paced run")
    ap.add_argument("--rounds", type=int, default=15, help="rounds that interleave the two kinds")
    ap.add_argument("--in-process", action="store_true",
                    help="the consuming sides in this process too, one event loop for everything")
    ap.add_argument("--consumer", choices=sorted(CONSUMERS), help=argparse.SUPPRESS)  # a child's role
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=50, help="unrecorded samples per kind first")
    ap.add_argument("--keep", action="store_true", help="keep the databases after the run")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.consumer:
        await serve_consumer(args.consumer, args.prefix)
        return 0
    print(f"relay bench: Kafka {KAFKA}, Postgres {make_url(BASE_URL).render_as_string(hide_password=True)}; "
          f"consumers {'in this process' if args.in_process else 'in processes of their own'}")
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
