"""The funds ledger on Postgres: reserve (idempotent by reservation id), release, record payment;
available = approved − reserved − paid never goes below zero, also under 50 concurrent reservations."""

from __future__ import annotations

import asyncio

from tests.service.budget.helpers import approved_line, catalogue_for, create_line, uid


async def test_reserve_release_pay(cluster) -> None:
    """CONTRIBUTING agreement: POST /lines/{id}/reservations and POST /reservations/{id}/release."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="500000.00")
    lid = line["line_id"]
    def svc() -> dict[str, str]:
        return c.auth("service", org="contract")

    rid, cid = uid("res-"), uid("ctr-")
    async with c.probe("budget") as probe:
        r = await b.post(f"/lines/{lid}/reservations", json={"reservation_id": rid, "amount": "300000.00",
                                                             "contract_id": cid}, headers=svc())
        assert r.status_code == 201, r.text
        assert r.json()["available_after"] == "200000.00"
        assert r.json()["line_id"] == lid and r.json()["amount"] == "300000.00"
        # the same reservation id again (another Idempotency-Key): the same answer, nothing reserved twice
        again = await b.post(f"/lines/{lid}/reservations", json={"reservation_id": rid, "amount": "300000.00",
                                                                 "contract_id": cid}, headers=c.auth("service"))
        assert again.status_code == 201
        assert again.json()["reservation_id"] == rid and again.json()["available_after"] == "200000.00"
        # the same id with other terms is a conflict
        r = await b.post(f"/lines/{lid}/reservations", json={"reservation_id": rid, "amount": "1.00",
                                                             "contract_id": cid}, headers=c.auth("service"))
        assert r.status_code == 409
        r = await b.post(f"/lines/{lid}/reservations", json={"reservation_id": uid("res-"), "amount": "200000.01"},
                         headers=c.auth("service"))
        assert r.status_code == 422
        assert r.json()["code"] == "budget.funds.insufficient"
        assert r.json()["field"] == "amount"

        r = await b.post(f"/reservations/{rid}/payments", json={"payment_id": uid("pay-"), "amount": "100000.00",
                                                               "period": "2025-H1"}, headers=c.auth("service"))
        assert r.status_code == 201, r.text
        assert r.json()["paid_total"] == "100000.00"
        r = await b.get(f"/lines/{lid}", headers=svc())
        got = r.json()
        assert (got["approved_amount"], got["reserved"], got["paid"], got["available"]) == (
            "500000.00", "200000.00", "100000.00", "200000.00")

        r = await b.post(f"/reservations/{rid}/release", json={"reason": "合同提前终止"}, headers=svc())
        assert r.status_code == 200, r.text
        assert r.json()["released"] == "200000.00"
        assert r.json()["available_after"] == "400000.00"
        r = await b.post(f"/reservations/{rid}/release", json={"reason": "again"}, headers=svc())
        assert r.status_code == 200
        assert r.json()["released"] == "0.00"  # idempotent
        assert r.json()["available_after"] == "400000.00"

        await probe.wait_for("budget.funds.reserved", lambda e: e["reservation_id"] == rid)
        await probe.wait_for("budget.payment.recorded", lambda e: e["reservation_id"] == rid)
        await probe.wait_for("budget.funds.released", lambda e: e["reservation_id"] == rid)
        await probe.settle(0.5)
        assert len(probe.matching("budget.funds.reserved", lambda e: e["reservation_id"] == rid)) == 1
        assert len(probe.matching("budget.funds.released", lambda e: e["reservation_id"] == rid)) == 1

    r = await b.get(f"/lines/{lid}/ledger", headers=c.auth("auditor"))
    assert [(e["kind"], e["amount"], e["available_after"]) for e in r.json()["entries"]] == [
        ("reserve", "300000.00", "200000.00"), ("payment", "100000.00", "200000.00"),
        ("release", "200000.00", "400000.00")]


async def test_reservation_refusals(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 先有预算、后购买服务; 100万元(含)以上 only after finance approval."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    draft = await create_line(d)
    r = await b.post(f"/lines/{draft['line_id']}/reservations", json={"reservation_id": uid(), "amount": "1.00"},
                     headers=c.auth("service"))
    assert r.status_code == 422
    assert r.json()["code"] == "budget.line.not_approved"
    big = await approved_line(d, amount="1200000.00", finance_approve=False)
    body = {"reservation_id": uid(), "amount": "1000.00", "contract_id": uid()}
    r = await b.post(f"/lines/{big['line_id']}/reservations", json=body, headers=c.auth("service"))
    assert r.status_code == 422
    assert r.json()["code"] == "budget.finance_approval.missing"
    r = await b.post(f"/lines/{big['line_id']}/finance-approval", json={}, headers=d.finance())
    assert r.status_code == 200
    r = await b.post(f"/lines/{big['line_id']}/reservations", json=body, headers=c.auth("service"))
    assert r.status_code == 201, r.text
    # a purchaser of another department cannot see (404), an auditor cannot write (403)
    r = await b.post(f"/lines/{big['line_id']}/reservations", json={"reservation_id": uid(), "amount": "1.00"},
                     headers=c.auth("purchaser", org=uid("D")))
    assert r.status_code == 404
    r = await b.post(f"/lines/{big['line_id']}/reservations", json={"reservation_id": uid(), "amount": "1.00"},
                     headers=c.auth("auditor"))
    assert r.status_code == 403
    r = await b.post(f"/reservations/{uid()}/release", json={"reason": "x"}, headers=c.auth("service"))
    assert r.status_code == 404
    r = await b.post(f"/lines/{big['line_id']}/reservations", json={"reservation_id": uid(), "amount": "-5.00"},
                     headers=c.auth("service"))
    assert r.status_code == 422


async def test_50_concurrent_reservations_never_overcommit(cluster) -> None:
    """50 reservations of 30.00 at once on a line of 1000.00: 33 succeed, 17 are refused, available 10.00;
    the row lock on the line serialises them (and a CHECK constraint backs the invariant)."""
    c = await cluster("budget", "catalogue")
    d = await catalogue_for(c)
    b = c.clients["budget"]
    line = await approved_line(d, amount="1000.00")
    lid = line["line_id"]

    async def one(i: int):
        return await b.post(f"/lines/{lid}/reservations",
                            json={"reservation_id": f"{lid}-{i}", "amount": "30.00", "contract_id": f"c-{i}"},
                            headers=c.auth("service", org="contract"))

    answers = await asyncio.gather(*(one(i) for i in range(50)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 33, [r.text for r in answers if r.status_code not in (201, 422)]
    assert codes.count(422) == 17
    assert all(r.json()["code"] == "budget.funds.insufficient" for r in answers if r.status_code == 422)
    afters = sorted(r.json()["available_after"] for r in answers if r.status_code == 201)
    assert len(set(afters)) == 33  # each saw the one before it

    r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
    got = r.json()
    assert (got["reserved"], got["available"]) == ("990.00", "10.00")
    r = await b.get(f"/lines/{lid}/ledger", headers=c.auth("auditor"))
    assert len(r.json()["reservations"]) == 33

    # the same reservation id 10 times at once: one reservation
    async def same():
        return await b.post(f"/lines/{lid}/reservations",
                            json={"reservation_id": f"{lid}-same", "amount": "10.00"}, headers=c.auth("service"))

    answers = await asyncio.gather(*(same() for _ in range(10)))
    assert {r.status_code for r in answers} == {201}
    assert {r.json()["available_after"] for r in answers} == {"0.00"}
    r = await b.get(f"/lines/{lid}", headers=c.auth("auditor"))
    assert (r.json()["reserved"], r.json()["available"]) == ("1000.00", "0.00")
