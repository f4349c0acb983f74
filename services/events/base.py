"""The published language: CloudEvents 1.0 envelopes around versioned pydantic payloads.

Every event type is declared once with `@event(...)`: its type, schema version, producing service
(which names the topic) and the payload field that is the partition key (the aggregate it is about),
so events about one thing arrive in order.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

PRODUCERS = ("catalogue", "budget", "registry", "contract", "assessment")
DEFAULT_PREFIX = "goumai"
DLQ_SUFFIX = "dlq"
CONTENT_TYPE = "application/json"


def topic_for(service: str, prefix: str = DEFAULT_PREFIX) -> str:
    """One topic per producing service: goumai.assessment, goumai.contract, …"""
    return f"{prefix}.{service}"


def dlq_topic(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}.{DLQ_SUFFIX}"


class EventPayload(BaseModel):
    """Base of every payload. Consumers ignore fields they do not know (new fields are additive)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    __event__: ClassVar[EventSpec]


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    producer: str
    key_field: str
    payload: builtins.type[EventPayload]
    summary: str

    def topic(self, prefix: str = DEFAULT_PREFIX) -> str:
        return topic_for(self.producer, prefix)


REGISTRY: dict[str, EventSpec] = {}
P = TypeVar("P", bound=type[EventPayload])


def event(event_type: str, *, key: str, version: int = 1) -> Callable[[P], P]:
    """Declare a payload class as the schema of event `type`, keyed by its field `key`."""

    def register(cls: P) -> P:
        producer = event_type.split(".", 1)[0]
        if producer not in PRODUCERS:
            raise ValueError(f"{event_type}: unknown producing service {producer}")
        if key not in cast(builtins.type[EventPayload], cls).model_fields:
            raise ValueError(f"{event_type}: key field {key} is not a field of {cls.__name__}")
        if event_type in REGISTRY:
            raise ValueError(f"{event_type} declared twice")
        spec = EventSpec(event_type, version, producer, key, cls, (cls.__doc__ or "").strip())
        cls.__event__ = spec
        REGISTRY[event_type] = spec
        return cls

    return register


class Envelope(BaseModel):
    """A CloudEvents 1.0 event with our extensions `schemaversion` and `partitionkey`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = CONTENT_TYPE
    schemaversion: int = 1
    partitionkey: str
    data: dict[str, Any]

    @classmethod
    def wrap(cls, payload: EventPayload, *, source: str, subject: str | None = None) -> Envelope:
        spec = type(payload).__event__
        key = str(getattr(payload, spec.key_field))
        return cls(
            source=source,
            type=spec.type,
            subject=subject or key,
            schemaversion=spec.version,
            partitionkey=key,
            data=payload.model_dump(mode="json"),
        )

    def spec(self) -> EventSpec | None:
        return REGISTRY.get(self.type)

    def payload(self) -> EventPayload:
        model: type[EventPayload] = REGISTRY[self.type].payload
        return model.model_validate(self.data)

    def topic(self, prefix: str = DEFAULT_PREFIX) -> str:
        spec = REGISTRY.get(self.type)
        producer = spec.producer if spec else self.type.split(".", 1)[0]
        return topic_for(producer, prefix)

    # CloudEvents Kafka protocol binding, binary content mode: attributes in ce_* headers.
    def to_kafka(self) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        headers = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_time", self.time.astimezone(UTC).isoformat().replace("+00:00", "Z").encode()),
            ("ce_schemaversion", str(self.schemaversion).encode()),
            ("ce_partitionkey", self.partitionkey.encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        value = json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()
        return self.partitionkey.encode(), value, headers

    @classmethod
    def from_kafka(
        cls, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | tuple[Any, ...]
    ) -> Envelope:
        h = {k: v.decode() for k, v in headers}
        if "ce_id" not in h:
            raise ValueError("not a CloudEvents binary-mode message: no ce_id header")
        return cls(
            specversion=h.get("ce_specversion", "1.0"),
            id=h["ce_id"],
            source=h["ce_source"],
            type=h["ce_type"],
            subject=h.get("ce_subject", ""),
            time=datetime.fromisoformat(h["ce_time"].replace("Z", "+00:00")),
            datacontenttype=h.get("content-type", CONTENT_TYPE),
            schemaversion=int(h.get("ce_schemaversion", "1")),
            partitionkey=h.get("ce_partitionkey", (key or b"").decode()),
            data=json.loads(value),
        )
