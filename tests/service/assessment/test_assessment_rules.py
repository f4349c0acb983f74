"""The assessment API's rules on Postgres and Kafka: plans from contract.signed, scope (another
organisation's record is 404), refusals as problem+json naming field and rule with nothing half-written,
Idempotency-Key replays, surveys (one response per respondent), indicator systems, ex-ante assessments,
and a policy that raises the recipients' weight (seed 001, Penglai)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from services.assessment.models import Finding, Inspection, KnownContract
from services.events.contract import ContractSigned
from tests.service.assessment.helpers import (
    ITEMS,
    SUPPLIER,
    api,
    assessor,
    at,
    inspect,
    make_plan,
    ok,
    purchaser,
    supplier,
    survey,
)
from tests.support.cluster import poll


async def test_plan_from_a_signed_contract(cluster) -> None:
    """contract.signed tells the assessment service the supplier, service type, department, line and
    periods; a plan then needs only the contract id (seed 002: quarterly assessment)."""
    c = await cluster("assessment")
    cid = f"C-{uuid.uuid4().hex[:10]}"
    async with c.ctx("assessment").uow() as uow:
        uow.emit(ContractSigned(contract_id=cid, supplier_code=SUPPLIER, line_id="L-9", signed_on=date(2025, 1, 2),
                                starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), amount=120_000_00,
                                service_type="包厨服务", department="D01", schedule="quarterly",
                                periods=["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]))
        await uow.commit()

    async def known() -> bool:
        async with c.ctx("assessment").sessions() as s:
            return await s.get(KnownContract, cid) is not None

    await poll(known, timeout=30, message="contract.signed consumed")
    elsewhere = await api(c).post("/plans", json={"contract_id": cid}, headers=purchaser(c, "D02"))
    assert elsewhere.status_code == 404
    mismatch = await api(c).post("/plans", json={"contract_id": cid, "supplier_code": "91110000600037341N"},
                                 headers=purchaser(c))
    assert mismatch.status_code == 422 and mismatch.json()["field"] == "supplier_code"
    plan = await ok(await api(c).post("/plans", json={"contract_id": cid, "assessor_org": "A01"},
                                      headers=purchaser(c)), 201)
    assert plan["contract_known"] and plan["period_kind"] == "quarterly" and plan["line_id"] == "L-9"
    assert plan["periods"] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    system = await ok(await api(c).get(f"/indicator-systems/{plan['indicator_system_id']}", headers=purchaser(c)))
    assert system["template"] == "catering" and system["code"] == "catering"
    again = await api(c).post("/plans", json={"contract_id": cid, "assessor_org": "A01"}, headers=purchaser(c))
    assert again.status_code == 409 and again.json()["code"] == "assessment.plan.exists"


async def test_unknown_contract_needs_explicit_fields(cluster) -> None:
    c = await cluster("assessment")
    r = await api(c).post("/plans", json={"contract_id": "C-unknown", "period_kind": "monthly"},
                          headers=purchaser(c))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "supplier_code" and r.json()["rule"]
    other = await api(c).post("/plans", headers=purchaser(c), json={
        "contract_id": "C-x", "supplier_code": SUPPLIER, "service_type": "cleaning", "department": "D99",
        "period_kind": "monthly", "starts_on": "2025-01-01", "ends_on": "2025-03-31", "assessor_org": "A01"})
    assert other.status_code == 403 and other.json()["field"] == "department"
    weights = await api(c).post("/plans", headers=purchaser(c), json={
        "contract_id": "C-y", "supplier_code": SUPPLIER, "service_type": "cleaning", "department": "D01",
        "period_kind": "monthly", "periods": ["2025-01"], "assessor_org": "A01",
        "party_weights": {"purchaser": "60", "recipients": "20", "third_party": "20"}})
    assert weights.status_code == 422 and weights.json()["field"] == "party_weights.recipients"
    floats = await api(c).post("/plans", headers=purchaser(c), json={
        "contract_id": "C-z", "supplier_code": SUPPLIER, "service_type": "cleaning", "department": "D01",
        "period_kind": "monthly", "periods": ["2025-01"], "assessor_org": "A01",
        "party_weights": {"purchaser": 49.5, "recipients": "30.5", "third_party": "20"}})
    assert floats.status_code == 422 and floats.json()["field"] == "party_weights.purchaser"
    listed = await ok(await api(c).get("/plans", headers=purchaser(c)))
    assert all(p["contract_id"] not in ("C-x", "C-y", "C-z") for p in listed["items"])


async def test_scope_is_404_for_other_organisations(cluster) -> None:
    c = await cluster("assessment")
    plan = await make_plan(c)
    pid = plan["id"]
    assert (await api(c).get(f"/plans/{pid}", headers=purchaser(c, "D02"))).status_code == 404
    assert (await api(c).get(f"/plans/{pid}", headers=assessor(c, "A02"))).status_code == 404
    assert (await api(c).get(f"/plans/{pid}", headers=assessor(c))).status_code == 200
    assert (await api(c).get(f"/plans/{pid}", headers=c.auth("auditor"))).status_code == 200
    assert (await api(c).get(f"/plans/{pid}", headers=supplier(c))).status_code == 403
    foreign = await api(c).post(f"/plans/{pid}/inspections", headers=assessor(c, "A02"), json={
        "kind": "inspection", "inspector": "x", "inspected_at": at("2025-08-02"), "findings": []})
    assert foreign.status_code == 404
    auditor_write = await api(c).post(f"/plans/{pid}/sheets", headers=c.auth("auditor"),
                                      json={"period": "2025-08", "points": {}})
    assert auditor_write.status_code == 403
    listed = await ok(await api(c).get("/plans", headers=purchaser(c, "D02")))
    assert pid not in {p["id"] for p in listed["items"]}


async def test_a_bad_finding_writes_nothing_of_the_inspection(cluster) -> None:
    c = await cluster("assessment")
    plan = await make_plan(c)
    pid = plan["id"]
    bad = await api(c).post(f"/plans/{pid}/inspections", headers=purchaser(c), json={
        "kind": "spot_check", "inspector": "李四", "inspected_at": at("2025-08-04"), "findings": [
            {"indicator": "sq_cleaning", "rule": "unclean_spot", "description": "ok"},
            {"indicator": "sq_cleaning", "rule": "no_such_rule", "description": "bad"}]})
    assert bad.status_code == 422
    assert bad.json()["field"] == "findings[1].rule" and bad.json()["code"] == "assessment.finding.rule_unknown"
    points = await api(c).post(f"/plans/{pid}/inspections", headers=purchaser(c), json={
        "kind": "spot_check", "inspector": "李四", "inspected_at": at("2025-08-04"), "findings": [
            {"indicator": "price", "deduction": "1", "description": "价格偏高"}]})
    assert points.status_code == 422 and points.json()["code"] == "assessment.finding.points_indicator"
    outside = await api(c).post(f"/plans/{pid}/inspections", headers=purchaser(c), json={
        "kind": "spot_check", "inspector": "李四", "inspected_at": at("2025-12-04"), "findings": []})
    assert outside.status_code == 422 and outside.json()["code"] == "assessment.period.outside_plan"
    async with c.ctx("assessment").sessions() as s:
        n_insp = (await s.execute(select(func.count()).select_from(Inspection)
                                  .where(Inspection.plan_id == pid))).scalar_one()
        n_find = (await s.execute(select(func.count()).select_from(Finding).where(Finding.plan_id == pid))).scalar_one()
    assert (n_insp, n_find) == (0, 0)
    assert await ok(await api(c).get(f"/plans/{pid}/findings", headers=purchaser(c))) == []


async def test_sheets_and_drafts_refuse_what_the_rules_do_not_allow(cluster) -> None:
    c = await cluster("assessment")
    plan = await make_plan(c)
    pid = plan["id"]
    over = await api(c).post(f"/plans/{pid}/sheets", headers=purchaser(c), json={
        "period": "2025-08", "points": {"price": "11", "savings": "5", "policy_execution": "5",
                                        "internal_control": "5", "sq_emergency": "5"}})
    assert over.status_code == 422 and over.json()["field"] == "sheets.purchaser.points.price"
    missing = await api(c).post(f"/plans/{pid}/sheets", headers=purchaser(c), json={
        "period": "2025-08", "points": {"price": "10"}})
    assert missing.status_code == 422 and missing.json()["code"] == "assessment.sheet.missing_points"
    no_survey = await api(c).post(f"/plans/{pid}/assessments", headers=purchaser(c), json={"period": "2025-08"})
    assert no_survey.status_code == 422 and no_survey.json()["code"] == "assessment.survey.missing"
    assert (await ok(await api(c).get("/assessments", headers=purchaser(c), params={"contract_id":
                                                                                   plan["contract_id"]})))["total"] == 0


async def test_survey_one_response_per_respondent_and_the_response_rate_floor(cluster) -> None:
    """Seed 002 (002_88cf206893e82986.txt): 优/较好/一般/差, 反馈率95%以上 (national pack: 95%)."""
    c = await cluster("assessment")
    plan = await make_plan(c, party_weights={"purchaser": "70", "recipients": "30", "third_party": "0"},
                           assessor_org=None)
    pid = plan["id"]
    s = await survey(c, pid, "2025-H2", invited=20, levels=["优"] * 18)  # 90% < 95%
    answers = {i["code"]: "较好" for i in ITEMS}
    dup = await api(c).post(f"/surveys/{s['id']}/responses", headers=purchaser(c),
                            json={"respondent_id": " E0003 ", "answers": answers})
    assert dup.status_code == 409 and dup.json()["code"] == "assessment.survey.duplicate_respondent"
    level = await api(c).post(f"/surveys/{s['id']}/responses", headers=purchaser(c),
                              json={"respondent_id": "N1", "answers": {**answers, "q2": "很好"}})
    assert level.status_code == 422 and level.json()["field"] == "answers.q2"
    await ok(await api(c).post(f"/plans/{pid}/sheets", headers=purchaser(c), json={"period": "2025-08", "points": {
        "price": "10", "savings": "5", "policy_execution": "5", "internal_control": "5", "sq_emergency": "5"}}), 201)
    low = await api(c).post(f"/plans/{pid}/assessments", headers=purchaser(c), json={"period": "2025-08"})
    assert low.status_code == 422 and low.json()["code"] == "assessment.survey.response_rate_low"
    assert low.json()["field"] == "low_response_reason"
    # the half-year survey covers the month; a stated reason lets the assessment go ahead, recorded
    draft = await ok(await api(c).post(f"/plans/{pid}/assessments", headers=purchaser(c), json={
        "period": "2025-08", "low_response_reason": "暑期轮休"}), 201)
    assert draft["survey"]["response_rate"] == "90.00" and draft["survey"]["low_response_reason"] == "暑期轮休"
    assert draft["score"] == "100.00"
    full = await survey(c, pid, "2025-09", invited=2, levels=["优", "差"])
    extra = await api(c).post(f"/surveys/{full['id']}/responses", headers=purchaser(c),
                              json={"respondent_id": "N9", "answers": answers})
    assert extra.status_code == 422 and extra.json()["code"] == "assessment.survey.full"
    got = await ok(await api(c).get(f"/surveys/{full['id']}", headers=purchaser(c)))
    assert got["satisfaction_rate"] == "50.00" and got["score"] == "50.00"
    assert got["per_item"]["q1"] == {"优": 1, "差": 1}


async def test_idempotency_key_replays_the_same_plan(cluster) -> None:
    c = await cluster("assessment")
    body = {"contract_id": f"C-{uuid.uuid4().hex[:8]}", "supplier_code": SUPPLIER, "service_type": "security",
            "department": "D01", "period_kind": "quarterly", "starts_on": "2025-01-01", "ends_on": "2025-12-31",
            "assessor_org": "A01"}
    h = purchaser(c)
    first = await ok(await api(c).post("/plans", json=body, headers=h), 201)
    second = await api(c).post("/plans", json=body, headers=h)
    assert second.status_code == 201 and second.json()["id"] == first["id"]
    assert second.headers.get("idempotent-replayed") == "true"
    reused = await api(c).post("/plans", json={**body, "contract_id": "C-other"}, headers=h)
    assert reused.status_code == 409
    no_key = await api(c).post("/plans", json=body, headers={"Authorization": h["Authorization"]})
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"


async def test_indicator_systems_from_templates_and_own_indicators(cluster) -> None:
    c = await cluster("assessment")
    listed = await ok(await api(c).get("/indicator-templates", headers=purchaser(c)))
    assert {t["key"] for t in listed["items"]} == {"property_management", "catering", "leasing", "cleaning",
                                                    "security", "repair", "audit"}
    code = f"custom_{uuid.uuid4().hex[:6]}"
    own = {"service_type": "法律咨询", "code": code, "indicators": [
        {"code": "quality", "name": "服务质量", "dimension": "service_quality", "weight": "70", "method": "deduction",
         "rules": [{"code": "late", "description": "逾期", "points_per_item": "2", "cap": "10"}]},
        {"code": "price", "name": "价格", "dimension": "price", "weight": "30"}]}
    v1 = await ok(await api(c).post("/indicator-systems", json=own, headers=purchaser(c)), 201)
    v2 = await ok(await api(c).post("/indicator-systems", json=own, headers=c.auth("finance")), 201)
    assert (v1["version"], v2["version"]) == (1, 2) and v2["ref"] == f"{code}@v2"
    bad = {**own, "indicators": [{**own["indicators"][0], "weight": "69.99"}, own["indicators"][1]]}
    r = await api(c).post("/indicator-systems", json=bad, headers=purchaser(c))
    assert r.status_code == 422 and r.json()["code"] == "assessment.indicators.weights_total"
    t = await ok(await api(c).post("/indicator-systems", json={"service_type": "审计服务", "template": "audit"},
                                   headers=purchaser(c)), 201)
    assert t["code"] == "audit" and sum(float(i["weight"]) for i in t["indicators"]) == 100


async def test_ex_ante_assessment_kept_for_the_budget_service(cluster) -> None:
    """Seed 004 / budget policy: an ex-ante performance assessment for lines of 500万 and more."""
    c = await cluster("assessment")
    line = f"L-{uuid.uuid4().hex[:8]}"
    body = {"line_id": line, "department": "D01", "fiscal_year": 2026, "amount": "6000000.00",
            "conclusion": "supported", "score": "88.5", "dimensions": {"necessity": "30", "feasibility": "25"},
            "summary": "立项必要，绩效目标明确"}
    first = await ok(await api(c).post("/ex-ante", json=body, headers=purchaser(c)), 201)
    assert first["required"] is True and first["amount"] == "6000000.00" and first["version"] == 1
    await ok(await api(c).post("/ex-ante", json={**body, "conclusion": "supported_with_changes",
                                                 "amount": "4000000.00"}, headers=c.auth("finance")), 201)
    got = await ok(await api(c).get(f"/ex-ante/{line}", headers=c.auth("service", org="budget")))
    assert got["latest"]["version"] == 2 and got["latest"]["required"] is False
    assert [h["version"] for h in got["history"]] == [2, 1]
    assert (await api(c).get(f"/ex-ante/{line}", headers=purchaser(c, "D02"))).status_code == 404
    assert (await api(c).get("/ex-ante/L-none", headers=c.auth("finance"))).status_code == 404
    bad = await api(c).post("/ex-ante", json={**body, "amount": 6000000}, headers=purchaser(c))
    assert bad.status_code == 422 and bad.json()["field"] == "amount"


async def test_penglai_weights_the_public_more(cluster) -> None:
    """Seed 001 (001_5078ddae3d782c1e.txt): 加大民主测评权重 — Penglai's pack gives recipients 40."""
    c = await cluster("assessment", jurisdiction="penglai")
    plan = await make_plan(c)
    assert plan["party_weights"] == {"purchaser": "40.00", "recipients": "40.00", "third_party": "20.00"}
    assert plan["policy"].startswith("penglai@")
    await inspect(c, plan["id"], "2025-08-06", [])
