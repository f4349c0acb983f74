"""Flows 2 and 3 (DESIGN "The automated flows") end to end through the gateway, on Postgres and Kafka.
Two failing periods in a row → the registry blacklists the supplier (policy: 连续两期考核不合格, 1 year) →
the contract service flags the supplier's live contracts for termination review and refuses a new award to it,
with the reason (problem+json through the gateway); next-cycle eligibility changes with its reasons and
`registry.supplier.eligibility.changed` goes out. A good cycle qualifies the supplier for a single-source
renewal, which is then awarded. Seeds: 001 (退出机制: 黑名单; a failing cycle excludes the next), 002 (Changzhou:
single-source renewal after a good last cycle; 一票否决)."""

from __future__ import annotations

from tests.support.cluster import poll
from tests.support.flow import YEAR, World, assert_problem, fen, percent_of

Q3, Q4 = f"{YEAR}-Q3", f"{YEAR}-Q4"


async def test_two_failing_periods_blacklist_the_supplier_flag_its_contracts_and_refuse_a_new_award(goumai) -> None:
    w = World(goumai)
    [item] = await w.catalogue("property")
    line = await w.line(item, "800000.00", one_off=True)  # 一事一议, under 100万: no finance approval needed
    assert line["one_off"] is True and line["finance_approval_required"] is False
    next_line = await w.line(item, "300000.00")
    supplier = await w.supplier_code()
    contract = await w.signed(line, supplier, "800000.00", schedule="quarterly")  # 200000.00 a quarter
    before = await w.eligibility(supplier)
    assert (before["eligible"], before["reasons"]) == (True, []), before

    async with goumai.cluster.probe("registry", "contract") as probe:
        plan = await w.plan(contract)
        # the third and fourth quarters fail (the cycle's last period ends on 31 December of last year, so its
        # 12-month exclusion from the next cycle is still running today)
        await w.assess(plan, Q3, "不合格")

        # one failing period: recorded, paid at 70%, not yet blacklisted
        async def recorded(n: int) -> bool:
            perf = await w.call("GET", f"/api/registry/suppliers/{supplier}/performance", w.finance)
            return len(perf["periods"]) >= n

        await poll(lambda: recorded(1), message="the registry recorded the first period")
        await w.settled(contract["id"], 1)
        entries = await w.call("GET", "/api/registry/blacklist", w.finance, params={"supplier_code": supplier})
        assert entries["total"] == 0, entries
        assert not probe.matching("registry.supplier.blacklisted", lambda d: d["supplier_code"] == supplier)

        second = await w.assess(plan, Q4, "不合格")
        [listed] = await probe.wait_for("registry.supplier.blacklisted", lambda d: d["supplier_code"] == supplier)
        [flag] = await probe.wait_for("contract.flagged", lambda d: d["contract_id"] == contract["id"])
        [changed] = await probe.wait_for(
            "registry.supplier.eligibility.changed",
            lambda d: d["supplier_code"] == supplier and any(r.startswith("blacklisted:") for r in d["reasons"]))
        await probe.settle(1.0)
        assert len(probe.matching("registry.supplier.blacklisted", lambda d: d["supplier_code"] == supplier)) == 1
        assert len(probe.matching("contract.flagged", lambda d: d["contract_id"] == contract["id"])) == 1
        assert changed.data["eligible"] is False

    # the registry: an entry from the assessment rule, one year
    entries = await w.call("GET", "/api/registry/blacklist", w.finance, params={"supplier_code": supplier})
    [entry] = entries["items"]
    assert entry["source"] == "assessment" and entry["rule"] == "consecutive_failing", entry
    assert entry["assessment_id"] == second["id"] and entry["status"] == "in_force"
    assert "连续两期考核不合格" in entry["reason"] and entry["ends_on"] == listed.data["ends_on"]
    assert listed.data["entry_id"] == entry["entry_id"]

    # the contract service: the live contract flagged for termination review, with the reason
    flagged = await w.get_contract(contract["id"])
    assert flagged["flagged"] is True and "连续两期考核不合格" in flagged["flag_reason"], flagged
    assert flag.data["cause_event_id"] == listed.id and flag.data["line_id"] == line["line_id"]
    # both failing quarters settled at 70%, the rest withheld
    body = await w.settled(contract["id"], 2)
    assert [(s["period"], s["amount"], s["withheld"]) for s in body["items"]] == [
        (Q3, "140000.00", "60000.00"), (Q4, "140000.00", "60000.00")]

    # a new award to it is refused through the gateway, with the reason; nothing is reserved
    draft = await w.draft(next_line, supplier, "300000.00")
    r = await w.award(draft, status=None)
    refusal = assert_problem(r, 422, "contract.supplier.blacklisted")
    assert refusal["field"] == "supplier_code" and "连续两期考核不合格" in refusal["detail"], refusal
    assert entry["ends_on"] in refusal["detail"]
    untouched = await w.get_line(next_line["line_id"])
    assert (untouched["reserved"], untouched["available"]) == ("0.00", "300000.00")
    assert (await w.get_contract(draft["id"]))["status"] == "draft"

    # next-cycle eligibility: not eligible, with every reason, and the change went out on the bus
    after = await w.eligibility(supplier)
    codes = {r["code"]: r for r in after["reasons"]}
    assert after["eligible"] is False and set(codes) == {"blacklisted", "last_cycle_failing"}, after
    assert codes["blacklisted"]["until"] == entry["ends_on"]
    assert codes["last_cycle_failing"]["until"] == f"{YEAR + 1}-12-31"  # 12 months after the cycle's end
    assert after["last_cycle"]["average"] == "49.00" and after["last_cycle"]["grade"] == "不合格"
    last = changed.data
    assert {r.split(":", 1)[0] for r in last["reasons"]} == {"blacklisted", "last_cycle_failing"}, last
    assert last["service_type"] == "property" and last["single_source_renewal"] is False


async def test_a_good_cycle_makes_the_supplier_eligible_for_a_single_source_renewal(goumai) -> None:
    w = World(goumai)
    [item] = await w.catalogue("property")
    line = await w.line(item, "600000.00")
    supplier = await w.supplier_code()
    contract = await w.signed(line, supplier, "600000.00", schedule="half_yearly")
    before = await w.eligibility(supplier, method="single_source")
    assert before["eligible"] is False and before["single_source_renewal"] is False
    assert [r["code"] for r in before["reasons"]] == ["single_source_no_last_cycle"], before

    async with goumai.cluster.probe("registry") as probe:
        plan = await w.plan(contract)
        await w.assess(plan, f"{YEAR}-H1", "优秀")
        await w.assess(plan, f"{YEAR}-H2", "良好")  # the cycle averages (100 + 88) / 2 = 94 ≥ 85
        [changed] = await probe.wait_for("registry.supplier.eligibility.changed",
                                         lambda d: d["supplier_code"] == supplier and d["single_source_renewal"])
        assert changed.data["eligible"] is True and changed.data["reasons"] == []

    after = await w.eligibility(supplier, method="single_source")
    assert (after["eligible"], after["single_source_renewal"], after["reasons"]) == (True, True, []), after
    assert after["last_cycle"]["average"] == "94.00" and after["last_cycle"]["periods"] == 2

    # the next cycle: a single-source renewal to the same supplier is awarded (Changzhou from 50万)
    body = await w.settled(contract["id"], 2)
    assert fen(body["settled_amount"]) == fen("600000.00") and fen(body["withheld_total"]) == 0
    assert [fen(s["reward"]) for s in body["items"]] == [percent_of(fen("300000.00"), "10"), 0]
    renewal_line = await w.line(item, "600000.00")
    draft = await w.draft(renewal_line, supplier, "600000.00", method="single_source", renewal_of=contract["id"])
    awarded = await w.award(draft)
    assert awarded["status"] == "awarded" and awarded["eligibility"]["single_source_renewal"] is True
    assert awarded["method_decision"]["within_policy"] is True
    assert (await w.get_line(renewal_line["line_id"]))["reserved"] == "600000.00"
