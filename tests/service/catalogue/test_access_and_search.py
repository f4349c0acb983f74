"""Roles and scope, idempotent creates, reference data, search with pagination, and the purchasable answer
the budget service relies on (CONTRIBUTING.md, agreements between services)."""

from __future__ import annotations

import uuid

from tests.service.catalogue.helpers import Cat, assert_problem, dept


async def test_reference_data_is_public(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 一级目录 6 大类; 二级目录 教育、就业等 service types."""
    c = await cluster("catalogue")
    http = c.clients["catalogue"]
    classes = (await http.get("/classes")).json()
    assert [x["code"] for x in classes] == ["A", "B", "C", "D", "E", "F"] and classes[0]["name"] == "基本公共服务"
    types = (await http.get("/service-types", params={"level1_class": "E"})).json()
    keys = {t["key"] for t in types}
    assert {"property", "catering", "leasing", "cleaning", "security", "repair", "conference", "greening",
            "legal_advice"} <= keys
    assert all(t["level1_class"] == "government_auxiliary" for t in types)
    everything = {t["key"] for t in (await http.get("/service-types")).json()}
    assert {"education", "employment", "elderly_care", "public_health", "technology_promotion", "audit"} <= everything


async def test_roles_and_scope(cluster) -> None:
    """CONTRIBUTING.md: a purchaser edits its own department's catalogue; finance issues, publishes and overrides
    in its region; another organisation's record answers 404; the public reads published catalogues only."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    other = c.auth("purchaser", org=dept())
    http = cat.http

    assert_problem(await http.post("/catalogues", json={"fiscal_year": 2025, "department": "SOMEONE-ELSE"},
                                   headers=cat.purchaser()), 403, "catalogue.scope.department", "department")
    dup = await http.post("/catalogues", json={"fiscal_year": 2025, "region": "zhengzhou"}, headers=cat.purchaser())
    assert_problem(dup, 409, "catalogue.catalogue.exists", "fiscal_year")
    assert dup.json()["catalogue_id"] == cat.id

    # another department neither sees nor edits the draft
    assert_problem(await http.get(f"/catalogues/{cat.id}", headers=other), 404, "catalogue.catalogue.not_found")
    r = await http.post(f"/catalogues/{cat.id}/items", json={"code": "Z-1", "name": "保洁", "service_type": "cleaning"},
                        headers=other)
    assert_problem(r, 404, "catalogue.catalogue.not_found")
    # a purchaser does not issue; finance does not edit items; finance of another region sees nothing
    await cat.add_ok("Z-1", "保洁服务", "cleaning")
    rev = await cat.revision()
    r = await http.post(f"/catalogues/{cat.id}/issue", json={"revision": rev, "issued_on": "2025-03-03"},
                        headers=cat.purchaser())
    assert_problem(r, 403, "auth.role.forbidden")
    r = await http.post(f"/catalogues/{cat.id}/items", json={"code": "Z-2", "name": "安保", "service_type": "security"},
                        headers=cat.finance())
    assert_problem(r, 403, "auth.role.forbidden")
    xian = c.auth("finance", org="XACZ", region="xian")
    r = await http.post(f"/catalogues/{cat.id}/issue", json={"revision": rev, "issued_on": "2025-03-03"}, headers=xian)
    assert_problem(r, 404, "catalogue.catalogue.not_found")
    assert (await http.get(f"/catalogues/{cat.id}", headers=cat.finance(idempotency_key=False))).status_code == 200
    assert (await http.get(f"/catalogues/{cat.id}",
                           headers=c.auth("auditor", idempotency_key=False))).status_code == 200
    # the public: no writes, no drafts
    r = await http.post("/catalogues", json={"fiscal_year": 2025}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert_problem(r, 401, "auth.required")
    listed = (await http.get("/catalogues", params={"department": cat.department})).json()
    assert listed["total"] == 0
    await cat.issue_and_publish("2025-03-03", "2025-03-05")
    listed = (await http.get("/catalogues", params={"department": cat.department})).json()
    assert listed["total"] == 1 and listed["items"][0]["version"]["status"] == "published"
    assert (await http.get(f"/catalogues/{cat.id}", headers=other)).status_code == 200  # published: public


async def test_creates_are_idempotent(cluster) -> None:
    """CONTRIBUTING.md: every create takes an Idempotency-Key; the same key and body get the same answer."""
    c = await cluster("catalogue")
    department = dept()
    headers = c.auth("purchaser", org=department)
    http = c.clients["catalogue"]
    first = await http.post("/catalogues", json={"fiscal_year": 2026}, headers=headers)
    again = await http.post("/catalogues", json={"fiscal_year": 2026}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    other_body = await http.post("/catalogues", json={"fiscal_year": 2027}, headers=headers)
    assert_problem(other_body, 409, "request.idempotency_key.reused")
    no_key = await http.post("/catalogues", json={"fiscal_year": 2027},
                             headers={"Authorization": headers["Authorization"]})
    assert_problem(no_key, 400, "request.idempotency_key.missing", "Idempotency-Key")
    item = {"code": "I-1", "name": "会议服务", "service_type": "conference"}
    cid = first.json()["id"]
    h2 = c.auth("purchaser", org=department)
    one = await http.post(f"/catalogues/{cid}/items", json=item, headers=h2)
    two = await http.post(f"/catalogues/{cid}/items", json=item, headers=h2)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    got = await http.get(f"/catalogues/{cid}", headers=h2)
    assert len(got.json()["items"]) == 1


async def test_search_by_code_name_class_type_department_year_with_pagination(cluster) -> None:
    c = await cluster("catalogue")
    tag = uuid.uuid4().hex[:5].upper()
    a, b = Cat(c, dept()), Cat(c, dept())
    await a.open(2025)
    await a.add_ok(f"{tag}-PROP", "机关物业管理服务", "property")
    await a.add_ok(f"{tag}-ELD", "社区居家养老服务", "elderly_care")
    await a.issue_and_publish("2025-03-03", "2025-03-05")
    await b.open(2024)
    await b.add_ok(f"{tag}-CAT", "机关食堂餐饮服务", "catering")
    await b.add_ok(f"{tag}-PROP2", "办公楼物业管理服务", "E06")
    await b.issue_and_publish("2024-03-04", "2024-03-06")
    await b.adjust("草稿中的调整")
    await b.add_ok(f"{tag}-DRAFT", "草稿物业", "property")
    http = a.http

    async def search(headers=None, **params):
        r = await http.get("/items", params=params, headers=headers or {})
        assert r.status_code == 200, r.text
        return r.json()

    everything = await search(code=tag)
    assert everything["total"] == 4 and everything["limit"] == 50  # the draft item is not public
    assert [i["code"] for i in everything["items"]] == sorted(i["code"] for i in everything["items"])
    page = await search(code=tag, limit=2, offset=2)
    assert page["total"] == 4 and len(page["items"]) == 2 and page["offset"] == 2
    assert [i["code"] for i in page["items"]] == [i["code"] for i in everything["items"]][2:]
    assert {i["code"] for i in (await search(code=tag, name="物业"))["items"]} == {f"{tag}-PROP", f"{tag}-PROP2"}
    assert {i["code"] for i in (await search(code=tag, service_type="property"))["items"]} == {
        f"{tag}-PROP", f"{tag}-PROP2"}
    assert {i["code"] for i in (await search(code=tag, level1_class="A"))["items"]} == {f"{tag}-ELD"}
    assert {i["code"] for i in (await search(code=tag, level1_class="basic_public_services"))["items"]} == {
        f"{tag}-ELD"}
    by_dept = await search(department=b.department)
    assert {i["code"] for i in by_dept["items"]} == {f"{tag}-CAT", f"{tag}-PROP2"}
    assert all(i["department"] == b.department and i["fiscal_year"] == 2024 for i in by_dept["items"])
    assert {i["code"] for i in (await search(code=tag, year=2025))["items"]} == {f"{tag}-PROP", f"{tag}-ELD"}
    assert (await search(code=f"{tag}-PROP", department=a.department))["total"] == 1
    own_drafts = await search(b.purchaser(idempotency_key=False), department=b.department, include_drafts="true")
    assert f"{tag}-DRAFT" in {i["code"] for i in own_drafts["items"]}
    assert f"{tag}-DRAFT" not in {i["code"] for i in (await search(department=b.department,
                                                                   include_drafts="true"))["items"]}
    assert_problem(await http.get("/items", params={"service_type": "nope"}), 422,
                   "catalogue.search.service_type_unknown", "service_type")
    assert_problem(await http.get("/items", params={"limit": 500}), 422, "request.invalid", "limit")
    # as of a date before the catalogue was issued, nothing of it is in force
    assert (await search(department=a.department, as_of="2025-01-01"))["total"] == 0


async def test_purchasable_follows_the_agreement(cluster) -> None:
    """CONTRIBUTING.md: `GET /items/{code}/purchasable?department=&year=` → the agreed fields; an unknown item is
    `purchasable: false` with a reason (200). 004: 先有预算、后购买服务 within the department's catalogue."""
    c = await cluster("catalogue")
    cat = Cat(c, dept())
    agreed = {"item_code", "purchasable", "reasons", "name", "level1_class", "service_type", "catalogue_id",
              "catalogue_version"}
    none = await cat.purchasable("P-1")
    assert agreed <= set(none) and none["purchasable"] is False and "no guidance catalogue" in none["reasons"][0]
    await cat.open(2025)
    await cat.add_ok("P-1", "机关物业管理服务", "property")
    draft_only = await cat.purchasable("P-1")
    assert draft_only["purchasable"] is False and "not been issued" in draft_only["reasons"][0]
    await cat.issue_and_publish("2025-03-03", "2025-03-05")
    yes = await cat.purchasable("P-1")
    assert {k: yes[k] for k in agreed - {"reasons"}} == {
        "item_code": "P-1", "purchasable": True, "name": "机关物业管理服务", "level1_class": "government_auxiliary",
        "service_type": "property", "catalogue_id": cat.id, "catalogue_version": 1}
    unknown = await cat.purchasable("NOPE-9")
    assert unknown["purchasable"] is False and unknown["name"] is None and "NOPE-9" in unknown["reasons"][0]
    other_year = await cat.purchasable("P-1", year=2026)
    assert other_year["purchasable"] is False
    # the purchaser's own token, passed on by the budget service, gets the same answer
    assert (await cat.purchasable("P-1", headers=cat.purchaser(idempotency_key=False)))["purchasable"] is True
    r = await cat.http.get("/items/P-1/purchasable", params={"year": 2025},
                           headers=c.auth("service", org="budget", idempotency_key=False))
    assert_problem(r, 422, "request.invalid", "department")
    assert (await cat.http.get("/items/P-1/purchasable", params={"department": cat.department,
                                                                 "year": 2025})).status_code == 401


async def test_concurrent_adds_of_one_code_give_one_item_and_a_conflict(cluster) -> None:
    """Nothing half-written under concurrency: two adds of the same code → one 201 and one 409, never a 5xx."""
    import asyncio

    c = await cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    results = await asyncio.gather(*(cat.add("SAME-1", f"保洁服务{i}", "cleaning") for i in range(4)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [r.text for r in results]
    after = await cat.read()
    assert [i["code"] for i in after["items"]] == ["SAME-1"] and after["version"]["revision"] == 2


async def test_the_same_rules_on_the_embedded_default(embedded_cluster) -> None:
    """DESIGN.md: one code path — SQLite and the embedded log run the same catalogue rules."""
    c = await embedded_cluster("catalogue")
    cat = Cat(c, dept())
    await cat.open(2025)
    await cat.add_ok("E-1", "机关物业管理服务", "property")
    assert_problem(await cat.add("E-2", "劳务派遣人员", "property"), 422, "catalogue.item.negative_list")
    issued = (await cat.issue("2025-09-26")).json()
    assert issued["version"]["publication_due"] == "2025-10-16"
    await cat.publish("2025-10-16")
    hits = (await cat.http.get("/items", params={"name": "物业", "department": cat.department})).json()
    assert hits["total"] == 1
    assert (await cat.purchasable("E-1"))["purchasable"] is True
