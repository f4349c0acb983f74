"""The bus: one interface, two transports (Apache Kafka, and an embedded durable log in SQLite)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutMessage:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class InMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())


TopicPartition = tuple[str, int]


class Consumer(Protocol):
    """A member of a consumer group. Offsets are committed only when the caller says so."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def fetch(self, *, timeout: float, max_records: int) -> list[InMessage]: ...
    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, per partition, the offset of the next message to read."""
        ...


class Transport(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, messages: Sequence[OutMessage]) -> None:
        """Publish in order; return only when the broker acknowledged every message."""
        ...
    def consumer(self, *, group: str, topics: Sequence[str]) -> Consumer: ...
    async def ensure_topics(self, topics: Sequence[str]) -> None: ...
    async def ping(self) -> bool: ...
    async def describe(self) -> str: ...


def next_offsets(messages: Sequence[InMessage]) -> dict[TopicPartition, int]:
    out: dict[TopicPartition, int] = {}
    for m in messages:
        tp = (m.topic, m.partition)
        out[tp] = max(out.get(tp, 0), m.offset + 1)
    return out
