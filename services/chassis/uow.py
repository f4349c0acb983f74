"""Unit of work: a service's state changes, its outbox rows and its audit rows commit together.

Service functions take a `UnitOfWork`, change aggregates through `uow.session`, record events with
`uow.emit(payload)` (or `uow.collect(aggregate)` for events an aggregate recorded), and call
`await uow.commit()`. Nothing is published here: the relay publishes committed outbox rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chassis.context import actor_var, request_id_var
from services.chassis.db import insert_rows, pg_driver
from services.chassis.outbox import HANDOVER_MAX_ROWS, NOTIFY_CHANNEL, Handover, insert_for_handover
from services.chassis.schema import audit_log, outbox
from services.events import Envelope, EventPayload


class RecordsEvents(Protocol):
    events: list[EventPayload]


class UnitOfWork:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        service: str,
        topic_prefix: str = "goumai",
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._factory = session_factory
        self.service = service
        self.topic_prefix = topic_prefix
        self._on_commit = on_commit
        self._session: AsyncSession | None = None
        self.emitted: list[Envelope] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        if self._session is None:  # else begun ahead of time (see `begin`)
            self._session = self._factory()
            self.emitted = []
        return self

    async def begin(self) -> UnitOfWork:
        """Enter and begin the transaction now, ahead of its first statement (Postgres): a consumer does this
        while it waits for messages, so the BEGIN round trip is not on a message's path. In READ COMMITTED
        an open transaction that has run no statement holds no snapshot and no locks."""
        await self.__aenter__()
        await pg_driver(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            if session.in_transaction():  # not after a commit: nothing to roll back, and no trip for it
                await session.rollback()
            await session.close()

    def emit(self, payload: EventPayload, *, subject: str | None = None) -> Envelope:
        """Add the event to the outbox in this transaction."""
        envelope = Envelope.wrap(payload, source=f"/goumai/{self.service}", subject=subject)
        _, value, headers = envelope.to_kafka()
        self._pending_rows.append(
            {
                "event_id": envelope.id,
                "topic": envelope.topic(self.topic_prefix),
                "key": envelope.partitionkey,
                "type": envelope.type,
                "headers": [[k, v.decode()] for k, v in headers],
                "payload": value.decode(),
                "created_at": envelope.time,
            }
        )
        self.emitted.append(envelope)
        return envelope

    @property
    def _pending_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] | None = self.session.info.get("outbox_rows")
        if rows is None:
            rows = self.session.info["outbox_rows"] = []
        return rows

    def collect(self, aggregate: RecordsEvents) -> None:
        """Move the events an aggregate recorded into the outbox."""
        while aggregate.events:
            self.emit(aggregate.events.pop(0))

    def audit(self, action: str, entity: str, entity_id: str, detail: dict[str, Any] | None = None) -> None:
        """Append to the audit trail in this transaction: who, when, what, request id."""
        actor = actor_var.get()
        self.session.info.setdefault("audit_rows", []).append(
            {
                "at": datetime.now(UTC),
                "actor": actor.subject,
                "role": actor.role,
                "org": actor.org,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "request_id": request_id_var.get(),
                "detail": json.loads(json.dumps(detail or {}, default=str, ensure_ascii=False)),
            }
        )

    async def flush(self) -> None:
        await self.session.flush()

    async def commit(self) -> None:
        session = self.session
        rows = session.info.pop("outbox_rows", [])
        audits = session.info.pop("audit_rows", [])
        handover: Handover | None = None
        if rows:
            # When the relay in this process leads (Postgres), the rows are handed to it after the commit, so it
            # need not read them back (see outbox.py), and no NOTIFY is needed: that relay is the listener.
            # Only from a session on the engine: one joined to an outer transaction commits a savepoint here,
            # and its rows may yet be rolled back.
            leading = getattr(self._on_commit, "leading", False)
            handing = leading and len(rows) <= HANDOVER_MAX_ROWS and isinstance(session.bind, AsyncEngine)
            pg = await pg_driver(session) if handing else None
            if pg is not None:
                handover = await insert_for_handover(pg, rows)
            else:
                await insert_rows(session, outbox, rows)
                # Delivered to the listening relay only when this transaction commits.
                if session.get_bind().dialect.name == "postgresql" and not leading:
                    await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        if audits:
            await insert_rows(session, audit_log, audits)
        await session.commit()
        if rows and self._on_commit is not None:
            if handover is not None:
                self._on_commit.handover(handover)  # type: ignore[attr-defined]  # only a leading RelayWake
                await asyncio.sleep(0)  # let the relay take them out before this task goes on
            else:
                self._on_commit()

    async def rollback(self) -> None:
        self.session.info.pop("outbox_rows", None)
        self.session.info.pop("audit_rows", None)
        await self.session.rollback()
