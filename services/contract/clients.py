"""HTTP calls from the contract service to others (only where an answer is needed now), as agreed in
CONTRIBUTING.md: budget lines and reservations, registry eligibility. The caller's token and request id go on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.chassis.app import ServiceContext
from services.chassis.money import fen_to_yuan


@dataclass
class BudgetClient:
    ctx: ServiceContext

    async def line(self, line_id: str) -> dict[str, Any]:
        """`GET /lines/{id}` → status, department, region, approved/reserved/available (yuan strings), …"""
        answer: dict[str, Any] = await self.ctx.client("budget").get(f"/lines/{line_id}")
        return answer

    async def reserve(self, line_id: str, *, reservation_id: str, amount_fen: int, contract_id: str) -> dict[str, Any]:
        """`POST /lines/{id}/reservations`, idempotent by the reservation id (also the Idempotency-Key)."""
        answer: dict[str, Any] = await self.ctx.client("budget").post(
            f"/lines/{line_id}/reservations",
            json={"reservation_id": reservation_id, "amount": fen_to_yuan(amount_fen), "contract_id": contract_id},
            headers={"Idempotency-Key": f"contract-reserve-{reservation_id}"},
        )
        return answer

    async def release(self, reservation_id: str, *, reason: str) -> dict[str, Any] | None:
        """`POST /reservations/{id}/release` (idempotent)."""
        answer: dict[str, Any] | None = await self.ctx.client("budget").post(
            f"/reservations/{reservation_id}/release", json={"reason": reason},
            headers={"Idempotency-Key": f"contract-release-{reservation_id}"},
        )
        return answer


@dataclass
class RegistryClient:
    ctx: ServiceContext

    async def eligibility(self, supplier_code: str, *, service_type: str, method: str, as_of: date) -> dict[str, Any]:
        """`GET /suppliers/{code}/eligibility` → eligible, reasons, single_source_renewal, policy, as_of."""
        answer: dict[str, Any] = await self.ctx.client("registry").get(
            f"/suppliers/{supplier_code}/eligibility",
            params={"service_type": service_type, "method": method, "as_of": as_of.isoformat()},
        )
        return answer


@dataclass
class Clients:
    budget: BudgetClient
    registry: RegistryClient


def build_clients(ctx: ServiceContext) -> Clients:
    return Clients(budget=BudgetClient(ctx), registry=RegistryClient(ctx))
