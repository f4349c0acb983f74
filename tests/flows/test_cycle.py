"""Flows 1 and 4 (DESIGN "The automated flows") end to end through the gateway, on Postgres and Kafka: a whole
purchase cycle — catalogue, budget line through 二上二下 with finance's approval (from 100万), supplier, award,
contract signed — then each quarter's assessment finalised; from there everything flows by itself over Kafka:
settlement = instalment × the grade's factor, the payment on the budget line to the fen, the result attached to
the line. Seeds: 004 (budget first; results applied at settlement and as a basis for the next budget), 002
(Changzhou: 10% reward for 优秀), 000 (quarterly assessment tied to payment)."""

from __future__ import annotations

from tests.support.cluster import poll
from tests.support.flow import YEAR, World, fen, percent_of

AMOUNT = "1000000.07"  # 4 quarters: 250000.02 × 3 + 250000.01 (the remainder goes first)
FACTORS = {"优秀": "100", "良好": "100", "合格": "90", "不合格": "70"}
GRADES = {f"{YEAR}-Q1": "优秀", f"{YEAR}-Q2": "合格", f"{YEAR}-Q3": "良好", f"{YEAR}-Q4": "不合格"}


async def test_a_whole_cycle_settles_each_period_and_pays_the_line_to_the_fen(goumai) -> None:
    w = World(goumai)
    [item] = await w.catalogue("property")
    line = await w.line(item, "1200000.00", control="1100000.00")
    assert line["approved_amount"] == "1100000.00" and line["finance_approved"] is True
    steps = [s["step"] for s in (await w.get_line(line["line_id"]))["steps"]]
    assert steps[:4] == ["submit", "control", "resubmit", "approve"], steps
    supplier = await w.supplier_code()
    contract = await w.signed(line, supplier, AMOUNT, schedule="quarterly")
    instalments = {i["period"]: fen(i["amount"]) for i in contract["instalments"]}
    assert list(instalments) == list(GRADES)
    assert list(instalments.values()) == [25000002, 25000002, 25000002, 25000001]
    assert sum(instalments.values()) == fen(AMOUNT)
    reserved = await w.get_line(line["line_id"])
    assert (reserved["reserved"], reserved["paid"], reserved["available"]) == (AMOUNT, "0.00", "99999.93")

    async with goumai.cluster.probe("contract", "budget") as probe:
        plan = await w.plan(contract)
        finals = {p: await w.assess(plan, p, g) for p, g in GRADES.items()}
        body = await w.settled(contract["id"], 4)

        # flow 1: settlement = instalment × factor, the rest withheld with its reason; 优秀 earns the reward
        by = {s["period"]: s for s in body["items"]}
        expected_paid = 0
        for period, grade in GRADES.items():
            s, inst = by[period], instalments[period]
            amount = percent_of(inst, FACTORS[grade])
            assert (s["grade"], s["factor_percent"], fen(s["instalment"])) == (grade, FACTORS[grade], inst), s
            assert fen(s["amount"]) == amount and fen(s["withheld"]) == inst - amount, s
            assert s["assessment_id"] == finals[period]["id"]
            assert fen(s["reward"]) == (percent_of(inst, "10") if grade == "优秀" else 0), s
            assert (s["withheld_reason"] is None) == (amount == inst), s
            expected_paid += amount + fen(s["reward"])  # the reward is paid with the settlement
        q2 = by[f"{YEAR}-Q2"]
        assert q2["amount"] == "225000.02" and q2["withheld"] == "25000.00"  # 225000.018 → half-up
        assert "合格" in q2["withheld_reason"] and "90%" in q2["withheld_reason"]
        assert fen(body["settled_amount"]) + fen(body["reward_total"]) == expected_paid
        assert fen(body["reward_total"]) == percent_of(instalments[f"{YEAR}-Q1"], "10")
        assert fen(body["settled_amount"]) + fen(body["withheld_total"]) == fen(AMOUNT)

        # … and the budget recorded each payment against the reservation: paid matches to the fen
        async def paid_in_full() -> dict | None:
            now = await w.get_line(line["line_id"])
            return now if fen(now["paid"]) == expected_paid else None

        after = await poll(paid_in_full, timeout=30, message="the budget line's paid amount")
        # the withheld part stays reserved; the Q1 reward came out of what the line had free, not the reservation
        reward = fen(body["reward_total"])
        assert fen(after["reserved"]) == fen(AMOUNT) - fen(body["settled_amount"])
        assert fen(after["available"]) == fen("1100000.00") - fen(AMOUNT) - reward
        assert after["flags"] == [], after["flags"]
        ledger = await w.call("GET", f"/api/budget/lines/{line['line_id']}/ledger", w.purchaser)
        payments = [e for e in ledger["entries"] if e["kind"] == "payment"]
        assert sorted(fen(e["amount"]) for e in payments) == sorted(
            [fen(by[p]["amount"]) for p in GRADES] + [reward])

        # flow 4: every final result is attached to the line, as a basis for next year's budget
        results = {r["period"]: r for r in after["results"]}
        assert {p: (r["grade"], r["assessment_id"]) for p, r in results.items()} == {
            p: (g, finals[p]["id"]) for p, g in GRADES.items()}
        assert {r["score"] for r in results.values()} == {"100.00", "74.50", "88.00", "49.00"}

        # the bus carried each effect once
        approved = await probe.wait_for("contract.settlement.approved",
                                        lambda d: d["contract_id"] == contract["id"], count=4)
        recorded = await probe.wait_for("budget.payment.recorded",
                                        lambda d: d.get("contract_id") == contract["id"], count=5)
        await probe.settle(1.0)
        assert len(probe.matching("contract.settlement.approved", lambda d: d["contract_id"] == contract["id"])) == 4
        # four settlements and the Q1 reward
        assert len(probe.matching("budget.payment.recorded", lambda d: d.get("contract_id") == contract["id"])) == 5
        settled = [e for e in recorded if e.data["kind"] == "settlement"]
        assert {e.data["settlement_id"] for e in settled} == {e.data["settlement_id"] for e in approved}
        assert [(e.data["period"], fen(e.data["amount"])) for e in recorded if e.data["kind"] == "reward"] == [
            (f"{YEAR}-Q1", reward)]
        assert max(fen(e.data["paid_total"]) for e in recorded) == expected_paid

    # the contract performs from its first settled period and completes once every period is settled
    performing = await w.get_contract(contract["id"])
    assert performing["status"] == "performing" and all(i["settled"] for i in performing["instalments"])
    done = await w.transition(performing, "complete")
    assert done["status"] == "completed"
