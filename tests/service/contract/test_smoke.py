"""Smoke: a line and a supplier through the other services, a draft, an award."""

from __future__ import annotations

from tests.service.contract.support import World


async def test_draft_and_award(cluster) -> None:
    c = await cluster("contract", "budget", "registry", "catalogue")
    w = World(c)
    line = await w.line("600000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code)
    assert draft["status"] == "draft"
    awarded = await w.award_ok(draft)
    assert awarded["status"] == "awarded"
