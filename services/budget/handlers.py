"""Event consumers of the budget service: plain functions in one registry, each calling service.py.

The chassis inbox records each event id in the same transaction as the effect, so a redelivered event
changes nothing.
"""

from __future__ import annotations

from typing import Any

from services.budget import service
from services.chassis.inbox import HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from services.events.catalogue import CatalogueItemWithdrawn
from services.events.contract import ContractSettlementApproved, ContractSigned, ContractTerminated

handlers = HandlerRegistry()


@handlers.on("contract.settlement.approved")
async def settlement_approved(payload: ContractSettlementApproved, *, event: Envelope, uow: UnitOfWork,
                              ctx: Any) -> None:
    await service.on_settlement_approved(uow=uow, event_id=event.id, reservation_id=payload.reservation_id,
                                         settlement_id=payload.settlement_id, amount=payload.amount,
                                         period=payload.period)


@handlers.on("contract.terminated")
async def contract_terminated(payload: ContractTerminated, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_contract_terminated(uow=uow, event_id=event.id, reservation_id=payload.reservation_id,
                                         contract_id=payload.contract_id, reason=payload.reason)


@handlers.on("contract.signed")
async def contract_signed(payload: ContractSigned, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_contract_signed(uow=uow, ctx=ctx, event_id=event.id, line_id=payload.line_id,
                                     contract_id=payload.contract_id, signed_on=payload.signed_on)


@handlers.on("assessment.finalized")
async def assessment_finalized(payload: AssessmentFinalized, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_assessment_finalized(
        uow=uow, ctx=ctx, event_id=event.id, at=event.time, assessment_id=payload.assessment_id,
        contract_id=payload.contract_id, line_id=payload.line_id, supplier_code=payload.supplier_code,
        period=payload.period, score=payload.score, grade=payload.grade, failing=payload.failing,
        policy=payload.policy)


@handlers.on("catalogue.item.withdrawn")
async def item_withdrawn(payload: CatalogueItemWithdrawn, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    await service.on_item_withdrawn(uow=uow, event_id=event.id, item_code=payload.item_code,
                                    department=payload.department, fiscal_year=payload.fiscal_year,
                                    catalogue_version=payload.version, reason=payload.reason)
