"""Signing, filing (备案), states with optimistic concurrency, amendments signed in order, the service ledger."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from tests.service.contract.support import World, assert_problem, today

SERVICES = ("contract", "budget", "registry", "catalogue")


async def test_both_parties_sign_and_contract_signed_carries_the_schedule(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    line = await w.line("600000.00")
    code = await w.supplier_code()
    awarded = await w.award_ok(await w.draft_ok(line, code, schedule="quarterly",
                                                assessment_plan={"frequency": "quarterly", "assessor_org": "TP01"}))
    url = f"/contracts/{awarded['id']}/signatures"
    day = today().isoformat()
    async with c.probe("contract") as probe:
        r = await w.api.post(url, json={"version": awarded["version"], "signed_on": day}, headers=w.purchaser())
        assert r.status_code == 200 and r.json()["status"] == "awarded", r.text
        assert r.json()["purchaser_signed_on"] == day and r.json()["supplier_signed_on"] is None
        assert_problem(await w.api.post(url, json={"version": r.json()["version"], "signed_on": day},
                                        headers=w.purchaser()), 409, "contract.already_signed")
        assert_problem(await w.api.post(url, json={"version": r.json()["version"], "signed_on": "2020-01-01"},
                                        headers=w.supplier(code)), 422, "contract.signed_on.before_award", "signed_on")
        r = await w.api.post(url, json={"version": r.json()["version"], "signed_on": day}, headers=w.supplier(code))
        assert r.status_code == 200 and r.json()["status"] == "signed", r.text
        assert r.json()["signed_on"] == day and r.json()["filing_required"] is False
        [ev] = await probe.wait_for("contract.signed", lambda d: d["contract_id"] == awarded["id"])
    assert ev.data["schedule"] == "quarterly" and ev.data["periods"] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert [i["amount"] for i in ev.data["instalments"]] == ["150000.00"] * 4
    assert ev.data["service_type"] == "property" and ev.data["department"] == w.department
    assert ev.data["amount"] == "600000.00" and ev.data["assessor_org"] == "TP01" and ev.data["method"]
    # a party from elsewhere cannot sign
    assert_problem(await w.api.post(url, json={"version": 1, "signed_on": day}, headers=w.supplier(
        await w.supplier_code())), 404, "contract.not_found")


async def test_filing_from_500_wan_within_15_days_and_overdue_list(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 预算金额在500万元(含)以上的……在项目完成采购后15日内,将服务合同副本报市财政局备案."""
    c = await cluster(*SERVICES)
    w = World(c)
    small = await w.signed("600000.00")
    assert small["filing_required"] is False and small["filing_due_on"] is None
    big = await w.signed("5000000.00")
    signed_on = date.fromisoformat(big["signed_on"])
    due = signed_on + timedelta(days=15)
    assert big["filing_required"] is True and big["filing_due_on"] == due.isoformat()

    overdue = await w.api.get("/filings/overdue", params={"as_of": (due + timedelta(days=1)).isoformat()},
                              headers=w.finance(idempotency_key=False))
    assert overdue.status_code == 200, overdue.text
    [row] = [x for x in overdue.json()["items"] if x["contract_id"] == big["id"]]
    assert row["days_overdue"] == 1 and row["amount"] == "5000000.00"
    on_due = await w.api.get("/filings/overdue", params={"as_of": due.isoformat()},
                             headers=w.purchaser(idempotency_key=False))
    assert big["id"] not in [x["contract_id"] for x in on_due.json()["items"]]

    doc = {"name": "合同副本.pdf", "sha256": "a" * 64, "size_bytes": 123456}
    assert_problem(await w.api.post(f"/contracts/{small['id']}/filing",
                                    json={"version": small["version"], "filed_on": small["signed_on"],
                                          "document": doc}, headers=w.purchaser()),
                   409, "contract.filing.not_required")
    late_day = (due + timedelta(days=2)).isoformat()
    async with c.probe("contract") as probe:
        r = await w.api.post(f"/contracts/{big['id']}/filing",
                             json={"version": big["version"], "filed_on": late_day, "document": doc,
                                   "filed_with": "常州市财政局"}, headers=w.purchaser())
        assert r.status_code == 201, r.text
        assert r.json()["filed_on"] == late_day and r.json()["filing_late"] is True
        [ev] = await probe.wait_for("contract.filed", lambda d: d["contract_id"] == big["id"])
        assert ev.data["late"] is True and ev.data["due_on"] == due.isoformat()
    assert_problem(await w.api.post(f"/contracts/{big['id']}/filing",
                                    json={"version": r.json()["version"], "filed_on": late_day, "document": doc},
                                    headers=w.purchaser()), 409, "contract.filing.done")
    after = await w.api.get("/filings/overdue", params={"as_of": late_day}, headers=w.finance(idempotency_key=False))
    assert big["id"] not in [x["contract_id"] for x in after.json()["items"]]
    ledger = await w.api.get(f"/contracts/{big['id']}/ledger", params={"kind": "document"},
                             headers=w.purchaser(idempotency_key=False))
    assert ledger.json()["items"][0]["document"]["name"] == "合同副本.pdf"


async def test_states_and_optimistic_concurrency(cluster) -> None:
    """DESIGN.md Contract: draft → signed → performing → completed, or suspended / terminated; updates take the
    version number (409 on mismatch)."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00")
    assert_problem(await w.transition(contract, "resume"), 409, "contract.state.invalid_transition", "action")
    r = await w.transition(contract, "start")
    assert r.status_code == 200 and r.json()["status"] == "performing", r.text
    assert_problem(await w.transition(contract, "suspend", reason="x"), 409, "contract.version.conflict", "version")
    performing = r.json()
    assert_problem(await w.transition(performing, "suspend"), 422, "contract.reason.required", "reason")
    # two concurrent changes of one version: one wins
    results = await asyncio.gather(w.transition(performing, "suspend", reason="整改期间暂停服务"),
                                   w.transition(performing, "suspend", reason="另一个请求"))
    assert sorted(r.status_code for r in results) == [200, 409]
    suspended = await w.get(contract["id"])
    assert suspended["status"] == "suspended" and suspended["version"] == performing["version"] + 1
    r = await w.transition(suspended, "resume", headers=w.finance())
    assert r.status_code == 200 and r.json()["status"] == "performing", r.text
    assert_problem(await w.transition(r.json(), "resume", headers=w.supplier(contract["supplier_code"])), 403,
                   "auth.role.forbidden")
    hist = await w.api.get(f"/contracts/{contract['id']}/history", headers=c.auth("auditor", idempotency_key=False))
    items = hist.json()["items"]
    assert [t["to_status"] for t in items] == ["draft", "awarded", "signed", "performing", "suspended", "performing"]
    assert items[4]["reason"] == "整改期间暂停服务"


async def _amend(w: World, contract: dict[str, Any], headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await w.api.post(f"/contracts/{contract['id']}/amendments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_amendments_with_rationale_signed_in_order_kept_as_history(cluster) -> None:
    """003_69f6a15399988e6e.txt: contract terms (数量质量 …) change only by a recorded, signed amendment."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00")
    def supplier() -> dict[str, str]:
        return w.supplier(contract["supplier_code"])

    draft_amendment = await w.api.post(f"/contracts/{contract['id']}/amendments", json={
        "type": "standards", "rationale": "调整", "changes": {"amount": "1.00"}}, headers=w.purchaser())
    assert_problem(draft_amendment, 422, "request.invalid", "changes.amount")
    assert_problem(await w.api.post(f"/contracts/{contract['id']}/amendments", json={
        "type": "standards", "rationale": "调整", "changes": {"liability": "x"}}, headers=w.purchaser()),
        422, "contract.amendment.field_not_amendable", "changes.liability")
    a1 = await _amend(w, contract, w.purchaser(), type="standards", rationale="增加会议室保洁频次",
                      changes={"quality_standard": "会议室每日保洁两次"})
    a2 = await _amend(w, contract, supplier(), type="liability", rationale="明确违约金上限",
                      changes={"liability": "违约金不超过合同金额的10%"})
    assert (a1["seq"], a2["seq"]) == (1, 2) and a1["status"] == "proposed"
    current = await w.get(contract["id"])
    sig = {"version": current["version"], "signed_on": today().isoformat()}
    assert_problem(await w.api.post(f"/contracts/{contract['id']}/amendments/2/signature", json=sig,
                                    headers=w.purchaser()), 409, "contract.amendment.out_of_order")
    assert_problem(await w.api.post(f"/contracts/{contract['id']}/amendments/1/signature", json=sig,
                                    headers=w.purchaser()), 409, "contract.amendment.same_party")
    r = await w.api.post(f"/contracts/{contract['id']}/amendments/1/signature", json=sig, headers=supplier())
    assert r.status_code == 200 and r.json()["status"] == "signed", r.text
    assert r.json()["before"] == {"quality_standard": contract["quality_standard"]}
    current = await w.get(contract["id"])
    assert current["quality_standard"] == "会议室每日保洁两次" and current["version"] == sig["version"] + 1
    r = await w.api.post(f"/contracts/{contract['id']}/amendments/2/signature",
                         json={**sig, "version": current["version"]}, headers=w.purchaser())
    assert r.status_code == 200, r.text
    assert (await w.get(contract["id"]))["liability"] == "违约金不超过合同金额的10%"
    a3 = await _amend(w, contract, w.purchaser(), type="content", rationale="撤回测试", changes={"content": "新内容"})
    assert_problem(await w.api.post(f"/contracts/{contract['id']}/amendments/{a3['seq']}/withdrawal",
                                    headers=supplier()), 409, "contract.amendment.not_yours")
    r = await w.api.post(f"/contracts/{contract['id']}/amendments/{a3['seq']}/withdrawal", headers=w.purchaser())
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    listed = await w.api.get(f"/contracts/{contract['id']}/amendments", headers=supplier())
    assert [(a["seq"], a["type"], a["status"]) for a in listed.json()["items"]] == [
        (1, "standards", "signed"), (2, "liability", "signed"), (3, "content", "withdrawn")]
    assert listed.json()["items"][1]["rationale"] == "明确违约金上限"


async def test_service_ledger_work_plans_reports_documents(cluster) -> None:
    """003_69f6a15399988e6e.txt: 物业服务企业建立服务台账,主动接受管理监督."""
    c = await cluster(*SERVICES)
    w = World(c)
    contract = await w.signed("600000.00")
    def supplier() -> dict[str, str]:
        return w.supplier(contract["supplier_code"])

    url = f"/contracts/{contract['id']}/ledger"
    r = await w.api.post(url, json={"kind": "work_plan", "title": "2025年度服务工作计划", "period": "2025-01",
                                    "summary": "人员配置与排班", "document": {"name": "计划.docx"}}, headers=supplier())
    assert r.status_code == 201 and r.json()["recorded_role"] == "supplier", r.text
    r = await w.api.post(url, json={"kind": "report", "title": "一月服务报告", "period": "2025-01"},
                         headers=w.purchaser())
    assert r.status_code == 201, r.text
    assert_problem(await w.api.post(url, json={"kind": "report", "title": "x", "period": "2026-01"},
                                    headers=supplier()), 422, "contract.ledger.period_unknown", "period")
    assert_problem(await w.api.post(url, json={"kind": "payment", "title": "x"}, headers=supplier()), 422,
                   "request.invalid", "kind")
    assert_problem(await w.api.post(url, json={"kind": "report", "title": "x"}, headers=c.auth("auditor")), 403,
                   "auth.role.forbidden")
    listed = await w.api.get(url, headers=c.auth("auditor", idempotency_key=False))
    assert [e["kind"] for e in listed.json()["items"]] == ["work_plan", "report"]
    assert listed.json()["items"][0]["document"]["name"] == "计划.docx"
