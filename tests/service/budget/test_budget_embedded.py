"""The budget service on the embedded default (SQLite and the embedded log): the same code path."""

from __future__ import annotations

import asyncio

from tests.service.budget.helpers import approved_line, catalogue_for


async def test_workflow_and_ledger_on_sqlite(embedded_cluster) -> None:
    c = await embedded_cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="100.00")
    lid = line["line_id"]

    async def one(i: int):
        return await b.post(f"/lines/{lid}/reservations", json={"reservation_id": f"{lid}-{i}", "amount": "30.00"},
                            headers=c.auth("service"))

    answers = await asyncio.gather(*(one(i) for i in range(5)))
    assert sorted(r.status_code for r in answers) == [201, 201, 201, 422, 422]
    r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
    assert (r.json()["reserved"], r.json()["available"]) == ("90.00", "10.00")
