"""Award on Postgres and Kafka with the real budget, registry and catalogue services: an approved (and from 100万
finance-approved) line, an eligible supplier at that moment, funds reserved — and nothing left reserved when
the budget or the registry refuses."""

from __future__ import annotations

import asyncio

from services.chassis.money import yuan_to_fen
from tests.service.contract.support import (
    World,
    assert_problem,
    credit_code,
    envelope,
    finalized,
    publish,
    wait_handled,
)
from tests.support.cluster import poll

SERVICES = ("contract", "budget", "registry", "catalogue")


async def _reserved(w: World, line_id: str) -> int:
    return yuan_to_fen((await w.budget_line(line_id))["reserved"])


async def test_award_reserves_funds_and_stores_the_eligibility_answer(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 先有预算、后购买服务; 002_88cf206893e82986.txt: 资质要好 — the registry's answer
    at award is stored on the contract."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("600000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code)
    assert draft["reservation_id"] is None and draft["eligibility"] is None
    async with c.probe("contract") as probe:
        awarded = await w.award_ok(draft)
        assert awarded["status"] == "awarded" and awarded["version"] == draft["version"] + 1
        assert awarded["eligibility"]["eligible"] is True
        assert awarded["eligibility"]["supplier_code"] == code and "reasons" in awarded["eligibility"]
        assert awarded["region"] == "changzhou" and awarded["policy"] == "changzhou@2024.1"
        assert await _reserved(w, line["line_id"]) == yuan_to_fen("600000.00")
        [ev] = await probe.wait_for("contract.awarded", lambda d: d["contract_id"] == draft["id"])
        assert ev.data["reservation_id"] == awarded["reservation_id"] and ev.data["amount"] == "600000.00"
        assert ev.data["supplier_code"] == code and ev.data["department"] == w.department
        assert ev.data["method"] == "public_tender" and ev.data["service_type"] == "property"
    # the same contract cannot be awarded twice (stale version, then wrong state): still one reservation
    r = await w.award(draft)
    assert_problem(r, 409, "contract.version.conflict", "version")
    r = await w.award(awarded)
    assert_problem(r, 409, "contract.state.invalid_transition")
    assert await _reserved(w, line["line_id"]) == yuan_to_fen("600000.00")


async def test_award_refused_by_registry_leaves_nothing_reserved(cluster) -> None:
    """002_88cf206893e82986.txt: 不具备履约能力……严格落实"一票否决" — an unqualified supplier is refused at award."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("300000.00")
    unqualified = await w.supplier_code(qualified=False)
    draft = await w.draft_ok(line, unqualified, method="designated")
    r = await w.award(draft)
    body = assert_problem(r, 422, "contract.supplier.ineligible", "supplier_code")
    assert body["reasons"] and all("code" in x for x in body["reasons"])
    assert await _reserved(w, line["line_id"]) == 0
    after = await w.get(draft["id"])
    assert after["status"] == "draft" and after["version"] == draft["version"] and after["reservation_id"] is None

    unknown = await w.draft_ok(line, credit_code(), method="designated")  # valid, never registered
    body = assert_problem(await w.award(unknown), 422, "contract.supplier.ineligible", "supplier_code")
    assert body["reasons"]
    assert await _reserved(w, line["line_id"]) == 0


async def test_award_refused_by_budget_leaves_nothing_reserved(cluster) -> None:
    """004_31a27ecd68c2f343.txt: funds are never over-committed — a reservation above what is left is refused."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("400000.00")
    code = await w.supplier_code()
    too_big = await w.draft_ok(line, code, amount="400000.01", method="designated")
    r = await w.award(too_big)
    body = assert_problem(r, 422, "budget.funds.insufficient")
    assert body.get("service") == "budget"
    assert await _reserved(w, line["line_id"]) == 0
    assert (await w.get(too_big["id"]))["status"] == "draft"
    # the rest of the line still serves a contract that fits
    fits = await w.draft_ok(line, code, amount="400000.00", method="designated")
    await w.award_ok(fits)
    assert await _reserved(w, line["line_id"]) == yuan_to_fen("400000.00")
    again = await w.draft_ok(line, code, amount="0.01", method="price_comparison")
    assert_problem(await w.award(again), 422, "budget.funds.insufficient")
    assert await _reserved(w, line["line_id"]) == yuan_to_fen("400000.00")


async def test_line_must_be_approved_and_finance_approved_from_100_wan(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 预算金额在100万元(含)以上……经市财政局批准后,方可开展采购活动."""
    c = await cluster(*SERVICES)
    w = World(c)
    code = await w.supplier_code()
    unapproved = await w.line("200000.00", approve=False)
    draft = await w.draft_ok(unapproved, code, amount="200000.00", method="designated")
    body = assert_problem(await w.award(draft), 422, "contract.line.not_approved", "line_id")
    assert body["line_status"] == "draft"
    assert await _reserved(w, unapproved["line_id"]) == 0

    big = await w.line("1000000.00", finance_approve=False)
    assert big["status"] == "approved" and big["finance_approved"] is False
    draft = await w.draft_ok(big, code, amount="1000000.00")
    assert_problem(await w.award(draft), 422, "contract.line.finance_approval_missing", "line_id")
    assert await _reserved(w, big["line_id"]) == 0

    approved = await w.line("1000000.00")
    assert approved["finance_approved"] is True
    draft = await w.draft_ok(approved, code, amount="1000000.00")
    await w.award_ok(draft)
    assert await _reserved(w, approved["line_id"]) == yuan_to_fen("1000000.00")


async def test_single_source_renewal_needs_the_registry_to_say_the_last_cycle_qualifies(cluster) -> None:
    """002_88cf206893e82986.txt: 对50万元以上的服务项目……第一次公开招标、后续单一来源采购 — only after a good
    last cycle; the registry answers `single_source_renewal`. A refusal reserves nothing."""
    c = await cluster(*SERVICES)
    w = World(c)
    code = await w.supplier_code()
    first_line = await w.line("600000.00")
    first = await w.award_ok(await w.draft_ok(first_line, code))
    # single source is not a first-cycle method from 50万
    r = await w.draft(first_line, code, method="single_source")
    assert_problem(r, 422, "contract.method.outside_policy", "method")

    line = await w.line("800000.00")
    draft = await w.draft_ok(line, code, amount="800000.00", method="single_source", renewal_of=first["id"],
                             starts_on="2026-01-01", ends_on="2026-12-31")
    assert draft["method_decision"]["needs_renewal_confirmation"] is True
    assert draft["method_outside_policy"] is False
    # the registry has no qualifying last cycle for this supplier: refused, nothing reserved
    body = assert_problem(await w.award(draft), 422, "contract.method.single_source_not_qualified", "method")
    assert "single_source_renewal = false" in body["detail"]
    assert await _reserved(w, line["line_id"]) == 0
    # a renewal by single source must go to the incumbent
    other = await w.supplier_code()
    assert_problem(await w.draft(line, other, amount="800000.00", method="single_source", renewal_of=first["id"]),
                   422, "contract.renewal_of.other_supplier", "supplier_code")
    # public tender remains open for the renewal
    tender = await w.draft_ok(line, other, amount="800000.00", renewal_of=first["id"])
    await w.award_ok(tender)


async def test_concurrent_awards_of_one_contract_reserve_once(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code)
    results = await asyncio.gather(w.award(draft), w.award(draft))
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    assert await _reserved(w, line["line_id"]) == yuan_to_fen("500000.00")


async def test_award_replayed_with_the_same_key_acts_once(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    draft = await w.draft_ok(line, await w.supplier_code())
    headers = w.purchaser(idempotency_key="award-once")
    r1 = await w.api.post(f"/contracts/{draft['id']}/award", json={"version": draft["version"]}, headers=headers)
    r2 = await w.api.post(f"/contracts/{draft['id']}/award", json={"version": draft["version"]}, headers=headers)
    assert r1.status_code == r2.status_code == 200 and r2.headers.get("idempotent-replayed") == "true"
    assert r1.json()["reservation_id"] == r2.json()["reservation_id"]
    assert await _reserved(w, line["line_id"]) == yuan_to_fen("500000.00")


async def test_only_the_purchaser_of_the_department_awards(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code)
    other = World(c)
    r = await c.clients["contract"].post(f"/contracts/{draft['id']}/award", json={"version": 1},
                                         headers=other.purchaser())
    assert_problem(r, 404, "contract.not_found")
    r = await c.clients["contract"].post(f"/contracts/{draft['id']}/award", json={"version": 1},
                                         headers=w.supplier(code))
    assert_problem(r, 403, "auth.role.forbidden")
    r = await c.clients["contract"].post(f"/contracts/{draft['id']}/award", json={"version": 1},
                                         headers=c.auth("auditor"))
    assert_problem(r, 403, "auth.role.forbidden")
    assert await _reserved(w, line["line_id"]) == 0


async def test_single_source_renewal_awarded_after_a_good_last_cycle(cluster) -> None:
    """002_88cf206893e82986.txt: 依据上一合同周期内服务质量、满意度测评、综合考核等情况……确定采用单一来源 — the last
    cycle's assessments reach the registry (and settle here); then the registry says the renewal qualifies."""
    c = await cluster(*SERVICES)
    w = World(c)
    code = await w.supplier_code()
    first = await w.signed("800000.00", schedule="quarterly", supplier=code)
    events = [envelope(finalized(first, f"2025-Q{q}", "优秀", index=q, score="95")) for q in range(1, 5)]
    await publish(c, *events)
    await wait_handled(c, *events)

    async def qualifies() -> bool:
        r = await c.clients["registry"].get(
            f"/suppliers/{code}/eligibility", params={"service_type": "property", "method": "single_source"},
            headers=w.purchaser(idempotency_key=False))
        return bool(r.status_code == 200 and r.json()["single_source_renewal"])

    await poll(qualifies, message="the registry sees a qualifying last cycle")
    line = await w.line("800000.00")
    draft = await w.draft_ok(line, code, amount="800000.00", method="single_source", renewal_of=first["id"],
                             starts_on="2026-01-01", ends_on="2026-12-31", schedule="quarterly")
    awarded = await w.award_ok(draft)
    assert awarded["eligibility"]["single_source_renewal"] is True
    assert awarded["method_decision"]["within_policy"] is True and awarded["method_outside_policy"] is False
    assert "confirms" in awarded["method_decision"]["reasons"][0]
    assert await _reserved(w, line["line_id"]) == yuan_to_fen("800000.00")
