"""Contract notices (合同公告, public): awarded and signed contracts, never drafts, nothing internal, no token."""

from __future__ import annotations

from tests.service.contract.support import YEAR, World, assert_problem

SERVICES = ("contract", "budget", "registry", "catalogue")
PRIVATE = ("reviewed_by", "review_note", "eligibility", "method_decision", "line_snapshot", "reservation_id",
           "flag_reason", "status_reason", "created_by", "filing_document", "version")


async def test_contract_notices_are_public_without_drafts_and_paginated(cluster) -> None:
    c = await cluster(*SERVICES)
    w = World(c)
    api = w.api
    signed = await w.signed("600000.00")
    line = await w.line("300000.00")
    code = await w.supplier_code()
    awarded = await w.award_ok(await w.draft_ok(line, code, amount="300000.00"))
    draft = await w.draft_ok(await w.line("200000.00"), code, amount="200000.00")

    r = await api.get("/public/contract-notices", params={"department": w.department})
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    ids = [i["contract_id"] for i in page["items"]]
    assert set(ids) == {signed["id"], awarded["id"]} and draft["id"] not in ids
    notice = next(i for i in page["items"] if i["contract_id"] == signed["id"])
    assert notice["amount"] == "600000.00" and notice["status"] == "signed"
    assert notice["signed_on"] == signed["signed_on"] and notice["filed"] is False
    assert (notice["department"], notice["supplier_code"], notice["method"]) == (
        w.department, signed["supplier_code"], "public_tender")
    assert (notice["starts_on"], notice["ends_on"], notice["fiscal_year"]) == ("2025-01-01", "2025-12-31", YEAR)
    assert notice["content"] and notice["service_type"] == "property"
    assert not set(PRIVATE) & set(notice)

    # filters and pagination
    r = await api.get("/public/contract-notices", params={"department": w.department, "supplier_code": code})
    assert [i["contract_id"] for i in r.json()["items"]] == [awarded["id"]]
    r = await api.get("/public/contract-notices", params={"department": w.department, "year": YEAR + 1})
    assert r.json()["total"] == 0
    r = await api.get("/public/contract-notices", params={"department": w.department, "limit": 1, "offset": 1})
    assert r.json()["total"] == 2 and len(r.json()["items"]) == 1 and r.json()["items"][0]["contract_id"] in ids
    assert (await api.get("/public/contract-notices", params={"limit": 500})).status_code == 422
    assert (await api.get("/public/contract-notices")).status_code == 200

    # one notice; a draft or an unknown id is 404 (not probed)
    r = await api.get(f"/public/contract-notices/{signed['id']}")
    assert r.status_code == 200 and r.json()["contract_id"] == signed["id"], r.text
    assert_problem(await api.get(f"/public/contract-notices/{draft['id']}"), 404, "contract.notice.not_found")
    assert_problem(await api.get("/public/contract-notices/nope"), 404, "contract.notice.not_found")
    # a token is not needed, but one does no harm
    r = await api.get(f"/public/contract-notices/{awarded['id']}", headers=w.supplier(code, idempotency_key=False))
    assert r.status_code == 200 and r.json()["status"] == "awarded"
