"""The same bus conformance suite runs on Apache Kafka and on the embedded log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.chassis.bus import Transport
from services.chassis.bus.embedded import EmbeddedTransport
from services.chassis.bus.kafka import KafkaTransport
from services.chassis.migrations import upgrade_async
from tests.support.servers import need_kafka


@dataclass
class Bus:
    kind: str
    prefix: str
    make: object  # () -> Transport, a new client each call (like a new process)
    db_url: str

    def new(self) -> Transport:
        return self.make()  # type: ignore[operator,no-any-return]

    def topic(self, name: str = "catalogue") -> str:
        return f"{self.prefix}.{name}"


@pytest.fixture(params=["kafka", "embedded"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path, pg_urls: dict[str, str]) -> AsyncIterator[Bus]:
    prefix = f"c{uuid.uuid4().hex[:8]}"
    if request.param == "kafka":
        bootstrap = need_kafka()
        yield Bus("kafka", prefix, lambda: KafkaTransport(bootstrap, client_id="conformance"), pg_urls["catalogue"])
    else:
        db = f"sqlite+aiosqlite:///{tmp_path}/catalogue.db"
        await upgrade_async("catalogue", db)
        log = tmp_path / "bus.db"
        yield Bus("embedded", prefix, lambda: EmbeddedTransport(log, session_timeout=1.5), db)
