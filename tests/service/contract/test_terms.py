"""Drafting a contract through the API: the purchase method against policy (with justification and finance
review), the term, the settlement schedule, the assessment plan; bad input refused with field and rule; scope."""

from __future__ import annotations

from typing import Any

import httpx

from services.chassis.money import yuan_to_fen
from tests.service.contract.support import World, assert_problem, contract_body

SERVICES = ("contract", "budget", "registry", "catalogue")


async def test_draft_holds_every_term_and_the_schedule_adds_up(cluster) -> None:
    """003_69f6a15399988e6e.txt: 明确后勤服务的内容期限、数量质量、计价方式、价格和结算方式、
    双方的权利义务和违约责任."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code, amount="333333.33", schedule="quarterly", method="designated")
    for key in ("content", "quantity_standard", "quality_standard", "pricing_method", "rights_obligations",
                "liability"):
        assert draft[key], key
    assert draft["amount"] == "333333.33" and draft["term_months"] == 12 and draft["long_term"] is False
    assert [i["period"] for i in draft["instalments"]] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert [i["amount"] for i in draft["instalments"]] == ["83333.34", "83333.33", "83333.33", "83333.33"]
    assert sum(yuan_to_fen(i["amount"]) for i in draft["instalments"]) == yuan_to_fen("333333.33")
    assert draft["payment_rule"]["factors"] == {"优秀": "100", "良好": "100", "合格": "90", "不合格": "70"}
    assert draft["payment_rule"]["reward_percent"] == "10" and draft["payment_rule"]["policy"] == "changzhou@2024.1"
    assert draft["assessment_plan"]["frequency"] == "quarterly"
    assert draft["method_decision"]["within_policy"] is True and draft["review_status"] is None
    assert draft["service_type"] == "property" and draft["department"] == w.department


async def test_method_outside_policy_needs_justification_and_is_listed_for_finance_review(cluster) -> None:
    """002_88cf206893e82986.txt: under 50万 public tender or designated — another method needs a recorded
    justification and goes to finance for review."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("300000.00")
    code = await w.supplier_code()
    body = assert_problem(await w.draft(line, code, method="competitive_consultation"), 422,
                          "contract.method.outside_policy", "method")
    assert body["allowed"] == ["public_tender", "designated"] and "changzhou@2024.1" in body["rule"]
    draft = await w.draft_ok(line, code, method="competitive_consultation",
                             method_justification="两次公开招标均因投标人不足三家而流标,经财政部门同意改为竞争性磋商")
    assert draft["method_outside_policy"] is True and draft["review_status"] == "pending"

    r = await w.api.get("/reviews", headers=w.finance(idempotency_key=False))
    assert r.status_code == 200, r.text
    assert draft["id"] in [x["id"] for x in r.json()["items"]]
    assert_problem(await w.api.get("/reviews", headers=w.purchaser(idempotency_key=False)), 403,
                   "auth.role.forbidden")
    r = await w.api.post(f"/contracts/{draft['id']}/review",
                         json={"version": draft["version"], "decision": "rejected", "note": "理由不充分"},
                         headers=w.finance())
    assert r.status_code == 200 and r.json()["review_status"] == "rejected", r.text
    assert_problem(await w.award(r.json()), 422, "contract.review.rejected", "method")
    assert yuan_to_fen((await w.budget_line(line["line_id"]))["reserved"]) == 0

    accepted = await w.draft_ok(line, code, method="competitive_consultation",
                                method_justification="两次公开招标均流标,经财政部门同意改为竞争性磋商")
    r = await w.api.post(f"/contracts/{accepted['id']}/review",
                         json={"version": accepted["version"], "decision": "accepted", "note": "同意"},
                         headers=w.finance())
    assert r.status_code == 200, r.text
    assert (await w.award_ok(r.json()))["status"] == "awarded"


async def test_micro_amounts_by_price_comparison(cluster) -> None:
    """002_88cf206893e82986.txt: 对于部分"微"服务项目……进行比价采购."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("40000.00")
    code = await w.supplier_code()
    assert_problem(await w.draft(line, code, amount="40000.00"), 422, "contract.method.outside_policy", "method")
    draft = await w.draft_ok(line, code, amount="40000.00", method="price_comparison")
    assert draft["method_decision"]["allowed"] == ["price_comparison"]


async def test_term_one_year_or_three_for_a_continuous_service_flagged(cluster) -> None:
    """003_69f6a15399988e6e.txt: 时间周期为1年; DESIGN.md: up to three years only for stable, continuous services."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("900000.00")
    code = await w.supplier_code()
    assert_problem(await w.draft(line, code, ends_on="2026-01-01"), 422, "contract.term.too_long", "ends_on")
    assert_problem(await w.draft(line, code, ends_on="2027-12-31", continuous_service=True), 422,
                   "contract.term.basis_required", "continuous_basis")
    assert_problem(await w.draft(line, code, ends_on="2028-01-31", continuous_service=True,
                                 continuous_basis="长期稳定的物业服务,纳入中期财政规划"), 422,
                   "contract.term.too_long", "ends_on")
    long = await w.draft_ok(line, code, ends_on="2027-12-31", continuous_service=True, schedule="yearly",
                            continuous_basis="行政中心物业服务长期稳定、持续,三年预算已纳入中期财政规划")
    assert long["long_term"] is True and long["term_months"] == 36 and long["review_status"] == "pending"
    assert [i["period"] for i in long["instalments"]] == ["2025", "2026", "2027"]
    assert [i["amount"] for i in long["instalments"]] == ["300000.00"] * 3
    assert_problem(await w.draft(line, code, starts_on="2025-06-01", ends_on="2025-05-31"), 422,
                   "contract.term.ends_before_start", "ends_on")


async def test_bad_input_is_refused_with_field_and_rule_and_nothing_written(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    code = await w.supplier_code()
    body = contract_body(line, code)
    cases = [
        ({**body, "amount": 500000.0}, "amount"),
        ({**body, "amount": "500000.001"}, "amount"),
        ({**body, "supplier_code": "91320411000000000X"}, "supplier_code"),
        ({**body, "schedule": "weekly"}, "schedule"),
        ({**body, "starts_on": "2025-02-30"}, "starts_on"),
        ({**body, "content": "  "}, "content"),
        ({**body, "unknown": 1}, "unknown"),
        ({k: v for k, v in body.items() if k != "liability"}, "liability"),
    ]
    for payload, field in cases:
        r = await w.api.post("/contracts", json=payload, headers=w.purchaser())
        assert_problem(r, 422, "request.invalid", field)
    assert_problem(await w.draft(line, code, amount="0.00"), 422, "contract.amount.not_positive", "amount")
    assert_problem(await w.draft(line, code, method="auction"), 422, "contract.method.unknown", "method")
    assert_problem(await w.draft({"line_id": "no-such-line"}, code), 422, "contract.line.unknown", "line_id")
    assert_problem(await w.draft(line, code, schedule="monthly",
                                 assessment_plan={"frequency": "quarterly"}), 422,
                   "contract.assessment_plan.frequency_mismatch", "assessment_plan.frequency")
    assert_problem(await w.draft(line, code, renewal_of="no-such-contract"), 422, "contract.renewal_of.unknown",
                   "renewal_of")
    r = await w.api.post("/contracts", json=body, headers={**w.purchaser(), "Idempotency-Key": ""})
    assert_problem(r, 400, "request.idempotency_key.missing", "Idempotency-Key")
    listed = await w.api.get("/contracts", headers=w.purchaser(idempotency_key=False))
    assert listed.json()["total"] == 0  # nothing half-written
    # another department's line is not ours
    other = World(c)
    assert_problem(await other.draft(line, code), 422, "contract.line.unknown", "line_id")


async def test_idempotent_create(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    body = contract_body(line, await w.supplier_code())
    headers = w.purchaser(idempotency_key="draft-1")
    r1 = await w.api.post("/contracts", json=body, headers=headers)
    r2 = await w.api.post("/contracts", json=body, headers=headers)
    assert r1.status_code == r2.status_code == 201 and r1.json()["id"] == r2.json()["id"]
    r3 = await w.api.post("/contracts", json={**body, "title": "另一个"}, headers=headers)
    assert_problem(r3, 409, "request.idempotency_key.reused")
    assert (await w.api.get("/contracts", headers=w.purchaser(idempotency_key=False))).json()["total"] == 1


async def test_scope_purchaser_supplier_finance_auditor(cluster) -> None:
    """CONTRIBUTING.md roles: purchaser its department, supplier its own contracts, finance its region, auditor
    reads everything and writes nothing; another organisation's record answers 404."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code)
    url = f"/contracts/{draft['id']}"
    other = World(c)
    assert_problem(await w.api.get(url, headers=other.purchaser(idempotency_key=False)), 404, "contract.not_found")
    assert_problem(await w.api.get(url, headers=w.supplier(code, idempotency_key=False)), 404, "contract.not_found")
    assert (await w.api.get(url, headers=c.auth("auditor", idempotency_key=False))).status_code == 200
    assert (await w.api.get(url, headers=w.finance(idempotency_key=False))).status_code == 200
    elsewhere = c.auth("finance", org="ZZCZ", region="zhengzhou", idempotency_key=False)
    assert_problem(await w.api.get(url, headers=elsewhere), 404, "contract.not_found")
    assert_problem(await w.api.get(url), 401, "auth.required")
    r = await w.api.post("/contracts", json=contract_body(line, code), headers=c.auth("auditor"))
    assert_problem(r, 403, "auth.role.forbidden")
    awarded = await w.award_ok(draft)
    r = await w.api.get(url, headers=w.supplier(code, idempotency_key=False))
    assert r.status_code == 200 and r.json()["status"] == "awarded"
    mine = await w.api.get("/contracts", headers=w.supplier(code, idempotency_key=False))
    assert [x["id"] for x in mine.json()["items"]] == [awarded["id"]]
    stranger = await w.api.get("/contracts", headers=w.supplier(await w.supplier_code(), idempotency_key=False))
    assert stranger.json()["total"] == 0
    page = await w.api.get("/contracts", params={"limit": 201}, headers=w.purchaser(idempotency_key=False))
    assert_problem(page, 422, "request.invalid", "limit")


async def test_a_draft_is_revised_whole_until_it_is_awarded(cluster) -> None:
    """003_69f6a15399988e6e.txt: the terms (期限、数量质量、计价方式、价格和结算方式) are settled before the award;
    a draft is revised whole and checked as a new one (schedule rebuilt); a bad revision changes nothing; after
    the award only a signed amendment changes terms."""
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("500000.00")
    code = await w.supplier_code()
    draft = await w.draft_ok(line, code, amount="480000.00", schedule="monthly")

    async def put(body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return await w.api.put(f"/contracts/{draft['id']}", json=body, headers=headers or w.purchaser())

    revised = contract_body(line, code, amount="400000.01", schedule="quarterly", version=draft["version"])
    r = await put(revised)
    assert r.status_code == 200, r.text
    now = r.json()
    assert (now["amount"], now["version"], now["status"]) == ("400000.01", draft["version"] + 1, "draft")
    assert [i["period"] for i in now["instalments"]] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert sum(yuan_to_fen(i["amount"]) for i in now["instalments"]) == yuan_to_fen("400000.01")

    assert_problem(await put(revised), 409, "contract.version.conflict", "version")
    bad = contract_body(line, code, amount="0.00", version=now["version"])
    assert_problem(await put(bad), 422, "contract.amount.not_positive", "amount")
    outside = contract_body(line, code, method="competitive_consultation", version=now["version"])
    assert_problem(await put(outside), 422, "contract.method.outside_policy", "method")
    assert (await w.get(draft["id"])) == now  # nothing half-written

    other = World(c)
    assert (await put({**revised, "version": now["version"]}, other.purchaser())).status_code == 404

    awarded = await w.award_ok(now)
    assert yuan_to_fen((await w.budget_line(line["line_id"]))["reserved"]) == yuan_to_fen("400000.01")
    late = contract_body(line, code, amount="450000.00", version=awarded["version"])
    assert_problem(await put(late), 409, "contract.not_draft", "version")
