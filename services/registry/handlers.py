"""Event consumers of the registry service: plain functions in one registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.chassis.inbox import Delivery, HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.registry import service

handlers = HandlerRegistry()


@handlers.on_batch("assessment.finalized")
async def on_assessment_finalized(deliveries: Sequence[Delivery], *, uow: UnitOfWork, ctx: Any) -> None:
    """Flows 2 and 3: performance history, blacklisting from results, next-cycle eligibility."""
    await service.record_assessments(uow=uow, ctx=ctx, deliveries=deliveries)
