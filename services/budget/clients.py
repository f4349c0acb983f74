"""HTTP calls from the budget service to others (only where an answer is needed now)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from services.chassis.app import ServiceContext


@dataclass(frozen=True)
class Purchasable:
    """catalogue `GET /items/{code}/purchasable?department=&year=` (CONTRIBUTING.md agreement)."""

    item_code: str
    purchasable: bool
    reasons: list[str] = field(default_factory=list)
    name: str | None = None
    level1_class: str | None = None
    service_type: str | None = None
    catalogue_id: str | None = None
    catalogue_version: int | None = None

    @classmethod
    def of(cls, item_code: str, body: dict[str, Any]) -> Purchasable:
        version = body.get("catalogue_version")
        return cls(
            item_code=str(body.get("item_code") or item_code),
            purchasable=bool(body.get("purchasable")),
            reasons=[str(r) for r in body.get("reasons") or []],
            name=body.get("name"),
            level1_class=body.get("level1_class"),
            service_type=body.get("service_type"),
            catalogue_id=None if body.get("catalogue_id") is None else str(body["catalogue_id"]),
            catalogue_version=int(version) if version is not None else None,
        )


class CatalogueClient:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def purchasable(self, item_code: str, *, department: str, year: int) -> Purchasable:
        """Is this catalogue item purchasable by the department in the fiscal year? The caller's token and
        request id go along; an unreachable catalogue is a 503 (dependency.unavailable)."""
        body = await self.ctx.client("catalogue").get(
            f"/items/{quote(item_code, safe='')}/purchasable", params={"department": department, "year": year}
        )
        return Purchasable.of(item_code, body if isinstance(body, dict) else {})


@dataclass
class BudgetClients:
    catalogue: CatalogueClient


def build_clients(ctx: ServiceContext) -> BudgetClients:
    return BudgetClients(catalogue=CatalogueClient(ctx))
