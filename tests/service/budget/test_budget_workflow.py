"""Budget lines through two-up-two-down on Postgres and Kafka, with the catalogue service answering
whether the item is purchasable; the refusals; roles and scope."""

from __future__ import annotations

from tests.service.budget.helpers import approved_line, catalogue_for, create_line, line_body, uid


async def test_two_up_two_down_with_control_figure(cluster) -> None:
    """004_31a27ecd68c2f343.txt: the purchase budget goes through 二上二下 (一上 request, 一下 control
    figure, 二上 within it, 二下 approval); budget first, with a catalogue item."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await create_line(d, amount="900000.00")
    assert line["status"] == "draft"
    assert line["service_type"] == "property"
    assert line["level1_class"] == "government_auxiliary"
    assert line["item_name"] == "机关办公区物业管理服务"
    assert line["catalogue_id"] == d.catalogue_id
    lid = line["line_id"]

    async with c.probe("budget") as probe:
        r = await b.post(f"/lines/{lid}/submit", json={"version": line["version"], "note": "一上"},
                         headers=d.purchaser())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted"
        r = await b.post(f"/lines/{lid}/control-figure", json={"amount": "750000.00", "note": "压减"},
                         headers=d.finance())
        assert r.status_code == 200, r.text
        assert r.json()["control_amount"] == "750000.00"
        # 二上 above the control figure is refused, naming the field and the rule
        r = await b.post(f"/lines/{lid}/resubmit", json={"amount": "750000.01"}, headers=d.purchaser())
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "budget.line.over_control_figure"
        assert r.json()["field"] == "amount"
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await b.post(f"/lines/{lid}/resubmit", json={"amount": "700000.00"}, headers=d.purchaser())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "resubmitted"
        r = await b.post(f"/lines/{lid}/approve", json={}, headers=d.finance())
        assert r.status_code == 200, r.text
        approved = r.json()
        assert approved["status"] == "approved"
        assert approved["approved_amount"] == "700000.00"
        assert approved["available"] == "700000.00"
        assert approved["finance_approval_required"] is False  # below 100万
        assert approved["filing_required"] is False
        assert approved["policy"] == "national@2020.1"
        [event] = await probe.wait_for("budget.line.approved", lambda e: e["line_id"] == lid)
        assert event.data["approved_amount"] == "700000.00"
        assert event.data["one_off"] is False
        assert event.partitionkey == lid

    r = await b.get(f"/lines/{lid}", headers=d.purchaser(idempotency_key=False))
    assert r.status_code == 200
    steps = [(s["label"], s["amount"]) for s in r.json()["steps"]]
    assert steps == [("一上", "900000.00"), ("一下", "750000.00"), ("二上", "700000.00"), ("二下", "700000.00")]


async def test_steps_out_of_order_and_rejection_with_reason(cluster) -> None:
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await create_line(d)
    lid = line["line_id"]
    r = await b.post(f"/lines/{lid}/approve", json={}, headers=d.finance())
    assert r.status_code == 409
    assert r.json()["code"] == "budget.line.wrong_state"
    r = await b.post(f"/lines/{lid}/submit", json={}, headers=d.purchaser())
    assert r.status_code == 200
    r = await b.post(f"/lines/{lid}/control-figure", json={"amount": "800000.01"}, headers=d.finance())
    assert r.status_code == 422
    assert r.json()["code"] == "budget.line.control_above_request"
    r = await b.post(f"/lines/{lid}/reject", json={"reason": " "}, headers=d.finance())
    assert r.status_code == 422
    assert r.json()["field"] == "reason"
    r = await b.post(f"/lines/{lid}/reject", json={"reason": "与部门职责不符"}, headers=d.finance())
    assert r.status_code == 200
    assert r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "与部门职责不符"
    r = await b.post(f"/lines/{lid}/resubmit", json={}, headers=d.purchaser())
    assert r.status_code == 409


async def test_one_off_item_is_flagged(cluster) -> None:
    """001_5078ddae3d782c1e.txt: 针对一些突发性的临时服务事项,通过一事一议的方式来处理."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await create_line(d, amount="60000.00", name="突发疫情消杀服务")
    lid = line["line_id"]
    r = await b.post(f"/lines/{lid}/submit", json={}, headers=d.purchaser())
    assert r.status_code == 200
    r = await b.post(f"/lines/{lid}/one-off-approval", json={"reason": ""}, headers=d.finance())
    assert r.status_code == 422
    r = await b.post(f"/lines/{lid}/one-off-approval", json={"reason": "突发公共卫生事件", "amount": "60000.01"},
                     headers=d.finance())
    assert r.status_code == 422
    async with c.probe("budget") as probe:
        r = await b.post(f"/lines/{lid}/one-off-approval", json={"reason": "突发公共卫生事件"}, headers=d.finance())
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "approved" and out["one_off"] is True
        assert out["one_off_reason"] == "突发公共卫生事件"
        [event] = await probe.wait_for("budget.line.approved", lambda e: e["line_id"] == lid)
        assert event.data["one_off"] is True


async def test_item_must_be_purchasable(cluster) -> None:
    """004_31a27ecd68c2f343.txt: budget first, and only for an item of the department's catalogue."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    r = await b.post("/lines", json=line_body(d, item_code="NOPE-99"), headers=d.purchaser())
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "budget.item.not_purchasable"
    assert r.json()["field"] == "item_code"
    assert r.json()["reasons"]
    # another year: that department has no catalogue
    r = await b.post("/lines", json=line_body(d, fiscal_year=d.year + 1), headers=d.purchaser())
    assert r.status_code == 422
    assert r.json()["code"] == "budget.item.not_purchasable"
    r = await b.get("/lines", params={"department": d.code}, headers=d.purchaser(idempotency_key=False))
    assert r.json()["total"] == 0  # nothing half-written


async def test_ex_ante_assessment_required_from_500_wan(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 500万元(含)以上 projects file the 事前绩效评估报告."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await create_line(d, amount="5000000.00")
    r = await b.post(f"/lines/{line['line_id']}/submit", json={}, headers=d.purchaser())
    assert r.status_code == 422
    assert r.json()["code"] == "budget.ex_ante_assessment.missing"
    assert r.json()["field"] == "ex_ante_assessment"
    r = await b.post(f"/lines/{line['line_id']}/submit", json={"ex_ante_assessment": "事前绩效评估报告 EA-01"},
                     headers=d.purchaser())
    assert r.status_code == 200, r.text
    assert r.json()["ex_ante_assessment"] == "事前绩效评估报告 EA-01"


async def test_thresholds_on_approval(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 100万元(含)以上 finance approval before purchase; 500万元(含)以上 filings."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    at100 = await approved_line(d, amount="1000000.00", finance_approve=False)
    assert at100["finance_approval_required"] is True
    assert at100["finance_approved"] is False
    assert at100["filing_required"] is False
    at500 = await approved_line(d, amount="5000000.00", ex_ante="EA-500", finance_approve=False)
    assert at500["finance_approval_required"] and at500["filing_required"]
    below = await approved_line(d, amount="999999.99")
    assert below["finance_approval_required"] is False
    b = c.clients["budget"]
    r = await b.post(f"/lines/{below['line_id']}/finance-approval", json={}, headers=d.finance())
    assert r.status_code == 422
    assert r.json()["code"] == "budget.finance_approval.not_required"
    r = await b.post(f"/lines/{at100['line_id']}/finance-approval", json={}, headers=d.purchaser())
    assert r.status_code == 403
    r = await b.post(f"/lines/{at100['line_id']}/finance-approval", json={"note": "同意采购"}, headers=d.finance())
    assert r.status_code == 200
    assert r.json()["finance_approved"] is True
    r = await b.get(f"/lines/{at100['line_id']}", headers=c.auth("service", org="contract", idempotency_key=False))
    assert r.json()["finance_approved"] is True


async def test_scope_and_roles(cluster) -> None:
    """CONTRIBUTING: purchaser sees its own department, finance its own region, auditor reads all; another
    organisation's record answers 404."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await create_line(d)
    lid = line["line_id"]
    other = c.auth("purchaser", org=uid("D"))
    r = await b.get(f"/lines/{lid}", headers=other)
    assert r.status_code == 404
    r = await b.post(f"/lines/{lid}/submit", json={}, headers=other)
    assert r.status_code == 404
    r = await b.get(f"/lines/{lid}", headers=c.auth("finance", region=uid("R")))
    assert r.status_code == 404
    r = await b.get(f"/lines/{lid}", headers=d.finance())
    assert r.status_code == 200
    r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
    assert r.status_code == 200
    r = await b.post(f"/lines/{lid}/submit", json={}, headers=c.auth("auditor"))
    assert r.status_code == 403
    r = await b.get(f"/lines/{lid}")
    assert r.status_code == 401
    r = await b.post("/lines", json=line_body(d, department=uid("D")), headers=d.purchaser())
    assert r.status_code == 403
    r = await b.get("/lines", headers=other)
    assert r.json()["total"] == 0


async def test_bad_input_is_4xx_and_creates_take_a_key(cluster) -> None:
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    r = await b.post("/lines", json=line_body(d), headers=d.purchaser(idempotency_key=False))
    assert r.status_code == 400
    assert r.json()["field"] == "Idempotency-Key"
    body = line_body(d)
    body["amount"] = 800000.5  # a float
    r = await b.post("/lines", json=body, headers=d.purchaser())
    assert r.status_code == 422
    assert r.json()["field"] == "amount"
    r = await b.post("/lines", json=line_body(d, amount="12.345"), headers=d.purchaser())
    assert r.status_code == 422
    r = await b.post("/lines", json=line_body(d, amount="0.00"), headers=d.purchaser())
    assert r.status_code == 422
    assert r.json()["code"] == "budget.amount.not_positive"
    r = await b.post("/lines", json=line_body(d, method="lottery"), headers=d.purchaser())
    assert r.status_code == 422
    assert r.json()["field"] == "method"
    # the same key and body: the same answer, one line
    headers = d.purchaser()
    body = line_body(d)
    first = await b.post("/lines", json=body, headers=headers)
    again = await b.post("/lines", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["line_id"] == again.json()["line_id"]
    r = await b.post("/lines", json=line_body(d), headers=headers)
    assert r.status_code == 409


async def test_draft_edits_take_the_version(cluster) -> None:
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await create_line(d)
    lid = line["line_id"]
    r = await b.patch(f"/lines/{lid}", json={"version": 1, "amount": "850000.00", "recipients": "干部职工及来访群众"},
                      headers=d.purchaser())
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["amount"] == "850000.00"
    r = await b.patch(f"/lines/{lid}", json={"version": 1, "amount": "1.00"}, headers=d.purchaser())
    assert r.status_code == 409
    assert r.json()["code"] == "budget.line.version_mismatch"
    r = await b.post(f"/lines/{lid}/submit", json={"version": 1}, headers=d.purchaser())
    assert r.status_code == 409
