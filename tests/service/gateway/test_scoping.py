"""No route lets one organisation read another's records: a record is made by its owner through the
gateway, then every GET route of that service that takes the record's id is called as another organisation
of the same role (and as finance of another region) and must answer 403 or 404; no list route may show it.
Generic over the routes: it walks whatever GET routes the service has when it runs."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI
from stdnum.cn import uscc

from services.chassis.auth import Allow, Principal
from tests.service.gateway.matrix import HEALTH, allowed_roles, flat_api_routes

YEAR = date.today().year  # a catalogue is issued within its fiscal year


def credit_code() -> str:
    """A valid unified social credit code (统一社会信用代码) that no other test uses."""
    body = "91410100" + uuid.uuid4().hex[:9].upper().replace("I", "J").replace("O", "P")
    body = re.sub(r"[ISOVZ]", "A", body)
    return body + uscc.calc_check_digit(body)


@dataclass
class Sweep:
    checked: list[str]
    leaks: list[str]
    inconclusive: list[str]


async def _get(gw, url: str, headers: dict[str, str]) -> httpx.Response:
    """GET; if the route wants query parameters the walk cannot know, once more with placeholders."""
    r = await gw.client.get(url, headers=headers)
    if r.status_code == 422 and r.json().get("code") == "request.invalid":
        missing = {e["field"]: "x" for e in r.json().get("errors", []) if e.get("rule") == "missing"}
        if missing:
            r = await gw.client.get(url, headers=headers, params=missing)
    return r


async def sweep(gw, app, service: str, param: str, record_id: str, others: dict[str, dict[str, str]]) -> Sweep:
    """GET every route of `service` whose only path parameter is `param` (with `record_id`) and every
    parameterless GET route, as each of `others`; the record must not be shown to them."""
    result = Sweep([], [], [])
    for path, methods, dependant in flat_api_routes(app):
        if "GET" not in methods or path in HEALTH:
            continue
        params = re.findall(r"\{(\w+)(?::\w+)?\}", path)
        roles = allowed_roles(dependant) or ()
        if params == [param]:
            url = f"/api/{service}" + re.sub(r"\{[^}]+\}", record_id, path)
        elif not params:
            url = f"/api/{service}{path}"
        else:
            continue
        for who, headers in others.items():
            r = await _get(gw, url, headers)
            result.checked.append(f"{path} as {who} ({'allowed' if who.split(':')[0] in roles else 'role refused'})")
            if params and r.status_code < 300:
                result.leaks.append(f"GET {url} as {who}: {r.status_code} {r.text[:200]}")
            elif params and r.status_code not in (401, 403, 404):
                result.inconclusive.append(f"GET {url} as {who}: {r.status_code} {r.text[:160]}")
            if not params and r.status_code == 200 and record_id in r.text:
                result.leaks.append(f"GET {url} as {who} lists {record_id}: {r.text[:200]}")
    return result


def _require(r, what: str) -> None:
    if r.status_code == 404 and r.json().get("code") == "not_found":
        pytest.skip(f"{what}: the route is not built yet")
    assert r.status_code in (200, 201), f"{what}: {r.status_code} {r.text}"


async def test_a_supplier_cannot_read_another_suppliers_records(stack) -> None:
    cluster, gw = stack
    mine, theirs = credit_code(), credit_code()
    owner = gw.auth("supplier", org=mine)
    r = await gw.client.post("/api/registry/suppliers", headers=owner, json={
        "credit_code": mine, "name": "郑州某物业服务有限公司", "kind": "enterprise", "region": "410100",
        "contacts": [{"name": "张三", "phone": "13800000000"}], "service_types": ["property_management"]})
    _require(r, "register a supplier")
    assert (await gw.client.get(f"/api/registry/suppliers/{mine}", headers=owner)).status_code == 200
    others = {f"supplier:{theirs}": gw.auth("supplier", org=theirs, key=False),
              "assessor:A-1": gw.auth("assessor", org="A-1", key=False),
              "public": {}}
    result = await sweep(gw, cluster.apps["registry"], "registry", "code", mine, others)
    print(f"\nregistry: {len(result.checked)} calls; inconclusive: {result.inconclusive}")
    assert result.checked and not result.leaks, "\n".join(result.leaks)
    # Nor can it change them.
    r = await gw.client.patch(f"/api/registry/suppliers/{mine}", json={"version": 1, "name": "冒名"},
                              headers=gw.auth("supplier", org=theirs))
    assert r.status_code in (403, 404), r.text


async def test_a_department_cannot_read_another_departments_catalogue(stack) -> None:
    cluster, gw = stack
    dept, other_dept = f"D-{uuid.uuid4().hex[:8]}", f"D-{uuid.uuid4().hex[:8]}"
    owner = gw.auth("purchaser", org=dept, region="410100")
    r = await gw.client.post("/api/catalogue/catalogues", headers=owner,
                             json={"fiscal_year": 2025, "region": "410100"})
    _require(r, "open a catalogue")
    cid = r.json()["id"] if "id" in r.json() else r.json()["catalogue_id"]
    assert (await gw.client.get(f"/api/catalogue/catalogues/{cid}", headers=owner)).status_code == 200
    others = {f"purchaser:{other_dept}": gw.auth("purchaser", org=other_dept, region="410100", key=False),
              "finance:other-region": gw.auth("finance", org="F-310000", region="310000", key=False),
              "supplier:S": gw.auth("supplier", org=credit_code(), key=False),
              "public": {}}
    result = await sweep(gw, cluster.apps["catalogue"], "catalogue", "catalogue_id", cid, others)
    print(f"\ncatalogue: {len(result.checked)} calls; inconclusive: {result.inconclusive}")
    assert result.checked and not result.leaks, "\n".join(result.leaks)
    r = await gw.client.post(f"/api/catalogue/catalogues/{cid}/items", headers=gw.auth("purchaser", org=other_dept),
                             json={"code": "X-01", "name": "冒名", "service_type": "property_management"})
    assert r.status_code in (403, 404), r.text


async def test_the_sweep_catches_a_leak(edge) -> None:
    # A service that shows every record to everyone: the sweep must report it.
    leaky = FastAPI()

    @leaky.get("/things/{thing_id}")
    async def get_thing(thing_id: str, p: Annotated[Principal, Allow("supplier")]) -> dict[str, str]:
        return {"id": thing_id}

    @leaky.get("/things")
    async def list_things(p: Annotated[Principal, Allow("supplier")]) -> dict[str, list[str]]:
        return {"items": ["secret-1"]}

    gw = await edge({"registry": httpx.ASGITransport(app=leaky)})
    leaky.state.keyring = gw.ring
    leaky.state.settings = gw.app.state.settings
    result = await sweep(gw, leaky, "registry", "thing_id", "secret-1",
                         {"supplier:B": gw.auth("supplier", org="B", key=False)})
    assert len(result.leaks) == 2


async def _budget_line(gw) -> tuple[str, str]:
    """A department's budget line on an item of its published catalogue; (line id, department)."""
    dept = f"D-{uuid.uuid4().hex[:8]}"
    owner = gw.auth("purchaser", org=dept, region="410100")
    r = await gw.client.post("/api/catalogue/catalogues", headers=owner, json={"fiscal_year": YEAR, "region": "410100"})
    _require(r, "open a catalogue")
    cid = r.json()["id"]
    types = (await gw.client.get("/api/catalogue/service-types", headers=owner)).json()
    item = f"{dept}-01"
    r = await gw.client.post(f"/api/catalogue/catalogues/{cid}/items", headers=gw.auth("purchaser", org=dept),
                             json={"code": item, "name": "机关物业管理服务", "service_type": types[0]["key"]})
    _require(r, "add an item")
    for step in ("issue", "publish"):
        rev = (await gw.client.get(f"/api/catalogue/catalogues/{cid}", headers=owner)).json()["version"]["revision"]
        r = await gw.client.post(f"/api/catalogue/catalogues/{cid}/{step}", json={"revision": rev},
                                 headers=gw.auth("finance", org="F-410100", region="410100"))
        _require(r, f"{step} the catalogue")
    r = await gw.client.post("/api/budget/lines", headers=gw.auth("purchaser", org=dept, region="410100"), json={
        "region": "410100", "fiscal_year": YEAR, "item_code": item, "name": f"{YEAR}年机关物业管理服务",
        "content": "办公区保洁、秩序维护", "recipients": "机关干部职工", "method": "public_tender",
        "amount": "1200000.00"})
    _require(r, "enter a budget line")
    line_id = r.json()["line_id"]
    assert (await gw.client.get(f"/api/budget/lines/{line_id}", headers=owner)).status_code == 200
    return line_id, dept


async def test_a_department_cannot_read_another_departments_budget_line(stack) -> None:
    cluster, gw = stack
    line_id, _ = await _budget_line(gw)
    others = {"purchaser:other-dept": gw.auth("purchaser", org="D-OTHER", region="410100", key=False),
              "finance:other-region": gw.auth("finance", org="F-310000", region="310000", key=False),
              "supplier:S": gw.auth("supplier", org=credit_code(), key=False),
              "assessor:A-1": gw.auth("assessor", org="A-1", key=False),
              "public": {}}
    result = await sweep(gw, cluster.apps["budget"], "budget", "line_id", line_id, others)
    print(f"\nbudget: {len(result.checked)} calls; inconclusive: {result.inconclusive}")
    assert result.checked and not result.leaks, "\n".join(result.leaks)
    r = await gw.client.post(f"/api/budget/lines/{line_id}/submit", json={"version": 1},
                             headers=gw.auth("purchaser", org="D-OTHER"))
    assert r.status_code in (403, 404), r.text


async def test_others_cannot_read_a_departments_contract(stack) -> None:
    cluster, gw = stack
    line_id, dept = await _budget_line(gw)
    supplier = credit_code()
    owner = gw.auth("purchaser", org=dept, region="410100")
    r = await gw.client.post("/api/contract/contracts", headers=owner, json={
        "title": "机关物业管理服务合同", "line_id": line_id, "supplier_code": supplier, "method": "public_tender",
        "amount": "1000000.00", "content": "办公区保洁、秩序维护", "starts_on": f"{YEAR}-01-01",
        "ends_on": f"{YEAR}-12-31", "quantity_standard": "每日保洁两次", "quality_standard": "满意度不低于90%",
        "pricing_method": "固定总价", "schedule": "quarterly", "rights_obligations": "按合同约定",
        "liability": "按合同约定", "assessment_plan": {"assessor_org": "A-ASSIGNED"}})
    _require(r, "draft a contract")
    body = r.json()
    contract_id = body.get("contract_id") or body["id"]
    others = {"purchaser:other-dept": gw.auth("purchaser", org="D-OTHER", region="410100", key=False),
              "finance:other-region": gw.auth("finance", org="F-310000", region="310000", key=False),
              "supplier:other": gw.auth("supplier", org=credit_code(), key=False),
              "assessor:not-assigned": gw.auth("assessor", org="A-OTHER", key=False),
              "public": {}}
    result = await sweep(gw, cluster.apps["contract"], "contract", "contract_id", contract_id, others)
    print(f"\ncontract: {len(result.checked)} calls; inconclusive: {result.inconclusive}")
    assert result.checked and not result.leaks, "\n".join(result.leaks)


async def _assessment_plan(gw) -> tuple[str, dict[str, str]]:
    """A plan made by a department for a contract, assigned to assessor A-ASSIGNED; (plan id, owner headers)."""
    dept = f"D-{uuid.uuid4().hex[:8]}"
    owner = gw.auth("purchaser", org=dept, region="410100")
    r = await gw.client.get("/api/assessment/indicator-templates", headers=owner)
    _require(r, "list indicator templates")
    r = await gw.client.post("/api/assessment/plans", headers=owner, json={
        "contract_id": str(uuid.uuid4()), "supplier_code": credit_code(), "service_type": r.json()["items"][0]["key"],
        "department": dept, "period_kind": "quarterly", "periods": [f"{YEAR}-Q1", f"{YEAR}-Q2"],
        "assessor_org": "A-ASSIGNED"})
    _require(r, "make an assessment plan")
    plan_id = r.json()["id"]
    assert (await gw.client.get(f"/api/assessment/plans/{plan_id}", headers=owner)).status_code == 200
    assigned = gw.auth("assessor", org="A-ASSIGNED", key=False)
    assert (await gw.client.get(f"/api/assessment/plans/{plan_id}", headers=assigned)).status_code == 200
    return plan_id, owner


async def test_others_cannot_read_a_departments_assessment_plan(stack) -> None:
    cluster, gw = stack
    plan_id, _ = await _assessment_plan(gw)
    others = {"purchaser:other-dept": gw.auth("purchaser", org="D-OTHER", region="410100", key=False),
              "supplier:other": gw.auth("supplier", org=credit_code(), key=False),
              "assessor:not-assigned": gw.auth("assessor", org="A-OTHER", key=False),
              "public": {}}
    result = await sweep(gw, cluster.apps["assessment"], "assessment", "plan_id", plan_id, others)
    print(f"\nassessment: {len(result.checked)} calls; inconclusive: {result.inconclusive}")
    assert result.checked and not result.leaks, "\n".join(result.leaks)


async def test_finance_of_another_region_cannot_read_an_assessment_plan(stack) -> None:
    cluster, gw = stack
    plan_id, _ = await _assessment_plan(gw)
    others = {"finance:other-region": gw.auth("finance", org="F-310000", region="310000", key=False)}
    result = await sweep(gw, cluster.apps["assessment"], "assessment", "plan_id", plan_id, others)
    assert result.checked and not result.leaks, "\n".join(result.leaks)
