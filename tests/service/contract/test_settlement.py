"""Performance-linked settlement (flow 1): assessment.finalized → the period's instalment × the grade's payment
factor, recorded once per period whatever the redelivery → contract.settlement.approved; payments confirmed →
contract.payment.made. Instalments and settlements add up to the fen."""

from __future__ import annotations

from typing import Any

from services.chassis.money import yuan_to_fen
from tests.service.contract.support import (
    World,
    assert_problem,
    envelope,
    finalized,
    publish,
    today,
    wait_handled,
)
from tests.support.cluster import poll

SERVICES = ("contract", "budget", "registry", "catalogue")


async def _settlements(w: World, contract_id: str) -> dict[str, Any]:
    r = await w.api.get(f"/contracts/{contract_id}/settlements", headers=w.purchaser(idempotency_key=False))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_settlement_once_per_period_under_redelivery(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 将政府购买服务项目绩效评价结果运用于项目资金的结算环节 — 合格 pays 90%, the rest
    withheld pending remediation; the same event delivered three times and a second assessment of the period
    settle once."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("100000.07", schedule="monthly")  # 12 × 8333.34/8333.33: the remainder first
    instalments = {i["period"]: i["amount"] for i in contract["instalments"]}
    assert sum(yuan_to_fen(a) for a in instalments.values()) == yuan_to_fen("100000.07")
    assert instalments["2025-01"] == "8333.34" and instalments["2025-12"] == "8333.33"

    first = envelope(finalized(contract, "2025-01", "合格", index=1))
    second_assessment = envelope(finalized(contract, "2025-01", "优秀", index=1))
    async with c.probe("contract") as probe:
        await publish(c, first, first, second_assessment, first)
        await wait_handled(c, first, second_assessment)
        [ev] = await probe.wait_for("contract.settlement.approved", lambda d: d["contract_id"] == contract["id"])
        await probe.settle(1.0)
        assert len(probe.matching("contract.settlement.approved", lambda d: d["contract_id"] == contract["id"])) == 1
    # 8333.34 × 90% = 7500.006 → 7500.01 (half-up to the fen); withheld 833.33 with its reason
    assert ev.data["period"] == "2025-01" and ev.data["grade"] == "合格" and ev.data["factor_percent"] == "90"
    assert ev.data["instalment"] == "8333.34" and ev.data["amount"] == "7500.01" and ev.data["withheld"] == "833.33"
    assert "remediation" in ev.data["withheld_reason"] and ev.data["reward"] == "0.00"
    assert ev.data["reservation_id"] == contract["reservation_id"] and ev.data["line_id"] == contract["line_id"]
    assert ev.data["assessment_id"] == first.data["assessment_id"] and ev.data["policy"] == "changzhou@2024.1"

    body = await _settlements(w, contract["id"])
    assert body["total"] == 1 and body["items"][0]["amount"] == "7500.01"
    after = await w.get(contract["id"])
    assert after["status"] == "performing"  # the first settled period starts performance
    assert [i["settled"] for i in after["instalments"]][:2] == [True, False]


async def test_a_year_of_settlements_adds_up_and_completes(cluster) -> None:
    """000_3596027388defe7e.txt: 定期考核 per quarter with payment linked to service quality;
    002_88cf206893e82986.txt: 优秀 earns the 10% reward in Changzhou. Every fen is either paid or withheld."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("1000000.03", schedule="quarterly")
    grades = {"2025-Q1": "优秀", "2025-Q2": "良好", "2025-Q3": "合格", "2025-Q4": "不合格"}
    await publish(c, *(envelope(finalized(contract, p, g, index=i + 1)) for i, (p, g) in enumerate(grades.items())))
    body = await poll(lambda: _all_settled(w, contract["id"], 4), message="four settlements")
    by = {s["period"]: s for s in body["items"]}
    assert by["2025-Q1"]["instalment"] == "250000.01" and by["2025-Q4"]["instalment"] == "250000.00"
    assert by["2025-Q1"]["reward"] == "25000.00" and by["2025-Q1"]["withheld"] == "0.00"  # 25000.001
    assert by["2025-Q3"]["amount"] == "225000.01" and by["2025-Q3"]["withheld"] == "25000.00"  # 225000.009
    assert by["2025-Q4"]["amount"] == "175000.00" and by["2025-Q4"]["withheld"] == "75000.00"
    assert by["2025-Q4"]["factor_percent"] == "70" and "不合格" in by["2025-Q4"]["withheld_reason"]
    total = yuan_to_fen(body["settled_amount"]) + yuan_to_fen(body["withheld_total"])
    assert total == yuan_to_fen("1000000.03") == yuan_to_fen(body["instalments_total"])
    assert sum(yuan_to_fen(s["amount"]) + yuan_to_fen(s["withheld"]) for s in body["items"]) == total

    performing = await w.get(contract["id"])
    async with c.probe("contract") as probe:
        r = await w.transition(performing, "complete")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed"
        # the budget returns what stays reserved (the withheld 100000.00) on this event
        [done] = await probe.wait_for("contract.completed", lambda e: e["contract_id"] == contract["id"])
        assert done.data["settled_total"] == body["settled_amount"]
        assert done.data["reservation_id"] == contract["reservation_id"]
    # a late assessment of an unknown period changes nothing
    late = envelope(finalized(contract, "2026-Q1", "优秀", index=5))
    await publish(c, late)
    await wait_handled(c, late)
    assert (await _settlements(w, contract["id"]))["total"] == 4


async def _all_settled(w: World, contract_id: str, n: int) -> dict[str, Any] | None:
    body = await _settlements(w, contract_id)
    return body if body["total"] >= n else None


async def test_complete_refused_until_every_period_is_settled(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00", schedule="half_yearly")
    r = await w.transition(contract, "start")
    assert r.status_code == 200, r.text
    body = assert_problem(await w.transition(r.json(), "complete"), 409, "contract.settlement.incomplete")
    assert body["missing"] == ["2025-H1", "2025-H2"]


async def test_payment_confirmation_emits_payment_made_and_budget_records_it(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 履约及支付 — a settled amount is paid once, against the reservation."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00", schedule="half_yearly")
    await publish(c, envelope(finalized(contract, "2025-H1", "合格", index=1)))
    body = await poll(lambda: _all_settled(w, contract["id"], 1), message="H1 settled")
    [s] = body["items"]
    assert s["amount"] == "270000.00" and s["withheld"] == "30000.00"
    # the budget records the approved settlement against the reservation (flow 1)
    paid = await poll(lambda: _line_paid(w, contract["line_id"]), message="budget recorded the payment")
    assert paid == "270000.00"

    url = f"/contracts/{contract['id']}/settlements/{s['id']}/payment"
    async with c.probe("contract") as probe:
        day = today().isoformat()
        assert_problem(await w.api.post(url, json={"paid_on": "2024-12-31", "reference": "x"}, headers=w.finance()),
                       422, "contract.payment.before_signature", "paid_on")
        r = await w.api.post(url, json={"paid_on": day, "reference": "国库集中支付 0710-01"}, headers=w.finance())
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "paid" and r.json()["paid_on"] == day
        [ev] = await probe.wait_for("contract.payment.made", lambda d: d["contract_id"] == contract["id"])
        assert ev.data["amount"] == "270000.00" and ev.data["settlement_id"] == s["id"]
    assert_problem(await w.api.post(url, json={"paid_on": day, "reference": "again"}, headers=w.finance()),
                   409, "contract.payment.already_made")
    # the supplier sees its settlements and the ledger shows the settlement and the payment
    r = await w.api.get(f"/contracts/{contract['id']}/settlements",
                        headers=w.supplier(contract["supplier_code"], idempotency_key=False))
    assert r.status_code == 200 and r.json()["paid_total"] == "270000.00"
    r = await w.api.get(f"/contracts/{contract['id']}/ledger", headers=w.purchaser(idempotency_key=False))
    kinds = [(e["kind"], e["amount"]) for e in r.json()["items"]]
    assert ("settlement", "270000.00") in kinds and ("payment", "270000.00") in kinds
    # a payment for another department's contract is not found
    other = World(c)
    assert_problem(await w.api.post(url, json={"paid_on": day, "reference": "x"}, headers=other.purchaser()),
                   404, "contract.not_found")


async def _line_paid(w: World, line_id: str) -> str | None:
    paid = (await w.budget_line(line_id))["paid"]
    return paid if yuan_to_fen(paid) > 0 else None


async def test_terminated_contract_is_not_settled_and_budget_releases(cluster) -> None:
    """DESIGN.md flow 5: contract.terminated → the budget releases the unspent reservation."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00", schedule="half_yearly")
    await publish(c, envelope(finalized(contract, "2025-H1", "良好", index=1)))
    await poll(lambda: _all_settled(w, contract["id"], 1), message="H1 settled")
    current = await w.get(contract["id"])
    assert_problem(await w.transition(current, "terminate"), 422, "contract.reason.required", "reason")
    async with c.probe("contract") as probe:
        r = await w.transition(current, "terminate", reason="服务质量持续不达标,经协商解除合同")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "terminated" and r.json()["terminated_on"]
        [ev] = await probe.wait_for("contract.terminated", lambda d: d["contract_id"] == contract["id"])
        assert ev.data["reservation_id"] == contract["reservation_id"] and "解除" in ev.data["reason"]

    async def released() -> dict[str, Any] | None:
        r = await c.clients["budget"].get(f"/reservations/{contract['reservation_id']}",
                                          headers=w.purchaser(idempotency_key=False))
        assert r.status_code == 200, r.text
        return r.json() if r.json()["outstanding"] == "0.00" else None

    reservation = await poll(released, message="the budget released the unspent reservation")
    assert reservation["paid"] == "300000.00" and reservation["released"] == "300000.00"
    h2 = envelope(finalized(contract, "2025-H2", "优秀", index=2))
    await publish(c, h2)
    await wait_handled(c, h2)
    body = await _settlements(w, contract["id"])
    assert body["total"] == 1 and body["settled_amount"] == "300000.00"
    r = await w.api.get(f"/contracts/{contract['id']}/history", headers=w.purchaser(idempotency_key=False))
    assert [t["to_status"] for t in r.json()["items"]] == ["draft", "awarded", "signed", "performing", "terminated"]


async def _line_paid_at_least(w: World, line_id: str, yuan: str) -> str | None:
    paid = (await w.budget_line(line_id))["paid"]
    return paid if yuan_to_fen(paid) >= yuan_to_fen(yuan) else None


async def test_a_verified_remediation_releases_what_was_withheld_and_the_budget_pays_it(cluster) -> None:
    """000_3596027388defe7e.txt: payment linked to service quality — a 合格 half-year pays 90% and withholds the
    rest pending remediation; once the purchaser verified the remediation (整改验收) the national rule releases
    all of it, once, and the budget records it against the reservation."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00", schedule="half_yearly")
    await publish(c, envelope(finalized(contract, "2025-H1", "合格", index=1)),
                  envelope(finalized(contract, "2025-H2", "优秀", index=2)))
    body = await poll(lambda: _all_settled(w, contract["id"], 2), message="both halves settled")
    h1, h2 = body["items"]
    assert h1["withheld"] == "30000.00" and h1["released"] == "0.00" and h2["withheld"] == "0.00"
    # H1 pays 270000.00, H2 300000.00; H2's reward (Changzhou: 10% for 优秀) is refused: the line has nothing
    # free, and the reservation backs the contract price, with what H1 withheld
    await poll(lambda: _line_paid_at_least(w, contract["line_id"], "570000.00"), message="settlements paid")
    line = await w.budget_line(contract["line_id"])
    assert [f["code"] for f in line["flags"]] == ["budget.funds.insufficient"], line["flags"]

    url = f"/contracts/{contract['id']}/settlements/{h1['id']}/remediation"
    day = today().isoformat()
    good = {"remediation": "保洁频次已按合同恢复,经复查验收合格", "verified_on": day}
    # refused, and nothing written: a short account, a date to come, the wrong role, a period with nothing withheld
    assert_problem(await w.api.post(url, json={**good, "remediation": "已整改"}, headers=w.purchaser()),
                   422, "contract.withheld.remediation_required", "remediation")
    assert_problem(await w.api.post(url, json={**good, "verified_on": "2999-01-01"}, headers=w.purchaser()),
                   422, "contract.withheld.verified_in_future", "verified_on")
    assert_problem(await w.api.post(url, json={**good, "verified_on": "not a date"}, headers=w.purchaser()),
                   422, "request.invalid", "verified_on")
    assert (await w.api.post(url, json=good, headers=w.finance())).status_code == 403
    assert_problem(await w.api.post(url.replace(h1["id"], h2["id"]), json=good, headers=w.purchaser()),
                   422, "contract.withheld.none", "settlement_id")
    assert (await _settlements(w, contract["id"]))["released_total"] == "0.00"

    async with c.probe("contract") as probe:
        r = await w.api.post(url, json=good, headers=w.purchaser())
        assert r.status_code == 201, r.text
        assert r.json()["released"] == "30000.00" and r.json()["remediation_verified_on"] == day
        [ev] = await probe.wait_for("contract.withheld.released", lambda d: d["contract_id"] == contract["id"])
    assert ev.data["settlement_id"] == h1["id"] and ev.data["release_id"] == r.json()["release_id"]
    assert (ev.data["withheld"], ev.data["amount"], ev.data["kept"]) == ("30000.00", "30000.00", "0.00")
    assert ev.data["release_percent"] == "100" and ev.data["reservation_id"] == contract["reservation_id"]
    # the budget records the released amount against the reservation: the whole contract price is paid
    assert await poll(lambda: _line_paid_at_least(w, contract["line_id"], "600000.00"),
                      message="budget recorded the release") == "600000.00"
    assert_problem(await w.api.post(url, json=good, headers=w.purchaser()), 409, "contract.withheld.already_released",
                   "settlement_id")
    body = await _settlements(w, contract["id"])
    assert body["released_total"] == "30000.00" and body["withheld_total"] == "30000.00"
    r = await w.api.get(f"/contracts/{contract['id']}/ledger", headers=w.purchaser(idempotency_key=False))
    assert ("release", "30000.00") in [(e["kind"], e["amount"]) for e in r.json()["items"]]


async def test_a_reward_is_paid_with_its_settlement(cluster) -> None:
    """002_88cf206893e82986.txt: 对于被评为先进单位和优秀单位的服务单位……上浮10% — the budget records the 优秀
    half-year's amount against the reservation and its reward, a payment of its own, out of what the line has
    free; the payment confirmed is both."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00", schedule="half_yearly", line_amount="700000.00")
    async with c.probe("budget") as probe:
        await publish(c, envelope(finalized(contract, "2025-H1", "优秀", index=1)))
        [h1] = (await poll(lambda: _all_settled(w, contract["id"], 1), message="H1 settled"))["items"]
        assert (h1["amount"], h1["reward"]) == ("300000.00", "30000.00")
        recorded = await probe.wait_for("budget.payment.recorded",
                                        lambda d: d.get("contract_id") == contract["id"], count=2)
    assert sorted((e.data["kind"], e.data["amount"]) for e in recorded) == [("reward", "30000.00"),
                                                                             ("settlement", "300000.00")]
    line = await w.budget_line(contract["line_id"])
    assert (line["paid"], line["reserved"], line["available"]) == ("330000.00", "300000.00", "70000.00"), line
    r = await c.clients["budget"].get(f"/reservations/{contract['reservation_id']}",
                                      headers=w.purchaser(idempotency_key=False))
    assert (r.json()["paid"], r.json()["outstanding"]) == ("300000.00", "300000.00"), r.json()
    async with c.probe("contract") as probe:
        r = await w.api.post(f"/contracts/{contract['id']}/settlements/{h1['id']}/payment",
                             json={"paid_on": today().isoformat(), "reference": "国库集中支付 H1"}, headers=w.finance())
        assert r.status_code == 201, r.text
        [ev] = await probe.wait_for("contract.payment.made", lambda d: d["contract_id"] == contract["id"])
    assert ev.data["amount"] == "330000.00"
    body = await _settlements(w, contract["id"])
    assert (body["paid_total"], body["reward_total"], body["settled_amount"]) == ("330000.00", "30000.00",
                                                                                  "300000.00")
