"""Department catalogues on Postgres and Kafka: draft → issued → published, the publication deadline in
Chinese working days, overdue lists, in-year adjustments with history, and the events they publish."""

from __future__ import annotations

from datetime import date

from services.catalogue import service as catalogue_service
from tests.service.catalogue.helpers import Cat, assert_problem, dept


async def test_deadline_spans_national_day_and_a_make_up_saturday(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 市直各部门指导性目录在正式印发后10个工作日内…向社会依法公开. Issued Fri 2025-09-26:
    Sun 9-28 is a make-up workday, Oct 1-8 the National Day holiday, Sat 10-11 a make-up workday → due Thu 10-16."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    opened = await cat.open(2025)
    assert opened["version"] == opened["version"] | {"version": 1, "status": "draft"}
    assert opened["policy_pack"] == "zhengzhou"
    await cat.add_ok("PROP-01", "机关办公区物业管理服务", "property")
    await cat.add_ok("CLEAN-01", "办公楼保洁服务", "E09")

    public = await cat.http.get(f"/catalogues/{cat.id}")  # no token: the public
    assert_problem(public, 404, "catalogue.catalogue.not_found")

    r = await cat.issue("2025-09-26", document_no="郑财购〔2025〕1号")
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    assert v["status"] == "issued" and v["issued_on"] == "2025-09-26"
    assert v["publication_due"] == "2025-10-16" and v["working_days"] == 10
    assert v["due_provisional"] is False and v["policy"] == "zhengzhou@2020.1"

    # issued, not yet published: purchasable, with the pending publication named
    answer = await cat.purchasable("PROP-01")
    assert answer["purchasable"] is True and answer["catalogue_status"] == "issued"
    assert any("2025-10-16" in reason for reason in answer["reasons"])

    fin = cat.finance(idempotency_key=False)
    on_due = await cat.http.get("/catalogues/overdue", params={"as_of": "2025-10-16"}, headers=fin)
    assert cat.id not in [o["catalogue_id"] for o in on_due.json()["items"]]
    late = await cat.http.get("/catalogues/overdue", params={"as_of": "2025-10-17"}, headers=fin)
    [row] = [o for o in late.json()["items"] if o["catalogue_id"] == cat.id]
    assert row["publication_due"] == "2025-10-16" and row["working_days_late"] == 1 and row["published_on"] is None

    r = await cat.publish("2025-10-16")
    assert r.status_code == 200, r.text
    assert r.json()["version"]["published_late"] is False

    public = await cat.http.get(f"/catalogues/{cat.id}")
    assert public.status_code == 200, public.text
    assert [i["code"] for i in public.json()["items"]] == ["CLEAN-01", "PROP-01"]
    assert public.json()["items"][0]["service_type"] == "cleaning"
    assert public.json()["items"][0]["level1_class_name"] == "政府履职所需辅助性服务"

    async with c.probe("catalogue") as probe:
        added = await probe.wait_for("catalogue.item.added", lambda d: d["catalogue_id"] == cat.id, count=2)
        assert {e.partitionkey for e in added} == {"PROP-01", "CLEAN-01"}
        assert {e.data["version"] for e in added} == {1}
        [pub] = await probe.wait_for("catalogue.published", lambda d: d["catalogue_id"] == cat.id)
        assert pub.data["item_count"] == 2 and pub.data["overdue"] is False
        assert pub.data["publication_due"] == "2025-10-16" and pub.data["department"] == cat.department


async def test_late_publication_is_flagged_and_listed(cluster) -> None:
    """004: published within 10 working days; DESIGN.md: overdue ones are flagged."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    await cat.add_ok("CAT-01", "机关食堂餐饮服务", "catering")
    await cat.issue("2025-09-26")
    r = await cat.publish("2025-10-17")
    assert r.json()["version"]["published_late"] is True

    fin = cat.finance(idempotency_key=False)
    unpublished_only = await cat.http.get("/catalogues/overdue", params={"as_of": "2025-12-01"}, headers=fin)
    assert cat.id not in [o["catalogue_id"] for o in unpublished_only.json()["items"]]
    with_late = await cat.http.get("/catalogues/overdue", params={"as_of": "2025-12-01",
                                                                  "include_published_late": "true"}, headers=fin)
    [row] = [o for o in with_late.json()["items"] if o["catalogue_id"] == cat.id]
    assert row["published_on"] == "2025-10-17" and row["working_days_late"] == 1

    async with c.probe("catalogue") as probe:
        [pub] = await probe.wait_for("catalogue.published", lambda d: d["catalogue_id"] == cat.id)
        assert pub.data["overdue"] is True

    # the overdue list is for finance and auditors, not the public or a department
    assert (await cat.http.get("/catalogues/overdue")).status_code == 401
    assert (await cat.http.get("/catalogues/overdue", headers=cat.purchaser())).status_code == 403
    audit = await cat.http.get("/catalogues/overdue", params={"include_published_late": "true"},
                               headers=c.auth("auditor", idempotency_key=False))
    assert audit.status_code == 200


async def test_a_deadline_in_a_year_the_calendar_does_not_know_is_provisional(cluster, monkeypatch) -> None:
    """DESIGN.md conventions: for a year no table knows, weekends alone count and the deadline is provisional."""
    monkeypatch.setattr(catalogue_service, "today", lambda: date(2026, 12, 21))
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2027)
    await cat.add_ok("EDU-01", "课后服务", "education")
    r = await cat.issue("2026-12-18")
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    assert v["due_provisional"] is True and v["due_years_unknown"] == [2027]
    assert v["publication_due"] == "2027-01-01"  # weekends only in 2027: shown as provisional
    rows = await cat.http.get("/catalogues/overdue", params={"as_of": "2027-01-05"},
                              headers=cat.finance(idempotency_key=False))
    [row] = [o for o in rows.json()["items"] if o["catalogue_id"] == cat.id]
    assert row["due_provisional"] is True


async def test_dates_and_states_are_checked(cluster) -> None:
    """Issue needs items, a real past date in the fiscal year; publication follows issue; nothing half-written."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    assert_problem(await cat.issue("2025-03-03"), 422, "catalogue.issue.empty", "items")
    await cat.add_ok("SEC-01", "办公区安保服务", "security")
    assert_problem(await cat.publish("2025-03-03"), 409, "catalogue.publish.not_issued")
    assert_problem(await cat.issue("2099-01-01"), 422, "catalogue.issue.date_future", "issued_on")
    assert_problem(await cat.issue("2023-05-01"), 422, "catalogue.issue.date_outside_year", "issued_on")
    stale = await cat.http.post(f"/catalogues/{cat.id}/issue", json={"revision": 1, "issued_on": "2025-03-03"},
                                headers=cat.finance())
    assert_problem(stale, 409, "catalogue.revision.mismatch", "revision")
    assert (await cat.read())["version"]["status"] == "draft"
    assert (await cat.issue("2025-03-03")).status_code == 200
    assert_problem(await cat.publish("2025-03-02"), 422, "catalogue.publish.before_issue", "published_on")
    assert_problem(await cat.add("SEC-02", "会议服务", "conference"), 409, "catalogue.version.not_draft")
    assert_problem(await cat.adjust("需要增加会议服务项目"), 409, "catalogue.adjustment.not_published")
    assert (await cat.publish("2025-03-05")).status_code == 200
    assert_problem(await cat.publish("2025-03-06"), 409, "catalogue.publish.already")
    bad = await cat.http.post(f"/catalogues/{cat.id}/issue", json={"revision": "x"}, headers=cat.finance())
    assert_problem(bad, 422, "request.invalid", "revision")


async def test_in_year_adjustment_keeps_history_and_reads_as_of_any_date(cluster) -> None:
    """001_5078ddae3d782c1e.txt: 根据上级文件要求和我市实际及时做出动态调整,同步向社会公布 — a new version with
    a reason, the old one kept; the catalogue in force on any date can be read; withdrawals reach the budget service."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    await cat.add_ok("A-01", "社区居家养老服务", "elderly_care")
    await cat.add_ok("A-02", "公共卫生健康教育服务", "public_health")
    await cat.issue_and_publish("2025-03-03", "2025-03-05")

    assert_problem(await cat.adjust(" "), 422, "catalogue.adjustment.reason_missing", "reason")
    r = await cat.adjust("年中调整:健康教育并入社区卫生服务,新增科技推广")
    assert r.status_code == 201, r.text
    assert r.json()["version"]["version"] == 2 and r.json()["version"]["status"] == "draft"
    assert_problem(await cat.adjust("再次调整"), 409, "catalogue.adjustment.draft_open")

    # the draft starts as a copy; the published version is unchanged while the draft is edited
    assert_problem(await cat.withdraw("A-02", " "), 422, "catalogue.withdrawal.reason_missing", "reason")
    assert (await cat.withdraw("A-02", "并入社区卫生服务项目")).status_code == 200
    await cat.add_ok("D-01", "农业科技推广服务", "technology_promotion")
    rev = await cat.revision()
    patched = await cat.http.patch(f"/catalogues/{cat.id}/items/A-01",
                                   json={"revision": rev, "description": "上门助餐、助浴"}, headers=cat.purchaser())
    assert patched.status_code == 200 and patched.json()["changed_in_version"] == 2
    assert patched.json()["added_in_version"] == 1
    stale = await cat.http.patch(f"/catalogues/{cat.id}/items/A-01", json={"revision": rev, "name": "x"},
                                 headers=cat.purchaser())
    assert_problem(stale, 409, "catalogue.revision.mismatch")

    public_now = (await cat.http.get(f"/catalogues/{cat.id}")).json()
    assert public_now["version"]["version"] == 1  # the draft is not public
    assert {i["code"] for i in public_now["items"]} == {"A-01", "A-02"}
    assert (await cat.purchasable("D-01"))["purchasable"] is False

    await cat.issue_and_publish("2025-07-01", "2025-07-02")

    before = (await cat.http.get(f"/catalogues/{cat.id}", params={"as_of": "2025-06-30"})).json()
    after = (await cat.http.get(f"/catalogues/{cat.id}", params={"as_of": "2025-07-01"})).json()
    assert before["version"]["version"] == 1 and before["version"]["effective_to"] == "2025-06-30"
    assert {i["code"] for i in before["items"]} == {"A-01", "A-02"}
    assert after["version"]["version"] == 2 and after["version"]["reason"].startswith("年中调整")
    assert {i["code"] for i in after["items"]} == {"A-01", "D-01"}
    assert [h["version"] for h in after["history"]] == [1, 2]
    too_early = await cat.http.get(f"/catalogues/{cat.id}", params={"as_of": "2025-01-01"})
    assert_problem(too_early, 404, "catalogue.version.none_in_force", "as_of")
    v1 = (await cat.http.get(f"/catalogues/{cat.id}", params={"version": 1})).json()
    assert {i["code"] for i in v1["items"]} == {"A-01", "A-02"}

    gone = await cat.purchasable("A-02")
    assert gone["purchasable"] is False and gone["catalogue_version"] == 2
    assert any("并入社区卫生服务项目" in reason for reason in gone["reasons"])
    kept = await cat.purchasable("A-01")
    assert kept["purchasable"] is True and kept["catalogue_version"] == 2

    async with c.probe("catalogue") as probe:
        [w] = await probe.wait_for("catalogue.item.withdrawn", lambda d: d["catalogue_id"] == cat.id)
        assert w.partitionkey == "A-02" and w.data["version"] == 2 and w.data["reason"] == "并入社区卫生服务项目"
        added = await probe.wait_for("catalogue.item.added", lambda d: d["catalogue_id"] == cat.id, count=3)
        assert sorted((e.data["item_code"], e.data["version"]) for e in added) == [
            ("A-01", 1), ("A-02", 1), ("D-01", 2)]
        await probe.wait_for("catalogue.published", lambda d: d["catalogue_id"] == cat.id, count=2)
        await probe.settle(0.5)
        # A-01 changed but stayed: no second "added", no "withdrawn"
        assert len(probe.matching("catalogue.item.added", lambda d: d["catalogue_id"] == cat.id)) == 3
        assert len(probe.matching("catalogue.item.withdrawn", lambda d: d["catalogue_id"] == cat.id)) == 1
