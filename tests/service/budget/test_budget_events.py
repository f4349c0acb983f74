"""Consumed events have their effect once, also when delivered twice: settlements become payments,
terminations release, assessments attach to the line (and start the evaluation filing), catalogue
withdrawals flag lines, signatures start the contract-copy filing clock."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services.events.assessment import AssessmentFinalized
from services.events.catalogue import CatalogueItemWithdrawn
from services.events.contract import (
    ContractCompleted,
    ContractSettlementApproved,
    ContractSigned,
    ContractTerminated,
)
from tests.service.budget.helpers import (
    Dept,
    approved_line,
    catalogue_for,
    create_line,
    deliver,
    envelope,
    publish,
    uid,
)
from tests.support.cluster import poll


async def _reserved(d: Dept, line_id: str, amount: str) -> tuple[str, str]:
    rid, cid = uid("res-"), uid("ctr-")
    r = await d.c.clients["budget"].post(f"/lines/{line_id}/reservations",
                                         json={"reservation_id": rid, "amount": amount, "contract_id": cid},
                                         headers=d.c.auth("service", org="contract"))
    assert r.status_code == 201, r.text
    return rid, cid


def _settlement(line_id: str, rid: str, cid: str, amount: str, period: str = "2025-01") -> ContractSettlementApproved:
    return ContractSettlementApproved(
        contract_id=cid, settlement_id=uid("stl-"), line_id=line_id, reservation_id=rid, supplier_code="91610000X",
        period=period, grade="合格", instalment=amount, factor_percent="100", amount=amount, withheld="0.00",
        assessment_id=uid("asm-"), policy="national@2020.1")


def _signed(line_id: str, cid: str, signed_on: date, amount: str) -> ContractSigned:
    return ContractSigned(contract_id=cid, supplier_code="91610000X", line_id=line_id, signed_on=signed_on,
                          starts_on=signed_on, ends_on=signed_on + timedelta(days=364), amount=amount)


def _finalized(line_id: str | None, cid: str, *, score: str = "92.5", grade: str = "优秀",
               period: str = "2025-H1") -> AssessmentFinalized:
    return AssessmentFinalized(assessment_id=uid("asm-"), contract_id=cid, supplier_code="91610000X",
                               service_type="property", department="D", line_id=line_id, period=period,
                               period_index=1, score=Decimal(score), grade=grade, failing=grade == "不合格",
                               policy="national@2020.1")


async def test_settlement_recorded_once_when_delivered_twice(cluster) -> None:
    """DESIGN flow 1: contract.settlement.approved → the payment is recorded → budget.payment.recorded."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="600000.00")
    lid = line["line_id"]
    rid, cid = await _reserved(d, lid, "480000.00")
    env = envelope(_settlement(lid, rid, cid, "40000.00"), "contract")
    async with c.probe("budget") as probe:
        await deliver(c, env, times=2)
        r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
        assert (r.json()["reserved"], r.json()["paid"], r.json()["available"]) == ("440000.00", "40000.00",
                                                                                   "120000.00")
        [ev] = await probe.wait_for("budget.payment.recorded", lambda e: e["reservation_id"] == rid)
        assert ev.data["amount"] == "40000.00" and ev.data["paid_total"] == "40000.00"
        assert ev.data["settlement_id"] == env.data["settlement_id"]
        await probe.settle(0.5)
        assert len(probe.matching("budget.payment.recorded", lambda e: e["reservation_id"] == rid)) == 1


async def test_redelivery_over_kafka_changes_nothing(cluster) -> None:
    """The same settlement published twice on the real broker, then a signature for the same contract (same
    partition, so it is handled after both copies): one payment."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="300000.00")
    lid = line["line_id"]
    rid, cid = await _reserved(d, lid, "300000.00")
    settle = envelope(_settlement(lid, rid, cid, "25000.00"), "contract")
    signed = envelope(_signed(lid, cid, date(2025, 2, 1), "300000.00"), "contract")
    await publish(c, settle, settle, signed)

    async def purchased() -> bool:
        r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
        return r.json()["purchased_on"] == "2025-02-01"

    await poll(purchased, timeout=30, message="contract.signed not handled")
    r = await b.get(f"/lines/{lid}/ledger", headers=c.auth("auditor"))
    assert r.json()["paid"] == "25000.00"
    assert [e["kind"] for e in r.json()["entries"]] == ["reserve", "payment"]


async def test_termination_releases_once(cluster) -> None:
    """DESIGN flow 5: contract.terminated → the unspent reservation is released (budget.funds.released)."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="200000.00")
    lid = line["line_id"]
    rid, cid = await _reserved(d, lid, "150000.00")
    await deliver(c, envelope(_settlement(lid, rid, cid, "50000.00"), "contract"), times=1)
    term = envelope(ContractTerminated(contract_id=cid, line_id=lid, reservation_id=rid, supplier_code="91610000X",
                                       reason="承接主体列入黑名单", terminated_on=date(2025, 6, 30)), "contract")
    async with c.probe("budget") as probe:
        await deliver(c, term, times=2)
        [ev] = await probe.wait_for("budget.funds.released", lambda e: e["reservation_id"] == rid)
        assert ev.data["amount"] == "100000.00"
        assert "承接主体列入黑名单" in ev.data["reason"]
        await probe.settle(0.5)
        assert len(probe.matching("budget.funds.released", lambda e: e["reservation_id"] == rid)) == 1
    r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
    assert (r.json()["reserved"], r.json()["paid"], r.json()["available"]) == ("0.00", "50000.00", "150000.00")
    r = await b.get(f"/reservations/{rid}", headers=c.auth("auditor"))
    assert r.json()["status"] == "released" and r.json()["outstanding"] == "0.00"


async def test_completion_returns_what_was_withheld_once(cluster) -> None:
    """contract.completed → what the reservation still holds after the last settlement (an instalment cut for a
    poor grade) goes back to the line, once; what was paid stays paid (004_31a27ecd68c2f343.txt: 结余资金)."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="200000.00")
    lid = line["line_id"]
    rid, cid = await _reserved(d, lid, "120000.00")
    await deliver(c, envelope(_settlement(lid, rid, cid, "60000.00"), "contract"), times=1)
    await deliver(c, envelope(_settlement(lid, rid, cid, "54000.00", period="2025-H2"), "contract"), times=1)
    done = envelope(ContractCompleted(contract_id=cid, line_id=lid, reservation_id=rid, supplier_code="91610000X",
                                      completed_on=date(2025, 12, 31), settled_total=114_000_00), "contract")
    async with c.probe("budget") as probe:
        await deliver(c, done, times=2)
        [ev] = await probe.wait_for("budget.funds.released", lambda e: e["reservation_id"] == rid)
        assert ev.data["amount"] == "6000.00"
        assert "completed" in ev.data["reason"]
        await probe.settle(0.5)
        assert len(probe.matching("budget.funds.released", lambda e: e["reservation_id"] == rid)) == 1
    r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
    assert (r.json()["reserved"], r.json()["paid"], r.json()["available"]) == ("0.00", "114000.00", "86000.00")


async def test_assessment_attached_once_and_shown_next_year(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 以绩效评价结果作为…预算安排…的重要依据 — the result is attached to the line
    and shown on next year's line of the same item."""
    c = await cluster("budget", "catalogue")
    dept, region, year = uid("D"), uid("R"), 2025
    d = await catalogue_for(c, year=year, department=dept, region=region)
    b = c.clients["budget"]
    line = await approved_line(d, amount="400000.00")
    lid = line["line_id"]
    _, cid = await _reserved(d, lid, "400000.00")
    # line_id left out: the line is found through the contract's reservation
    first = envelope(_finalized(None, cid, score="92.5", grade="优秀", period="2025-H1"), "assessment")
    second = envelope(_finalized(lid, cid, score="55", grade="不合格", period="2025-H2"), "assessment")
    await deliver(c, first, times=2)
    await deliver(c, second, times=2)
    r = await b.get(f"/lines/{lid}", headers=d.purchaser(idempotency_key=False))
    results = r.json()["results"]
    assert [(x["period"], x["grade"], x["score"]) for x in results] == [("2025-H1", "优秀", "92.5"),
                                                                         ("2025-H2", "不合格", "55")]
    d2 = await catalogue_for(c, year=year + 1, department=dept, region=region)
    nxt = await create_line(d2)
    r = await b.get(f"/lines/{nxt['line_id']}", headers=d2.purchaser(idempotency_key=False))
    prior = r.json()["prior_results"]
    assert prior == {"fiscal_year": year, "count": 2, "average_score": "73.75", "failing": 1,
                     "grades": {"优秀": 1, "不合格": 1}}


async def test_withdrawn_item_flags_lines(cluster) -> None:
    """DESIGN flow 5: the catalogue withdraws an item in an in-year adjustment (catalogue.item.withdrawn over
    Kafka) → the department's lines of that year using it are flagged, and no new reservation is made on them."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c, items=[("PROP-01", "机关办公区物业管理服务", "property"),
                                      ("CATER-01", "机关食堂餐饮服务", "catering")])
    b = c.clients["budget"]
    flagged = await approved_line(d, amount="300000.00")
    kept = await approved_line(d, amount="300000.00", item_code="CATER-01")
    cat = c.clients["catalogue"]
    r = await cat.post(f"/catalogues/{d.catalogue_id}/adjustments", json={"reason": "年中调整"}, headers=d.purchaser())
    assert r.status_code == 201, r.text
    r = await cat.post(f"/catalogues/{d.catalogue_id}/items/PROP-01/withdraw",
                       json={"revision": r.json()["version"]["revision"], "reason": "改由机关事务中心统一购买"},
                       headers=d.purchaser(idempotency_key=False))
    assert r.status_code == 200, r.text
    r = await cat.post(f"/catalogues/{d.catalogue_id}/issue", headers=d.finance(idempotency_key=False),
                       json={"revision": r.json()["version"]["revision"]})
    assert r.status_code == 200, r.text

    async def is_flagged() -> dict | None:
        r = await b.get(f"/lines/{flagged['line_id']}", headers=c.auth("auditor"))
        return r.json() if r.json()["item_withdrawn"] else None

    line = await poll(is_flagged, timeout=30, message="catalogue.item.withdrawn not handled")
    assert [f["code"] for f in line["flags"]] == ["catalogue.item.withdrawn"]
    assert line["flags"][0]["reason"] == "改由机关事务中心统一购买"
    r = await b.get(f"/lines/{kept['line_id']}", headers=c.auth("auditor"))
    assert r.json()["item_withdrawn"] is False
    r = await b.post(f"/lines/{flagged['line_id']}/reservations", json={"reservation_id": uid(), "amount": "1.00"},
                     headers=c.auth("service"))
    assert r.status_code == 422
    assert r.json()["code"] == "budget.line.item_withdrawn"
    r = await b.get("/lines", params={"flagged": "true", "department": d.code}, headers=d.purchaser())
    assert [x["line_id"] for x in r.json()["items"]] == [flagged["line_id"]]

    # delivered again by hand (twice): still one flag
    again = envelope(CatalogueItemWithdrawn(catalogue_id=d.catalogue_id, department=d.code, fiscal_year=d.year,
                                            version=3, item_code="PROP-01", reason="重复投递"), "catalogue")
    await deliver(c, again, times=2)
    r = await b.get(f"/lines/{flagged['line_id']}", headers=c.auth("auditor"))
    assert [f["reason"] for f in r.json()["flags"]] == ["改由机关事务中心统一购买", "重复投递"]


async def test_filing_duties_from_500_wan(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 500万元(含)以上 — the contract copy within 15 days of purchase, the evaluation
    report with the ex-ante assessment after evaluation; what is late shows on the overdue list."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    big = await approved_line(d, amount="6000000.00", ex_ante="事前绩效评估报告 EA-600")
    small = await approved_line(d, amount="400000.00")
    lid = big["line_id"]
    assert big["filing_required"] is True
    _, cid = await _reserved(d, lid, "6000000.00")
    await deliver(c, envelope(_signed(lid, cid, date(2025, 3, 1), "6000000.00"), "contract"), times=2)
    await deliver(c, envelope(_signed(small["line_id"], uid("ctr-"), date(2025, 3, 1), "400000.00"), "contract"))
    fin = d.finance(idempotency_key=False)
    r = await b.get("/filings", params={"line_id": lid}, headers=fin)
    [duty] = r.json()["items"]
    assert (duty["kind"], duty["started_on"], duty["due_on"]) == ("contract_copy", "2025-03-01", "2025-03-16")
    r = await b.get("/filings", params={"department": d.code}, headers=fin)
    assert r.json()["total"] == 1  # the 40万 line has none

    r = await b.get("/filings", params={"overdue": "true", "as_of": "2025-03-16", "department": d.code},
                    headers=fin)
    assert r.json()["total"] == 0
    r = await b.get("/filings", params={"overdue": "true", "as_of": "2025-03-20", "department": d.code},
                    headers=fin)
    [late] = r.json()["items"]
    assert late["overdue"] is True and late["days_overdue"] == 4
    r = await b.get("/filings/overdue", params={"as_of": "2025-03-20"}, headers=d.purchaser(idempotency_key=False))
    assert [x["filing_id"] for x in r.json()["items"]] == [duty["filing_id"]]
    r = await b.get("/filings/overdue", params={"as_of": "2025-03-20"}, headers=c.auth("finance", region=uid("R")))
    assert r.json()["total"] == 0  # another region's finance does not see it

    r = await b.post(f"/filings/{duty['filing_id']}/file", json={"document": "合同副本 HT-2025-001"},
                     headers=d.purchaser(idempotency_key=False))
    assert r.status_code == 200, r.text
    assert r.json()["late"] is True  # filed today, long after 2025-03-16
    r = await b.post(f"/filings/{duty['filing_id']}/file", json={"document": "again"},
                     headers=d.purchaser(idempotency_key=False))
    assert r.status_code == 409

    # after the evaluation: the report, with the ex-ante assessment
    await deliver(c, envelope(_finalized(lid, cid), "assessment"), times=2)
    r = await b.get("/filings", params={"line_id": lid, "kind": "evaluation_report"}, headers=fin)
    [report] = r.json()["items"]
    assert report["due_on"] == (date.fromisoformat(report["started_on"]) + timedelta(days=30)).isoformat()
    r = await b.post(f"/filings/{report['filing_id']}/file", json={"document": "绩效评价报告 PJ-2025"},
                     headers=d.purchaser(idempotency_key=False))
    assert r.status_code == 200, r.text
    assert r.json()["ex_ante_assessment"] == "事前绩效评估报告 EA-600"
    assert r.json()["late"] is False
