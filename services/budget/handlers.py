"""Event consumers of the budget service: plain functions in one registry, each calling service.py.

The chassis inbox records each event id in the same transaction as the effect, so a redelivered event
changes nothing. The hot ones (settlements, assessments) take a run of events at once, so service.py reads
and writes their rows with one statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.budget import service
from services.chassis.inbox import Delivery, HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from services.events.catalogue import CatalogueItemWithdrawn
from services.events.contract import (
    ContractCompleted,
    ContractSettlementApproved,
    ContractSigned,
    ContractTerminated,
)

handlers = HandlerRegistry()


@handlers.on_batch("contract.settlement.approved")
async def settlements_approved(deliveries: Sequence[Delivery], *, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_settlements_approved(uow=uow, settlements=[_settlement(d) for d in deliveries])


def _settlement(d: Delivery) -> service.SettlementApproved:
    p: ContractSettlementApproved = d.payload
    return service.SettlementApproved(event_id=d.event.id, reservation_id=p.reservation_id,
                                      settlement_id=p.settlement_id, amount=p.amount, period=p.period,
                                      reward=p.reward)


@handlers.on_batch("contract.withheld.released")
async def withheld_released(deliveries: Sequence[Delivery], *, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_withheld_released(uow=uow, releases=[
        service.WithheldReleased(event_id=d.event.id, reservation_id=d.payload.reservation_id,
                                 release_id=d.payload.release_id, amount=d.payload.amount, period=d.payload.period)
        for d in deliveries])


@handlers.on("contract.terminated")
async def contract_terminated(payload: ContractTerminated, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_contract_terminated(uow=uow, event_id=event.id, reservation_id=payload.reservation_id,
                                         contract_id=payload.contract_id, reason=payload.reason)


@handlers.on("contract.completed")
async def contract_completed(payload: ContractCompleted, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_contract_completed(uow=uow, reservation_id=payload.reservation_id,
                                        contract_id=payload.contract_id)


@handlers.on("contract.signed")
async def contract_signed(payload: ContractSigned, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_contract_signed(uow=uow, ctx=ctx, event_id=event.id, line_id=payload.line_id,
                                     contract_id=payload.contract_id, signed_on=payload.signed_on)


@handlers.on_batch("assessment.finalized")
async def assessments_finalized(deliveries: Sequence[Delivery], *, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_assessments_finalized(uow=uow, ctx=ctx, results=[_result(d) for d in deliveries])


def _result(d: Delivery) -> service.AssessmentResult:
    p: AssessmentFinalized = d.payload
    return service.AssessmentResult(
        event_id=d.event.id, at=d.event.time, assessment_id=p.assessment_id, contract_id=p.contract_id,
        line_id=p.line_id, supplier_code=p.supplier_code, period=p.period, score=p.score, grade=p.grade,
        failing=p.failing, policy=p.policy)


@handlers.on("catalogue.item.withdrawn")
async def item_withdrawn(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_item_withdrawn(uow=uow, event_id=event.id, item_code=payload.item_code,
                                    department=payload.department, fiscal_year=payload.fiscal_year,
                                    catalogue_version=payload.version, reason=payload.reason)
