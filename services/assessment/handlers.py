"""Event consumers of the assessment service: plain functions in one registry."""

from __future__ import annotations

from typing import Any

from services.assessment import service
from services.chassis.inbox import HandlerRegistry
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.contract import ContractSigned

handlers = HandlerRegistry()


@handlers.on("contract.signed")
async def on_contract_signed(payload: ContractSigned, *, event: Envelope, uow: UnitOfWork, ctx: Any) -> None:
    """Remember the contract (supplier, service type, department, line, periods) so a plan can be made
    from its id."""
    await service.record_contract(uow=uow, event_id=event.id, payload=payload)
