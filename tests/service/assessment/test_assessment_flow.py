"""The assessment service on Postgres and Kafka: daily supervision, sheets, survey, a scored draft, the
supplier's response, finalisation (exactly one assessment.finalized), publication and public results.
Seeds: 000 (dimensions; periodic and daily assessment), 002 (4-level survey, >95% response; third-party
monitoring), 003 (inspections, spot checks, surveys; purchaser + recipients + third party)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.assessment import service
from tests.service.assessment.helpers import (
    SUPPLIER,
    api,
    assessor,
    inspect,
    make_plan,
    ok,
    purchaser,
    sheets,
    supplier,
    survey,
)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The service's clock, settable by the test (index 0)."""
    now = [datetime(2025, 9, 29, 2, 0, tzinfo=UTC)]  # Monday 10:00 in Shanghai
    monkeypatch.setattr(service, "clock", lambda: now[0])
    return now


async def test_scored_draft_response_final_once_and_published(cluster, frozen) -> None:
    c = await cluster("assessment")
    plan = await make_plan(c)
    assert plan["party_weights"] == {"purchaser": "50.00", "recipients": "30.00", "third_party": "20.00"}
    assert plan["policy"] == "national@2020.1"
    pid = plan["id"]

    # Daily supervision in September (seed 003: 现场检查、临时抽查; seed 002: 明察暗访 by the third party)
    first = await inspect(c, pid, "2025-09-03", [
        {"indicator": "sq_cleaning", "rule": "unclean_spot", "count": 3, "description": "大厅地面有污渍",
         "evidence": [{"kind": "photo", "uri": "s3://evidence/1.jpg", "sha256": "a" * 64}]},
        {"indicator": "sq_security", "rule": "post_absent", "count": 8, "description": "门岗脱岗"},
    ])
    assert [f["deduction"] for f in first["findings"]] == ["1.50", "8.00"]
    assert first["period"] == "2025-09" and first["party"] == "purchaser"
    await inspect(c, pid, "2025-09-10", [{"indicator": "sq_facilities", "rule": "repair_late",
                                         "description": "报修超时"}], as_assessor=True, kind="unannounced_visit")
    await sheets(c, pid, "2025-09")
    s = await survey(c, pid, "2025-09")
    summary = await ok(await api(c).get(f"/surveys/{s['id']}", headers=purchaser(c)))
    assert summary["response_rate"] == "100.00" and summary["satisfaction_rate"] == "95.00"
    assert summary["score"] == "95.00" and summary["respondents"] == 20
    assert "E0001" not in str(summary)

    draft = await ok(await api(c).post(f"/plans/{pid}/assessments", json={"period": "2025-09"},
                                       headers=purchaser(c)), 201)
    comps = {x["party"]: x["score"] for x in draft["result"]["components"]}
    # purchaser: 27 on points + 70 − (1.5 + min(8, cap 6)) = 89.5; third party 26 + 70 − 1 = 95; survey 95
    assert comps == {"purchaser": "89.50", "recipients": "95.00", "third_party": "95.00"}
    assert draft["score"] == "92.25" and draft["grade"] == "优秀"  # 44.75 + 28.5 + 19
    assert draft["state"] == "draft" and draft["period_index"] == 2
    assert draft["response_due"] == "2025-10-13"  # 5 working days over National Day (make-up Sat 10-11)
    assert draft["response_window"] == "5 working days"
    aid = draft["id"]

    # Inputs close once drafted
    late = await api(c).post(f"/plans/{pid}/inspections", headers=purchaser(c), json={
        "kind": "spot_check", "inspector": "李四", "inspected_at": "2025-09-20T02:00:00Z", "findings": []})
    assert late.status_code == 422 and late.json()["code"] == "assessment.period.drafted"

    # Not final before the window closes, unless the supplier responds
    early = await api(c).post(f"/assessments/{aid}/finalize", json={}, headers=purchaser(c))
    assert early.status_code == 422 and early.json()["code"] == "assessment.finalize.window_open"

    # The supplier sees its draft and disputes the post_absent finding
    mine = await ok(await api(c).get(f"/assessments/{aid}", headers=supplier(c)))
    disputed = next(f["id"] for f in mine["findings"] if f["rule"] == "post_absent")
    other = await api(c).get(f"/assessments/{aid}", headers=supplier(c, "91110000600037341N"))
    assert other.status_code == 404
    frozen[0] = datetime(2025, 10, 13, 9, 0, tzinfo=UTC)  # the last day of the window (17:00 in Shanghai)
    resp = await ok(await api(c).post(f"/assessments/{aid}/responses", headers=supplier(c), json={
        "text": "门岗为交接班，非脱岗", "disputed_findings": [disputed]}), 201)
    assert resp["response"]["disputed_findings"] == [disputed]

    no_reason = await api(c).post(f"/assessments/{aid}/finalize", headers=purchaser(c),
                                  json={"decision": "accepted", "withdrawn_findings": [disputed]})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"

    async with c.probe("assessment") as probe:
        final = await ok(await api(c).post(f"/assessments/{aid}/finalize", headers=purchaser(c), json={
            "decision": "accepted", "reason": "监控录像证实为交接班", "withdrawn_findings": [disputed]}))
        assert final["state"] == "final" and final["score"] == "95.25"  # purchaser 95.5 → 47.75 + 28.5 + 19
        assert final["draft"]["score"] == "92.25"  # the draft as the supplier saw it is kept
        assert final["decision"]["decision"] == "accepted"
        # again, sequentially and concurrently, with other keys: the same answer, no new event
        again = await ok(await api(c).post(f"/assessments/{aid}/finalize", headers=assessor(c), json={}))
        assert again["finalized_at"] == final["finalized_at"]
        racers = await asyncio.gather(*[api(c).post(f"/assessments/{aid}/finalize", headers=purchaser(c), json={
            "decision": "rejected", "reason": "x"}) for _ in range(3)])
        assert [r.status_code for r in racers] == [200, 200, 200]
        assert {r.json()["score"] for r in racers} == {"95.25"}

        [event] = await probe.wait_for("assessment.finalized", lambda d: d["assessment_id"] == aid)
        await probe.settle()
        assert len(probe.matching("assessment.finalized", lambda d: d["assessment_id"] == aid)) == 1
        assert event.partitionkey == plan["contract_id"]
        d = event.data
        assert (d["contract_id"], d["supplier_code"], d["service_type"], d["department"], d["line_id"]) == (
            plan["contract_id"], SUPPLIER, "property_management", "D01", "L-1")
        assert (d["period"], d["period_index"], d["score"], d["grade"], d["failing"]) == (
            "2025-09", 2, "95.25", "优秀", False)
        assert {x["party"]: Decimal(x["score"]) for x in d["components"]} == {
            "purchaser": Decimal("95.5"), "recipients": Decimal(95), "third_party": Decimal(95)}
        assert d["policy"] == "national@2020.1" and d["decision"] == "accepted"
        assert d["indicator_system"].startswith("property_management@v")
        assert d["serious_violation"] is False and d["fraud"] is False

        # Nothing is public before publication
        hidden = await ok(await api(c).get("/public/assessment-results", params={"contract_id": plan["contract_id"]}))
        assert hidden["total"] == 0
        supplier_publish = await api(c).post(f"/assessments/{aid}/publish", headers=supplier(c))
        assert supplier_publish.status_code == 403
        pub = await ok(await api(c).post(f"/assessments/{aid}/publish", headers=purchaser(c)))
        assert pub["state"] == "published"
        await ok(await api(c).post(f"/assessments/{aid}/publish", headers=purchaser(c)))
        await probe.wait_for("assessment.published", lambda d: d["assessment_id"] == aid)
        await probe.settle()
        assert len(probe.matching("assessment.published", lambda d: d["assessment_id"] == aid)) == 1
        assert len(probe.matching("assessment.finalized", lambda d: d["assessment_id"] == aid)) == 1

    public = await ok(await api(c).get("/public/assessment-results", params={"supplier_code": SUPPLIER}))
    [row] = [r for r in public["items"] if r["id"] == aid]
    assert row["score"] == "95.25" and row["grade"] == "优秀" and row["period"] == "2025-09"
    assert row["survey"]["satisfaction_rate"] == "95.00" and row["survey"]["response_rate"] == "100.00"
    text = str(public)
    for secret in ("E0001", "respondent_id", "respondent_hash", "张三", "s3://", "意见"):
        assert secret not in text
    one = await ok(await api(c).get(f"/public/assessment-results/{aid}"))
    assert one["id"] == aid


async def test_veto_and_serious_violation_cap_the_grade_and_travel_on_the_event(cluster, frozen) -> None:
    """Seed 002: 一票否决; seed 000: 有无违法行为 — registry blacklists on serious violations and fraud."""
    c = await cluster("assessment")
    plan = await make_plan(c, party_weights={"purchaser": "70", "recipients": "30", "third_party": "0"},
                           assessor_org=None)
    pid = plan["id"]
    await inspect(c, pid, "2025-08-05", [
        {"indicator": "violation_veto", "deduction": "0", "description": "虚报服务人数", "fraud": True,
         "serious_violation": True}], kind="sample_test")
    await ok(await api(c).post(f"/plans/{pid}/sheets", json={"period": "2025-08", "points": {
        "price": "10", "savings": "5", "policy_execution": "5", "internal_control": "5", "sq_emergency": "5"}},
        headers=purchaser(c)), 201)
    await survey(c, pid, "2025-08", levels=["优"] * 20)
    draft = await ok(await api(c).post(f"/plans/{pid}/assessments", json={"period": "2025-08"},
                                       headers=purchaser(c)), 201)
    assert draft["score"] == "100.00" and draft["grade"] == "不合格" and draft["failing"] and draft["veto"]
    assert draft["result"]["band_grade"] == "优秀"
    frozen[0] = datetime(2025, 10, 14, 2, 0, tzinfo=UTC)  # the window has passed without a response
    late = await api(c).post(f"/assessments/{draft['id']}/responses", headers=supplier(c),
                             json={"text": "异议"})
    assert late.status_code == 422 and late.json()["code"] == "assessment.response.window_closed"
    assert "response_window_days" in late.json()["rule"]
    async with c.probe("assessment") as probe:
        # four finalisations of the same draft at once: one transition, one event, the same answer for all
        racing = await asyncio.gather(*[api(c).post(f"/assessments/{draft['id']}/finalize", headers=purchaser(c),
                                                    json={}) for _ in range(4)])
        assert [r.status_code for r in racing] == [200] * 4, [r.text for r in racing]
        assert len({r.json()["finalized_at"] for r in racing}) == 1
        [event] = await probe.wait_for("assessment.finalized", lambda d: d["assessment_id"] == draft["id"])
        await probe.settle()
        assert len(probe.matching("assessment.finalized", lambda d: d["assessment_id"] == draft["id"])) == 1
    assert event.data["failing"] is True and event.data["veto"] is True
    assert event.data["serious_violation"] is True and event.data["fraud"] is True
    assert event.data["violations"] and event.data["decision"] is None
    assert [x["party"] for x in event.data["components"]] == ["purchaser", "recipients"]
