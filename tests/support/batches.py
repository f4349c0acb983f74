"""Helpers for the tests of set-based (batch) handlers: run a run of deliveries in one transaction as the
consumer does, and count the SQL statements an engine sends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chassis.inbox import Delivery, HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.events import Envelope


async def handle_in_one_transaction(
    sessions: async_sessionmaker[AsyncSession], handlers: HandlerRegistry, event_type: str,
    deliveries: Sequence[Delivery], *, service: str, ctx: Any = None,
) -> tuple[list[Envelope], list[dict[str, Any]]]:
    """The handler of `event_type`, then the commit, as the consumer runs a batch; what it emitted and audited."""
    [handler] = handlers.handlers_for(event_type)
    async with UnitOfWork(sessions, service=service) as uow:
        await handler(deliveries, uow=uow, ctx=ctx)
        audits = list(uow.session.info.get("audit_rows", []))
        await uow.commit()
        return list(uow.emitted), audits


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements SQLAlchemy sends while inside (the chassis's own outbox, inbox and audit rows go to the
    driver directly on Postgres and are not among them)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
