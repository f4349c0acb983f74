"""Flow 5 (DESIGN "The automated flows") end to end through the gateway, on Postgres and Kafka: a catalogue item
withdrawn in an in-year adjustment flags the budget lines that use it (and no new line may name it); a contract
terminated after a settled period releases what is reserved and unspent on its line, to the fen. Seeds: 004
(budget first: no purchase without a catalogue item; 目录动态调整), 001 (退出机制)."""

from __future__ import annotations

from tests.support.cluster import poll
from tests.support.flow import YEAR, World, assert_problem, fen


async def test_a_withdrawn_catalogue_item_flags_the_lines_that_use_it(goumai) -> None:
    w = World(goumai)
    kept, withdrawn = await w.catalogue("property", "property")
    uses_it = await w.line(withdrawn, "400000.00")
    also = await w.line(withdrawn, "1500000.00", one_off=True)  # finance-approved from 100万
    other = await w.line(kept, "200000.00")

    async with goumai.cluster.probe("catalogue", "budget") as probe:
        await w.withdraw_item(withdrawn, "并入综合后勤服务项目")
        [ev] = await probe.wait_for("catalogue.item.withdrawn", lambda d: d["item_code"] == withdrawn)
        assert ev.data["department"] == w.department and ev.data["fiscal_year"] == YEAR

        async def flagged(line_id: str) -> dict | None:
            line = await w.get_line(line_id)
            return line if line["item_withdrawn"] else None

        for line in (uses_it, also):
            now = await poll(lambda lid=line["line_id"]: flagged(lid), message=f"line {line['line_id']} flagged")
            [flag] = now["flags"]
            assert flag["code"] == "catalogue.item.withdrawn" and flag["reason"] == "并入综合后勤服务项目", flag
            assert flag["event_id"] == ev.id and flag["catalogue_version"] == 2
            assert now["status"] == "approved" and now["approved_amount"] == line["approved_amount"]
        await probe.settle(0.5)
    untouched = await w.get_line(other["line_id"])
    assert untouched["item_withdrawn"] is False and untouched["flags"] == []

    # budget first: the withdrawn item can no longer be named by a new line
    r = await goumai.gw.client.post("/api/budget/lines", headers=goumai.headers("purchaser", org=w.department), json={
        "region": "changzhou", "fiscal_year": YEAR, "item_code": withdrawn, "name": "物业服务", "content": "保洁",
        "recipients": "机关干部职工", "method": "public_tender", "amount": "100000.00"})
    body = assert_problem(r, 422, "budget.item.not_purchasable")
    assert "并入综合后勤服务项目" in body["detail"], body


async def test_a_termination_releases_the_unspent_reservation_to_the_fen(goumai) -> None:
    w = World(goumai)
    [item] = await w.catalogue("property")
    line = await w.line(item, "900000.00")
    supplier = await w.supplier_code()
    contract = await w.signed(line, supplier, "800000.03", schedule="quarterly")  # 200000.01 × 3 + 200000.00
    plan = await w.plan(contract)
    await w.assess(plan, f"{YEAR}-Q1", "合格")
    [q1] = (await w.settled(contract["id"], 1))["items"]
    assert (q1["amount"], q1["withheld"]) == ("180000.01", "20000.00")  # 180000.009 → half-up

    async def paid() -> dict | None:
        now = await w.get_line(line["line_id"])
        return now if now["paid"] == "180000.01" else None

    await poll(paid, message="the first payment on the line")
    async with goumai.cluster.probe("contract", "budget") as probe:
        performing = await w.get_contract(contract["id"])
        assert performing["status"] == "performing"
        ended = await w.transition(performing, "terminate", "服务质量持续不达标,双方协商解除合同")
        assert ended["status"] == "terminated"
        [term] = await probe.wait_for("contract.terminated", lambda d: d["contract_id"] == contract["id"])
        [rel] = await probe.wait_for("budget.funds.released", lambda d: d.get("contract_id") == contract["id"])
        assert term.data["reservation_id"] == rel.data["reservation_id"] == contract["reservation_id"]
        assert fen(rel.data["amount"]) == fen("800000.03") - fen("180000.01")  # 620000.02: unpaid and withheld

        # an assessment finalised after the termination settles nothing
        await w.assess(plan, f"{YEAR}-Q2", "优秀")
        await probe.settle(1.5)
        assert len(probe.matching("budget.funds.released", lambda d: d.get("contract_id") == contract["id"])) == 1
        assert not probe.matching("contract.settlement.approved",
                                  lambda d: d["contract_id"] == contract["id"] and d["period"] != q1["period"])

    after = await w.get_line(line["line_id"])
    assert (after["reserved"], after["paid"], after["available"]) == ("0.00", "180000.01", "719999.99"), after
    assert fen(after["paid"]) + fen(after["available"]) == fen(after["approved_amount"])
    res = await w.call("GET", f"/api/budget/reservations/{contract['reservation_id']}", w.purchaser)
    assert (res["status"], res["paid"], res["released"], res["outstanding"]) == (
        "released", "180000.01", "620000.02", "0.00"), res
    assert (await w.settlements(contract["id"]))["total"] == 1
