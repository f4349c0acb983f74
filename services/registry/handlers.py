"""Event consumers of the registry service: plain functions in one registry."""

from __future__ import annotations

from typing import Any

from services.chassis.inbox import HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from services.registry import service

handlers = HandlerRegistry()


@handlers.on("assessment.finalized")
async def on_assessment_finalized(payload: AssessmentFinalized, *, event: Envelope, uow: UnitOfWork,
                                  ctx: Any) -> None:
    """Flows 2 and 3: performance history, blacklisting from results, next-cycle eligibility."""
    await service.record_assessment(uow=uow, ctx=ctx, payload=payload, event=event)
