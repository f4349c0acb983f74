"""assessment.finalized → registry (DESIGN automated flows 2 and 3): performance history, blacklisting from
results, next-cycle eligibility — each effect once under redelivery."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.events import Envelope
from tests.service.registry.support import (
    deliver,
    eligibility,
    finalized,
    month_label,
    qualified_supplier,
    reason_codes,
    today,
)
from tests.support.cluster import Cluster, poll


async def history(c: Cluster, code: str) -> dict[str, Any]:
    r = await c.clients["registry"].get(f"/suppliers/{code}/performance", headers=c.auth("auditor"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_periods(c: Cluster, code: str, n: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        h = await history(c, code)
        return h if len(h["periods"]) >= n else None

    return dict(await poll(check, message=f"{n} periods recorded for {code}"))


async def blacklist_of(c: Cluster, code: str) -> list[dict[str, Any]]:
    r = await c.clients["registry"].get("/blacklist", params={"supplier_code": code}, headers=c.auth("finance"))
    return list(r.json()["items"])


def one_year_on(d: date, years: int) -> date:
    return d.replace(year=d.year + years) - timedelta(days=1)


async def test_two_failing_periods_in_a_row_blacklist_once_under_redelivery(cluster) -> None:
    """DESIGN flow 2: a failing grade twice in a row → blacklisted for the policy's duration (national: 1 year),
    registry.supplier.blacklisted; redelivered events (same envelope, or the same assessment again) change nothing."""
    c = await cluster("registry")
    code = await qualified_supplier(c)
    k = f"K-{code[-6:]}"
    e1 = finalized(code, contract_id=k, period=month_label(3), index=1, score="55")
    e2 = finalized(code, contract_id=k, period=month_label(2), index=2, score="50")
    e1_again_new_id = Envelope(**{**e1.model_dump(), "id": "another-envelope-same-assessment"})
    marker = finalized(code, contract_id=k, period=month_label(1), index=3, score="70")
    async with c.probe("registry") as probe:
        await deliver(c, e1, e2, e2, e1, e1_again_new_id, marker)
        h = await wait_periods(c, code, 3)
        assert [p["period_index"] for p in h["periods"]] == [1, 2, 3]
        [cycle] = h["cycles"]
        assert cycle["contract_id"] == k and cycle["periods"] == 3 and cycle["average"] == "58.33"
        assert cycle["failing"] and cycle["failing_periods"] == 2
        [entry] = await blacklist_of(c, code)
        assert entry["rule"] == "consecutive_failing" and entry["source"] == "assessment"
        assert entry["assessment_id"] == e2.data["assessment_id"]
        starts = date.fromisoformat(entry["starts_on"])
        assert entry["ends_on"] == one_year_on(starts, 1).isoformat()
        [ev] = await probe.wait_for("registry.supplier.blacklisted", lambda d: d["supplier_code"] == code)
        assert ev.data["entry_id"] == entry["entry_id"] and ev.data["ends_on"] == entry["ends_on"]
        await probe.wait_for("registry.supplier.eligibility.changed",
                             lambda d: d["supplier_code"] == code and not d["eligible"])
        await probe.settle(0.5)
        assert len(probe.matching("registry.supplier.blacklisted", lambda d: d["supplier_code"] == code)) == 1
        # E1 made the cycle failing, E2 added the blacklisting; the repeats and the marker changed nothing (events
        # handled in one batch have eligibility rechecked once, at its end: then only the final change goes out)
        changes = probe.matching("registry.supplier.eligibility.changed", lambda d: d["supplier_code"] == code
                                 and any(x.startswith("last_cycle_failing") for x in d["reasons"]))
        assert [sorted(x.split(":")[0] for x in ev.data["reasons"]) for ev in changes] in (
            [["last_cycle_failing"], ["blacklisted", "last_cycle_failing"]], [["blacklisted", "last_cycle_failing"]])
    e = await eligibility(c, code)
    assert reason_codes(e) == ["blacklisted", "last_cycle_failing"]
    assert e["reasons"][0]["until"] == entry["ends_on"]
    assert len((await history(c, code))["periods"]) == 3
    # the blacklisting lifts by date
    after = await eligibility(c, code, as_of=(date.fromisoformat(entry["ends_on"]) + timedelta(days=1)).isoformat())
    assert "blacklisted" not in reason_codes(after)


async def test_serious_violation_fraud_and_false_claim_blacklist_automatically(cluster) -> None:
    """DESIGN flow 2 and 001 退出机制 (弄虚作假、冒领财政资金 → 黑名单): national policy durations 2, 3 and 3 years;
    a serious violation or fraud is also a bad record (one-vote veto, 002) for the lookback."""
    c = await cluster("registry")
    sv, fr, fc = await qualified_supplier(c), await qualified_supplier(c), await qualified_supplier(c)
    async with c.probe("registry") as probe:
        await deliver(c,
                      finalized(sv, contract_id=f"K-{sv}", period=month_label(1), index=1, score="75",
                                serious_violation=True, violations=["safety_accident"]),
                      finalized(fr, contract_id=f"K-{fr}", period=month_label(1), index=1, score="80", fraud=True),
                      finalized(fc, contract_id=f"K-{fc}", period=month_label(1), index=1, score="82",
                                violations=["false_claim"]))
        expected = {sv: ("serious_violation", "violation", 2), fr: ("fraud", "fraud", 3),
                    fc: ("false_claim", "false_claim", 3)}
        for code, (rule, source, years) in expected.items():
            [ev] = await probe.wait_for("registry.supplier.blacklisted",
                                        lambda d, code=code: d["supplier_code"] == code)
            assert ev.data["source"] == source
            starts = date.fromisoformat(ev.data["starts_on"])
            assert ev.data["ends_on"] == one_year_on(starts, years).isoformat()
            [entry] = await blacklist_of(c, code)
            assert entry["rule"] == rule
    assert reason_codes(await eligibility(c, sv)) == ["blacklisted", "major_violation"]
    assert reason_codes(await eligibility(c, fr)) == ["blacklisted", "fraud"]
    assert reason_codes(await eligibility(c, fc)) == ["blacklisted"]


async def test_failing_cycle_excludes_the_next_cycle_until_it_has_passed(cluster) -> None:
    """001: results decide the next contract cycle; a failing cycle excludes the supplier (policy: the 12 months
    after the cycle's end), without a blacklisting for one failing period."""
    c = await cluster("registry")
    code = await qualified_supplier(c)
    label = month_label(1)
    async with c.probe("registry") as probe:
        await deliver(c, finalized(code, contract_id=f"K-{code}", period=label, index=1, score="50"))
        [ch] = await probe.wait_for("registry.supplier.eligibility.changed",
                                    lambda d: d["supplier_code"] == code and not d["eligible"]
                                    and any(x.startswith("last_cycle_failing") for x in d["reasons"]))
        assert ch.data["service_type"] == "property" and not ch.data["single_source_renewal"]
    assert await blacklist_of(c, code) == []
    e = await eligibility(c, code)
    assert reason_codes(e) == ["last_cycle_failing"]
    until = date.fromisoformat(e["reasons"][0]["until"])
    assert e["last_cycle"]["grade"] == "不合格"
    assert not (await eligibility(c, code, as_of=until.isoformat()))["eligible"]
    assert (await eligibility(c, code, as_of=(until + timedelta(days=1)).isoformat()))["eligible"]


async def test_single_source_renewal_threshold_changzhou(cluster) -> None:
    """002 (Changzhou): renewal by single source depends on the last contract cycle's performance; the
    changzhou pack sets the threshold at 90 (the national default is 85)."""
    c = await cluster("registry", jurisdiction="changzhou")
    good, fair = await qualified_supplier(c), await qualified_supplier(c)
    async with c.probe("registry") as probe:
        await deliver(c,
                      finalized(good, contract_id=f"K-{good}", period=month_label(2), index=1, score="92"),
                      finalized(good, contract_id=f"K-{good}", period=month_label(1), index=2, score="95"),
                      finalized(fair, contract_id=f"K-{fair}", period=month_label(2), index=1, score="86"),
                      finalized(fair, contract_id=f"K-{fair}", period=month_label(1), index=2, score="88"))
        [ch] = await probe.wait_for("registry.supplier.eligibility.changed",
                                    lambda d: d["supplier_code"] == good and d["single_source_renewal"])
        assert ch.data["eligible"] and ch.data["policy"] == "changzhou@2024.1"
        await wait_periods(c, fair, 2)
    e = await eligibility(c, good, method="single_source")
    assert e["eligible"] and e["single_source_renewal"] and e["policy"] == "changzhou@2024.1"
    assert e["last_cycle"]["average"] == "93.50"
    e = await eligibility(c, fair, method="single_source")
    assert not e["eligible"] and reason_codes(e) == ["single_source_renewal_not_qualified"]
    assert "90" in e["reasons"][0]["message"] and "87.00" in e["reasons"][0]["message"]
    assert (await eligibility(c, fair, method="public_tender"))["eligible"]


async def test_directory_ranked_by_recent_performance(cluster) -> None:
    """003: 合作供应商目录 with survival of the fittest: eligible suppliers ranked by recent performance;
    a supplier excluded by a failing cycle is not listed."""
    c = await cluster("registry")
    st = f"canteen-{today().isoformat()}-{id(c) % 100000}"
    best = await qualified_supplier(c, [st], name="乙餐饮")
    second = await qualified_supplier(c, [st], name="甲餐饮")
    fresh = await qualified_supplier(c, [st], name="丙餐饮")
    failing = await qualified_supplier(c, [st], name="丁餐饮")
    await deliver(c,
                  finalized(best, contract_id=f"K-{best}", period=month_label(1), index=1, score="96",
                            service_type=st),
                  finalized(second, contract_id=f"K-{second}", period=month_label(1), index=1, score="81",
                            service_type=st),
                  finalized(failing, contract_id=f"K-{failing}", period=month_label(1), index=1, score="40",
                            service_type=st))
    for code in (best, second, failing):
        await wait_periods(c, code, 1)
    r = await c.clients["registry"].get("/directory", params={"service_type": st})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["credit_code"] for d in body["items"]] == [best, second, fresh] and body["total"] == 3
    assert [d["recent_average"] for d in body["items"]] == ["96.00", "81.00", None]
    assert [d["rank"] for d in body["items"]] == [1, 2, 3]
    assert body["items"][0]["single_source_renewal"] is True
    page2 = (await c.clients["registry"].get("/directory", params={"service_type": st, "limit": 1,
                                                                   "offset": 1})).json()
    assert [d["credit_code"] for d in page2["items"]] == [second] and page2["items"][0]["rank"] == 2
