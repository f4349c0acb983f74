"""Flow 2: registry.supplier.blacklisted → the supplier's live contracts are flagged for termination review
(contract.flagged) and no new award can go to it (our own record, besides the registry's answer)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from services.chassis.money import yuan_to_fen
from services.events.registry import SupplierBlacklisted, SupplierDelisted
from tests.service.contract.support import World, assert_problem, envelope, publish, today, wait_handled

SERVICES = ("contract", "budget", "registry", "catalogue")


async def test_blacklisting_flags_live_contracts_and_blocks_signature(cluster) -> None:
    """002_88cf206893e82986.txt: 资信差和有违约前科……严格落实"一票否决"; 001_5078ddae3d782c1e.txt: 对弄虚作假、
    冒领财政资金的承接主体……列入"黑名单"."""
    c = await cluster(*SERVICES)
    w = World(c)
    code = await w.supplier_code()
    lines = [await w.line("600000.00") for _ in range(3)]
    draft = await w.draft_ok(lines[0], code)
    awarded = await w.award_ok(await w.draft_ok(lines[1], code))
    signed = await w.sign_both(await w.award_ok(await w.draft_ok(lines[2], code)))
    async with c.probe("contract") as probe:
        await w.blacklist(code, "提供虚假材料骗取财政资金")
        flagged = await probe.wait_for("contract.flagged", lambda d: d["supplier_code"] == code, count=2)
        assert {e.data["contract_id"] for e in flagged} == {awarded["id"], signed["id"]}
        assert all("虚假材料" in e.data["reason"] and e.data["cause_event_id"] for e in flagged)
        assert {e.data["status"] for e in flagged} == {"awarded", "signed"}
    for cid in (awarded["id"], signed["id"]):
        got = await w.get(cid)
        assert got["flagged"] is True and "fraud" in got["flag_reason"]
    assert (await w.get(draft["id"]))["flagged"] is False
    r = await w.api.get("/contracts", params={"flagged": "true"}, headers=w.finance(idempotency_key=False))
    assert {x["id"] for x in r.json()["items"]} >= {awarded["id"], signed["id"]}

    # the awarded one cannot be signed while under review; no new award to the supplier
    current = await w.get(awarded["id"])
    assert_problem(await w.api.post(f"/contracts/{awarded['id']}/signatures",
                                    json={"version": current["version"], "signed_on": today().isoformat()},
                                    headers=w.purchaser()), 409, "contract.flagged")
    r = await w.award(draft)
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("contract.supplier.blacklisted", "contract.supplier.ineligible")
    assert yuan_to_fen((await w.budget_line(lines[0]["line_id"]))["reserved"]) == 0
    # termination review ends in termination: the flag goes, contract.terminated goes to the budget
    r = await w.transition(await w.get(signed["id"]), "terminate", reason="供应商列入黑名单,解除合同",
                           headers=w.finance())
    assert r.status_code == 200 and r.json()["status"] == "terminated" and r.json()["flagged"] is False, r.text


async def _award_answer(w: World, draft: dict[str, Any]) -> Any:
    return await w.award(await w.get(draft["id"]))


async def test_own_blacklist_record_vetoes_award_until_delisted(cluster) -> None:
    """One-vote veto from our own record of registry.supplier.blacklisted (002_88cf206893e82986.txt), exactly once
    under redelivery; a delisting lifts it."""
    c = await cluster(*SERVICES)
    w = World(c)
    code = await w.supplier_code()
    line = await w.line("600000.00")
    live = await w.award_ok(await w.draft_ok(line, code, amount="300000.00", method="designated"))
    draft = await w.draft_ok(line, code, amount="300000.00", method="designated")
    entry = str(uuid.uuid4())
    black = envelope(SupplierBlacklisted(supplier_code=code, entry_id=entry, reason="严重违法失信", source="violation",
                                         starts_on=today(), ends_on=today() + timedelta(days=365),
                                         policy="changzhou@2024.1"), source="/goumai/registry")
    async with c.probe("contract") as probe:
        await publish(c, black, black)
        await wait_handled(c, black)
        await probe.wait_for("contract.flagged", lambda d: d["contract_id"] == live["id"])
        await probe.settle(1.0)
        assert len(probe.matching("contract.flagged", lambda d: d["contract_id"] == live["id"])) == 1
    # the registry itself does not know of this entry; our record still vetoes
    body = assert_problem(await _award_answer(w, draft), 422, "contract.supplier.blacklisted", "supplier_code")
    assert "严重违法失信" in body["detail"]
    assert yuan_to_fen((await w.budget_line(line["line_id"]))["reserved"]) == yuan_to_fen("300000.00")

    # finance ends the review of the live contract with a reason
    current = await w.get(live["id"])
    assert_problem(await w.transition(current, "clear_flag", headers=w.finance()), 422, "contract.reason.required")
    r = await w.transition(current, "clear_flag", reason="经核查不影响本合同履约", headers=w.finance())
    assert r.status_code == 200 and r.json()["flagged"] is False, r.text

    gone = envelope(SupplierDelisted(supplier_code=code, entry_id=entry, reason="申诉成立", ended_on=today()),
                    source="/goumai/registry")
    await publish(c, gone)
    await wait_handled(c, gone)
    r = await _award_answer(w, draft)
    assert r.status_code == 200 and r.json()["status"] == "awarded", r.text
