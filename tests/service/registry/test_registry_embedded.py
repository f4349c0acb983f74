"""The registry on the embedded default (SQLite and the embedded log): the same code path."""

from __future__ import annotations

from tests.service.registry.support import qualified_supplier, reason_codes


async def test_registry_on_the_embedded_default(embedded_cluster) -> None:
    c = await embedded_cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c)
    r = await api.post("/blacklist", json={"supplier_code": code, "reason": "旧案", "source": "violation",
                                           "starts_on": "2022-01-01", "years": 1}, headers=c.auth("finance"))
    assert r.status_code == 201, r.text
    r = await api.get(f"/suppliers/{code}/eligibility", params={"service_type": "property"},
                      headers=c.auth("service", org="contract", idempotency_key=False))
    assert r.status_code == 200 and r.json()["eligible"], r.text
    r = await api.get(f"/suppliers/{code}/eligibility", params={"service_type": "catering"},
                      headers=c.auth("service", org="contract", idempotency_key=False))
    assert reason_codes(r.json()) == ["service_type_not_offered", "qualification_missing"]
    entries = (await api.get("/blacklist", params={"supplier_code": code}, headers=c.auth("finance"))).json()
    assert entries["items"][0]["delisted"] is True
    listed = (await api.get("/directory", params={"service_type": "property"})).json()
    assert code in [d["credit_code"] for d in listed["items"]]
