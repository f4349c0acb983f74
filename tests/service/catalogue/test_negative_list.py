"""The negative list (负面清单) enforced when an item is added or changed, and the reviewer's override."""

from __future__ import annotations

import pytest

from tests.service.catalogue.helpers import Cat, assert_problem, dept

REFUSED = [
    # (name, description, flags, rule) — the cases the seeds name
    ("窗口服务购岗", "", [], "hire_people_or_posts"),  # 004: 杜绝"购岗"
    ("政务大厅辅助人员", "以劳务派遣方式提供辅助人员", [], "hire_people_or_posts"),  # labour dispatch, in the content
    ("政务大厅辅助服务", "", ["labour_dispatch"], "hire_people_or_posts"),  # declared
    ("办公楼装修改造工程及后续物业服务", "", [], "works_services_bundle"),  # works + services bundle
    ("行政处罚案件办理", "", [], "inherent_government_duty"),  # the government's own duty
]


@pytest.mark.parametrize(("name", "description", "flags", "rule"), REFUSED)
async def test_items_on_the_negative_list_are_refused_with_the_rule_named(cluster, name, description, flags,
                                                                          rule) -> None:
    """004_31a27ecd68c2f343.txt: 不得将《政府购买服务管理办法》中"负面清单"的内容纳入政府购买服务指导性目录;
    坚决杜绝以政府购买服务名义"购人"、"购岗"以及应由政府直接履职等"负面清单"事项."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    rev = await cat.revision()
    r = await cat.add("NL-01", name, "property", description=description, flags=flags)
    body = assert_problem(r, 422, "catalogue.item.negative_list")
    assert body["rule"] == rule
    assert rule in [v["code"] for v in body["violations"]]
    assert body["rule_label"] and "财政部令第102号" in body["rule_basis"]
    assert "004_31a27ecd68c2f343.txt" in body["rule_basis"]
    assert body["field"] == ("flags" if flags else "description" if description else "name")
    assert body["policy"] == "zhengzhou@2020.1"
    assert name in body["detail"] and "负面清单" in body["detail"]
    # nothing written
    after = await cat.read()
    assert after["items"] == [] and after["version"]["revision"] == rev


async def test_a_change_that_brings_an_item_onto_the_list_is_refused(cluster) -> None:
    """004: the negative list holds for every change too; the item stays as it was."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    await cat.add_ok("OK-01", "机关办公区保洁服务", "cleaning")
    rev = await cat.revision()
    r = await cat.http.patch(f"/catalogues/{cat.id}/items/OK-01",
                             json={"revision": rev, "description": "保洁人员以劳务派遣方式用工"},
                             headers=cat.purchaser())
    body = assert_problem(r, 422, "catalogue.item.negative_list", "description")
    assert body["rule"] == "hire_people_or_posts"
    after = await cat.read()
    assert after["items"][0]["description"] == "" and after["version"]["revision"] == rev
    r = await cat.http.patch(f"/catalogues/{cat.id}/items/OK-01", json={"revision": rev, "service_type": "nope"},
                             headers=cat.purchaser())
    assert_problem(r, 422, "catalogue.item.service_type_unknown", "service_type")


async def test_bad_items_are_refused_with_the_field(cluster) -> None:
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    assert_problem(await cat.add("X-01", "保洁", "no_such_type"), 422, "catalogue.item.service_type_unknown",
                   "service_type")
    assert_problem(await cat.add("X-01", "保洁", "cleaning", flags=["made_up"]), 422, "catalogue.item.flag_unknown",
                   "flags")
    assert_problem(await cat.add("bad code", "保洁", "cleaning"), 422, "request.invalid", "code")
    await cat.add_ok("X-01", "保洁", "cleaning")
    assert_problem(await cat.add("X-01", "保洁二", "cleaning"), 409, "catalogue.item.exists", "code")


async def test_reviewer_override_is_justified_narrow_and_listed_for_audit(cluster) -> None:
    """A finance reviewer may set a keyword match aside for one item as reviewed, with a justification; the
    override is listed for audit. Declared flags and rules the pack marks not overridable cannot be set aside."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    item = {"code": "EXAM-01", "name": "事业单位公开招聘考试考务组织服务", "service_type": "consulting",
            "description": "人员招聘考试的考场组织与阅卷服务"}
    refused = assert_problem(await cat.add(**item), 422, "catalogue.item.negative_list")
    assert refused["rule"] == "hire_people_or_posts" and refused["overridable"] is True

    url = f"/catalogues/{cat.id}/overrides"
    body = {"item": item, "rule_codes": ["hire_people_or_posts"],
            "justification": "考务组织是向社会力量购买的考试服务,不招聘、不派遣人员;经政府采购科复核。"}
    assert (await cat.http.post(url, json=body, headers=cat.purchaser())).status_code == 403
    other_region = c.auth("finance", org="XACZ", region="xian")
    assert_problem(await cat.http.post(url, json=body, headers=other_region), 404, "catalogue.catalogue.not_found")
    assert_problem(await cat.http.post(url, json=body | {"rule_codes": ["financing"]}, headers=cat.finance()),
                   422, "catalogue.override.not_needed", "rule_codes")
    assert_problem(await cat.http.post(url, json=body | {"justification": "ok"}, headers=cat.finance()),
                   422, "catalogue.override.justification_missing", "justification")
    flagged = body | {"item": item | {"flags": ["labour_dispatch"]}}
    assert_problem(await cat.http.post(url, json=flagged, headers=cat.finance()), 422,
                   "catalogue.override.not_allowed", "flags")

    r = await cat.http.post(url, json=body, headers=cat.finance())
    assert r.status_code == 201, r.text
    override = r.json()
    assert override["rule_codes"] == ["hire_people_or_posts"] and override["policy"] == "zhengzhou@2020.1"

    # the same item now enters, carrying the override; a different text would not
    assert_problem(await cat.add(**(item | {"description": "人员招聘及劳务派遣"})), 422, "catalogue.item.negative_list")
    added = await cat.add_ok(**item)
    assert added["override_ids"] == [override["id"]]

    listed = await cat.http.get("/overrides", params={"department": cat.department},
                                headers=c.auth("auditor", idempotency_key=False))
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["items"]] == [override["id"]]
    assert listed.json()["items"][0]["justification"].startswith("考务组织")
    assert (await cat.http.get("/overrides", headers=cat.purchaser())).status_code == 403
    theirs = await cat.http.get("/overrides", params={"department": cat.department},
                                headers=c.auth("finance", org="XACZ", region="xian", idempotency_key=False))
    assert theirs.json()["total"] == 0

    # the item stays purchasable once issued, with its override
    await cat.issue("2025-03-03")
    assert (await cat.purchasable("EXAM-01"))["purchasable"] is True


async def test_the_negative_list_is_policy_data_and_can_be_checked_in_advance(cluster) -> None:
    c = await cluster("catalogue")
    http = c.clients["catalogue"]
    r = await http.get("/negative-list", params={"region": "zhengzhou"})  # public
    assert r.status_code == 200 and r.json()["policy"] == "zhengzhou@2020.1"
    assert r.json()["publication_working_days"] == 10
    codes = [rule["code"] for rule in r.json()["rules"]]
    assert {"hire_people_or_posts", "works_services_bundle", "goods_or_works", "financing",
            "inherent_government_duty", "outside_government_duties", "prohibited_by_law"} <= set(codes)
    check = await http.post("/negative-list/check", headers=c.auth("purchaser", org="D1", idempotency_key=False),
                            json={"item": {"code": "Q-1", "name": "道路改造工程及养护服务", "service_type": "greening"},
                                  "region": "zhengzhou"})
    assert check.status_code == 200 and check.json()["allowed"] is False
    assert "works_services_bundle" in [v["code"] for v in check.json()["violations"]]
