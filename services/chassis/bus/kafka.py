"""Apache Kafka through aiokafka: idempotent producer (acks=all), consumer groups, manual commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError

from services.chassis.bus import InMessage, OutMessage
from services.chassis.bus import TopicPartition as TP

log = logging.getLogger(__name__)


class KafkaTransport:
    name = "kafka"

    def __init__(self, bootstrap: str, *, client_id: str = "goumai", partitions: int = 3) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.partitions = partitions
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    client_id=self.client_id,
                    enable_idempotence=True,  # implies acks=all; keeps order with retries
                    acks="all",
                    # No linger: the relay hands a whole batch to send() before awaiting any ack, so the
                    # accumulator batches it anyway, and a lone event goes out at once.
                    linger_ms=0,
                    request_timeout_ms=15000,
                    retry_backoff_ms=100,
                )
                await producer.start()
                self._producer = producer

    async def stop(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def publish(self, messages: Sequence[OutMessage]) -> None:
        if self._producer is None:
            await self.start()
        assert self._producer is not None
        futures = [
            await self._producer.send(m.topic, m.value, key=m.key, headers=list(m.headers))
            for m in messages
        ]
        if futures:
            await asyncio.gather(*futures)

    def consumer(self, *, group: str, topics: Sequence[str]) -> KafkaConsumer:
        return KafkaConsumer(self.bootstrap, group=group, topics=topics, client_id=self.client_id)

    async def _admin(self) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id)
        await admin.start()
        return admin

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        admin = await self._admin()
        try:
            existing = set(await admin.list_topics())
            new = [NewTopic(t, self.partitions, 1) for t in topics if t not in existing]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
        finally:
            await admin.close()

    async def ping(self) -> bool:
        try:
            admin = await self._admin()
        except KafkaError:
            return False
        try:
            await asyncio.wait_for(admin.list_topics(), 3)
            return True
        except (KafkaError, TimeoutError):
            return False
        finally:
            await admin.close()

    async def describe(self) -> str:
        admin = await self._admin()
        try:
            cluster: Any = await admin.describe_cluster()
            return f"kafka cluster {cluster.get('cluster_id')} at {self.bootstrap}"
        finally:
            await admin.close()


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: KafkaConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.owner.commit_processed(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


class KafkaConsumer:
    def __init__(self, bootstrap: str, *, group: str, topics: Sequence[str], client_id: str) -> None:
        self.topics = list(topics)
        self._processed: dict[TP, int] = {}
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
            max_poll_interval_ms=300000,
            metadata_max_age_ms=5000,
        )

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))

    async def stop(self) -> None:
        await self._consumer.stop()

    async def fetch(self, *, timeout: float, max_records: int) -> list[InMessage]:
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000), max_records=max_records)
        out: list[InMessage] = []
        for tp, records in batches.items():
            for r in records:
                out.append(
                    InMessage(tp.topic, tp.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                )
        return out

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        self._processed.update(offsets)
        # A partition a rebalance took away since these were handled is its new owner's to commit.
        owned = self._consumer.assignment()
        mine = {TopicPartition(t, p): o for (t, p), o in offsets.items() if TopicPartition(t, p) in owned}
        if not mine:
            return
        try:
            await self._consumer.commit(mine)
        except CommitFailedError:
            # A rebalance took the partition away; its new owner re-reads from the last commit and
            # the inbox makes the repeat harmless.
            log.warning("offset commit failed after a rebalance; the new owner will redeliver")

    async def commit_processed(self, revoked: Any) -> None:
        offsets = {(tp.topic, tp.partition): self._processed[(tp.topic, tp.partition)]
                   for tp in revoked if (tp.topic, tp.partition) in self._processed}
        if offsets:
            try:
                await self._consumer.commit(
                    {TopicPartition(t, p): o for (t, p), o in offsets.items()}
                )
            except (CommitFailedError, KafkaError):
                log.warning("commit on revoke failed; redelivery will follow")
