"""Event consumers of the contract service: plain functions in one registry. Each reads the event and calls
service.py; the consumer commits the effects with the inbox row (a redelivered event changes nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.chassis.inbox import Delivery, HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.contract import service
from services.events import Envelope
from services.events.registry import SupplierBlacklisted, SupplierDelisted

handlers = HandlerRegistry()


@handlers.on_batch("assessment.finalized")
async def settle_periods(deliveries: Sequence[Delivery], *, uow: UnitOfWork, ctx: Any) -> None:
    """Flow 1: the period's settlement = instalment × the grade's payment factor → contract.settlement.approved.
    A run of events at once (one statement per table)."""
    await service.record_settlements(uow=uow, deliveries=deliveries)


@handlers.on("registry.supplier.blacklisted")
async def flag_live_contracts(payload: SupplierBlacklisted, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    """Flow 2: the supplier's live contracts are flagged for termination review; no new award to it."""
    await service.record_blacklisting(uow=uow, event=payload, event_id=event.id)


@handlers.on("registry.supplier.delisted")
async def end_blacklisting(payload: SupplierDelisted, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    """The blacklist entry ended (expiry, appeal, early removal): awards are possible again."""
    await service.record_delisting(uow=uow, event=payload)
