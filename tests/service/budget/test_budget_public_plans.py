"""The annual plans across departments (年度政府购买服务计划, public): approved lines only, no token, paginated."""

from __future__ import annotations

from tests.service.budget.helpers import approved_line, catalogue_for, create_line


async def test_annual_plans_list_is_public_approved_only_and_paginated(cluster) -> None:
    c = await cluster("budget", "catalogue")
    b = c.clients["budget"]
    d = await catalogue_for(c)
    other = await catalogue_for(c, region=d.region)
    big = await approved_line(d, amount="900000.00", name="机关物业服务")
    small = await approved_line(d, amount="120000.00", name="会务保障服务")
    await approved_line(other, amount="300000.00", name="另一部门物业")
    draft = await create_line(d, amount="50000.00", name="草稿项目")
    submitted = await create_line(d, amount="60000.00", name="已提交未批复")
    r = await b.post(f"/lines/{submitted['line_id']}/submit", json={}, headers=d.purchaser())
    assert r.status_code == 200, r.text

    # anonymous: no token at all
    r = await b.get("/plans", params={"department": d.code, "fiscal_year": d.year})
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert [i["line_id"] for i in page["items"]] == [big["line_id"], small["line_id"]]
    ids = {i["line_id"] for i in page["items"]}
    assert draft["line_id"] not in ids and submitted["line_id"] not in ids
    item = page["items"][0]
    assert item["amount"] == "900000.00" and item["name"] == "机关物业服务"
    assert (item["department"], item["region"], item["fiscal_year"]) == (d.code, d.region, d.year)
    assert set(item) == {"line_id", "name", "level1_class", "service_type", "content", "recipients", "method",
                         "method_label", "amount", "one_off", "department", "region", "fiscal_year"}

    # across departments of a region, without a department; pagination
    r = await b.get("/plans", params={"region": d.region, "limit": 2})
    assert r.status_code == 200 and r.json()["total"] == 3 and len(r.json()["items"]) == 2
    r2 = await b.get("/plans", params={"region": d.region, "limit": 2, "offset": 2})
    assert r2.json()["total"] == 3 and len(r2.json()["items"]) == 1
    seen = {i["line_id"] for i in r.json()["items"] + r2.json()["items"]}
    assert len(seen) == 3 and {big["line_id"], small["line_id"]} <= seen

    # with no filter at all it answers (what the gateway's /api/public/annual-plans forwards to)
    r = await b.get("/plans")
    assert r.status_code == 200 and r.json()["total"] >= 3
    assert (await b.get("/plans", params={"limit": 201})).status_code == 422
