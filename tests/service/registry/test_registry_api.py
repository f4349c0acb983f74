"""The registry API on Postgres and Kafka: suppliers, review, qualifications, blacklist, eligibility, directory."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from tests.service.registry.support import (
    credit_code,
    eligibility,
    qualified_supplier,
    reason_codes,
    register,
    review_body,
    supplier_body,
    today,
)


# ----------------------------------------------------------------- suppliers
async def test_register_validates_the_credit_code_and_emits_registered(cluster) -> None:
    """DESIGN "Registry": identified by the unified social credit code, check character validated."""
    c = await cluster("registry")
    api = c.clients["registry"]
    code = credit_code()
    async with c.probe("registry") as probe:
        wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
        r = await api.post("/suppliers", json=supplier_body(wrong), headers=c.auth("finance"))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "registry.credit_code.invalid" and r.json()["field"] == "credit_code"

        headers = c.auth("finance")
        r = await api.post("/suppliers", json=supplier_body(code.lower()), headers=headers)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["credit_code"] == code and body["kind_label"] == "企业" and body["qualified"] is None
        replay = await api.post("/suppliers", json=supplier_body(code.lower()), headers=headers)
        assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
        again = await api.post("/suppliers", json=supplier_body(code), headers=c.auth("finance"))
        assert again.status_code == 409 and again.json()["code"] == "registry.supplier.exists"
        [ev] = await probe.wait_for("registry.supplier.registered", lambda d: d["supplier_code"] == code)
        assert ev.partitionkey == code and ev.data["service_types"] == ["property"]


async def test_bad_input_is_a_problem_naming_the_field(cluster) -> None:
    c = await cluster("registry")
    api = c.clients["registry"]
    body = supplier_body(credit_code())
    r = await api.post("/suppliers", json={**body, "kind": "individual"}, headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["field"] == "kind"
    r = await api.post("/suppliers", json={**body, "contacts": [{"name": "x"}]}, headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["field"].startswith("contacts")
    r = await api.post("/suppliers", json=body, headers=c.auth("finance", idempotency_key=False))
    assert r.status_code == 400 and r.json()["field"] == "Idempotency-Key"
    # nothing half-written
    r = await api.get(f"/suppliers/{body['credit_code']}", headers=c.auth("finance"))
    assert r.status_code == 404


async def test_roles_and_scope(cluster) -> None:
    """CONTRIBUTING roles: a supplier sees only its own record (another's is 404); public only published data."""
    c = await cluster("registry")
    api = c.clients["registry"]
    mine, other = credit_code(), credit_code()
    r = await api.post("/suppliers", json=supplier_body(mine), headers=c.auth("supplier", org=mine))
    assert r.status_code == 201, r.text
    r = await api.post("/suppliers", json=supplier_body(other), headers=c.auth("supplier", org=mine))
    assert r.status_code == 422 and r.json()["code"] == "registry.supplier.not_own_code"
    await register(c, other)
    assert (await api.get(f"/suppliers/{mine}", headers=c.auth("supplier", org=mine))).status_code == 200
    r = await api.get(f"/suppliers/{other}", headers=c.auth("supplier", org=mine))
    assert r.status_code == 404
    r = await api.get(f"/suppliers/{other}/eligibility", params={"service_type": "property"},
                      headers=c.auth("supplier", org=mine))
    assert r.status_code == 404
    listed = (await api.get("/suppliers", headers=c.auth("supplier", org=mine))).json()
    assert [s["credit_code"] for s in listed["items"]] == [mine]
    assert (await api.get(f"/suppliers/{other}", headers=c.auth("auditor"))).status_code == 200
    assert (await api.get(f"/suppliers/{other}")).status_code == 401
    assert (await api.post("/suppliers", json=supplier_body(credit_code()),
                           headers=c.auth("auditor"))).status_code == 403
    assert (await api.post(f"/suppliers/{other}/reviews", json=review_body(),
                           headers=c.auth("supplier", org=other))).status_code == 403
    assert (await api.get("/blacklist/public")).status_code == 200
    assert (await api.get("/directory", params={"service_type": "property"})).status_code == 200
    assert (await api.get("/blacklist")).status_code == 401


async def test_update_takes_the_version(cluster) -> None:
    c = await cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c)
    s = (await api.get(f"/suppliers/{code}", headers=c.auth("finance"))).json()
    r = await api.patch(f"/suppliers/{code}", json={"version": s["version"] + 5, "service_types": ["catering"]},
                        headers=c.auth("supplier", org=code))
    assert r.status_code == 409 and r.json()["field"] == "version"
    r = await api.patch(f"/suppliers/{code}", json={"version": s["version"], "service_types": ["property",
                                                                                               "catering"]},
                        headers=c.auth("supplier", org=code))
    assert r.status_code == 200 and r.json()["version"] == s["version"] + 1
    assert r.json()["service_types"] == ["property", "catering"]
    # offered, but no professional qualification covers catering
    assert reason_codes(await eligibility(c, code, "catering")) == ["qualification_missing"]


# ----------------------------------------------------------------- review and qualifications
async def test_review_checklist_and_result(cluster) -> None:
    """000 资质审核机制; 001 supplier conditions: each item with evidence and reviewer; qualified or not, with
    reasons."""
    c = await cluster("registry")
    api = c.clients["registry"]
    code = await register(c)
    assert "qualification_review_missing" in reason_codes(await eligibility(c, code))
    incomplete = {"items": review_body()["items"][:-1]}
    r = await api.post(f"/suppliers/{code}/reviews", json=incomplete, headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["code"] == "registry.review.incomplete"
    assert r.json()["field"] == "items"
    async with c.probe("registry") as probe:
        r = await api.post(f"/suppliers/{code}/reviews", json=review_body(failing="tax_social_security"),
                           headers=c.auth("finance"))
        assert r.status_code == 201, r.text
        review = r.json()
        assert not review["qualified"] and review["reasons"][0].startswith("tax_social_security")
        assert all(i["evidence"] and i["reviewer"] == "王科长" for i in review["items"])
        [ev] = await probe.wait_for("registry.supplier.qualified", lambda d: d["supplier_code"] == code)
        assert ev.data["qualified"] is False and ev.data["review_id"] == review["review_id"]
    e = await eligibility(c, code)
    assert "qualification_review_failed" in reason_codes(e)
    assert "tax_social_security" in next(x for x in e["reasons"] if x["code"] == "qualification_review_failed")[
        "message"]
    listed = (await api.get(f"/suppliers/{code}/reviews", headers=c.auth("supplier", org=code))).json()
    assert listed["total"] == 1


async def test_qualification_expiry_by_date(cluster) -> None:
    """Professional qualifications carry expiry dates; on expiry the supplier is no longer eligible for that
    service type, without anyone acting."""
    c = await cluster("registry")
    expires = today() + timedelta(days=30)
    code = await qualified_supplier(c, expires_on=expires)
    e = await eligibility(c, code)
    assert e["eligible"] and e["reasons"] == [] and e["policy"] == "national@2020.1"
    assert set(e) >= {"supplier_code", "eligible", "reasons", "single_source_renewal", "policy", "as_of"}
    assert (await eligibility(c, code, as_of=expires.isoformat()))["eligible"]
    later = await eligibility(c, code, as_of=(expires + timedelta(days=1)).isoformat())
    assert not later["eligible"] and later["reasons"] == [
        {"code": "qualification_expired", "message": later["reasons"][0]["message"], "until": expires.isoformat()}]
    quals = (await c.clients["registry"].get(f"/suppliers/{code}/qualifications", headers=c.auth("finance"))).json()
    assert quals["items"][0]["status"] == "valid"


async def test_eligibility_input_and_unknown_supplier(cluster) -> None:
    """CONTRIBUTING agreement: an unknown supplier is eligible: false with a reason (200)."""
    c = await cluster("registry")
    api = c.clients["registry"]
    unknown = await eligibility(c, credit_code())
    assert not unknown["eligible"] and reason_codes(unknown) == ["supplier_not_registered"]
    code = await qualified_supplier(c)
    h = c.auth("purchaser", org="D01", idempotency_key=False)
    r = await api.get(f"/suppliers/{code}/eligibility", params={"service_type": "property", "method": "lottery"},
                      headers=h)
    assert r.status_code == 422 and r.json()["field"] == "method"
    r = await api.get(f"/suppliers/{code}/eligibility", params={"service_type": "property", "as_of": "2010-01-01"},
                      headers=h)
    assert r.status_code == 422 and r.json()["code"] == "registry.policy.none_in_force"
    r = await api.get(f"/suppliers/{code}/eligibility", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "service_type"
    r = await api.get("/suppliers/NOT-A-CODE/eligibility", params={"service_type": "property"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "code"
    assert "service_type_not_offered" in reason_codes(await eligibility(c, code, "catering"))


async def test_credit_records_are_a_one_vote_veto(cluster) -> None:
    """002: 资信差和有违约前科 → 一票否决 (false materials, breach record)."""
    c = await cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c)
    occurred = today() - timedelta(days=10)
    for kind in ("false_materials", "breach"):
        r = await api.post(f"/suppliers/{code}/credit-records",
                           json={"kind": kind, "description": "投标文件虚假业绩", "source": "市财政局",
                                 "occurred_on": occurred.isoformat()}, headers=c.auth("finance"))
        assert r.status_code == 201, r.text
    e = await eligibility(c, code)
    assert reason_codes(e) == ["false_materials", "breach"]
    lookback_end = occurred.replace(year=occurred.year + 3)
    assert e["reasons"][0]["until"] == lookback_end.isoformat()
    assert (await eligibility(c, code, as_of=(lookback_end + timedelta(days=1)).isoformat()))["eligible"]
    r = await api.post(f"/suppliers/{code}/credit-records",
                       json={"kind": "rumour", "description": "x", "source": "y", "occurred_on": "2024-01-01"},
                       headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["field"] == "kind"


# ----------------------------------------------------------------- blacklist
async def test_blacklist_period_policy_and_lifting_by_date(cluster) -> None:
    """DESIGN: blacklist reason, source, start and end (1 to 3 years); public listing; expiry lifts it."""
    c = await cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c, name="失信物业有限公司")
    base = {"supplier_code": code, "reason": "冒领财政资金", "source": "false_claim", "basis": "常财监〔2025〕1号"}
    r = await api.post("/blacklist", json={**base, "years": 5}, headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["code"] == "registry.blacklist.period_out_of_range"
    assert r.json()["field"] == "years"
    r = await api.post("/blacklist", json={**base, "ends_on": (today() + timedelta(days=30)).isoformat()},
                       headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["field"] == "ends_on"
    r = await api.post("/blacklist", json={**base, "years": 2, "indefinite": True}, headers=c.auth("finance"))
    assert r.status_code == 422
    r = await api.post("/blacklist", json={**base, "source": "gossip", "years": 2}, headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["field"] == "source"
    r = await api.post("/blacklist", json={**base, "supplier_code": credit_code(), "years": 2},
                       headers=c.auth("finance"))
    assert r.status_code == 422 and r.json()["code"] == "registry.supplier.not_registered"
    async with c.probe("registry") as probe:
        r = await api.post("/blacklist", json={**base, "years": 2}, headers=c.auth("finance"))
        assert r.status_code == 201, r.text
        entry = r.json()
        ends = date.fromisoformat(entry["ends_on"])
        assert entry["status"] == "in_force" and entry["starts_on"] == today().isoformat()
        assert ends == today().replace(year=today().year + 2) - timedelta(days=1)
        [ev] = await probe.wait_for("registry.supplier.blacklisted", lambda d: d["supplier_code"] == code)
        assert ev.data["entry_id"] == entry["entry_id"] and ev.data["policy"] == "national@2020.1"
        [ch] = await probe.wait_for("registry.supplier.eligibility.changed", lambda d: d["supplier_code"] == code
                                    and any(x.startswith("blacklisted") for x in d["reasons"]))
        assert not ch.data["eligible"] and ch.data["policy"] == "national@2020.1"
    e = await eligibility(c, code)
    assert reason_codes(e) == ["blacklisted"] and e["reasons"][0]["until"] == entry["ends_on"]
    assert (await eligibility(c, code, as_of=entry["ends_on"]))["eligible"] is False
    assert (await eligibility(c, code, as_of=(ends + timedelta(days=1)).isoformat()))["eligible"] is True
    public = (await api.get("/blacklist/public")).json()
    mine = [p for p in public["items"] if p["credit_code"] == code]
    assert mine == [{"name": "失信物业有限公司", "credit_code": code, "reason": "冒领财政资金",
                     "starts_on": entry["starts_on"], "ends_on": entry["ends_on"]}]
    later = (await api.get("/blacklist/public", params={"as_of": (ends + timedelta(days=1)).isoformat(),
                                                         "limit": 200})).json()
    assert all(p["credit_code"] != code for p in later["items"])
    directory = (await api.get("/directory", params={"service_type": "property", "limit": 200})).json()
    assert all(d["credit_code"] != code for d in directory["items"])


async def test_appeal_overturned_and_upheld(cluster) -> None:
    """Appeal: submitted → upheld / overturned; overturned ends the entry and delists it."""
    c = await cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c)
    r = await api.post("/blacklist", json={"supplier_code": code, "reason": "服务质量低下", "source": "assessment",
                                           "indefinite": True}, headers=c.auth("finance"))
    entry = r.json()
    assert entry["ends_on"] is None
    assert reason_codes(await eligibility(c, code)) == ["blacklisted"]
    stranger = credit_code()
    r = await api.post(f"/blacklist/{entry['entry_id']}/appeal", json={"reason": "x"},
                       headers=c.auth("supplier", org=stranger))
    assert r.status_code == 404
    async with c.probe("registry") as probe:
        r = await api.post(f"/blacklist/{entry['entry_id']}/appeal", json={"reason": "考核有误"},
                           headers=c.auth("supplier", org=code))
        assert r.status_code == 201 and r.json()["appeal"]["state"] == "submitted", r.text
        again = await api.post(f"/blacklist/{entry['entry_id']}/appeal", json={"reason": "再次"},
                               headers=c.auth("supplier", org=code))
        assert again.status_code == 409 and again.json()["code"] == "registry.blacklist.appeal_exists"
        version = r.json()["version"]
        r = await api.post(f"/blacklist/{entry['entry_id']}/appeal/decision",
                           json={"outcome": "overturned", "reason": "复核成立", "version": version - 1},
                           headers=c.auth("finance"))
        assert r.status_code == 409 and r.json()["field"] == "version"
        r = await api.post(f"/blacklist/{entry['entry_id']}/appeal/decision",
                           json={"outcome": "overturned", "reason": "复核成立", "version": version},
                           headers=c.auth("finance"))
        assert r.status_code == 200 and r.json()["status"] == "overturned", r.text
        [ev] = await probe.wait_for("registry.supplier.delisted", lambda d: d["entry_id"] == entry["entry_id"])
        assert ev.data["ended_on"] == today().isoformat() and "overturned" in ev.data["reason"]
    assert (await eligibility(c, code))["eligible"]

    r = await api.post("/blacklist", json={"supplier_code": code, "reason": "违约", "source": "violation",
                                           "years": 1}, headers=c.auth("finance"))
    e2 = r.json()
    r = await api.post(f"/blacklist/{e2['entry_id']}/appeal", json={"reason": "不服"}, headers=c.auth("finance"))
    r = await api.post(f"/blacklist/{e2['entry_id']}/appeal/decision",
                       json={"outcome": "upheld", "reason": "维持", "version": r.json()["version"]},
                       headers=c.auth("finance"))
    assert r.status_code == 200 and r.json()["appeal"]["state"] == "upheld" and r.json()["status"] == "in_force"
    assert reason_codes(await eligibility(c, code)) == ["blacklisted"]


async def test_early_removal_with_reason(cluster) -> None:
    c = await cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c)
    e = (await api.post("/blacklist", json={"supplier_code": code, "reason": "违法", "source": "authority",
                                            "years": 3}, headers=c.auth("finance"))).json()
    async with c.probe("registry") as probe:
        r = await api.post(f"/blacklist/{e['entry_id']}/removal", json={"reason": "信用修复", "version": e["version"]},
                           headers=c.auth("finance"))
        assert r.status_code == 200 and r.json()["status"] == "removed", r.text
        assert r.json()["end_reason"] == "early removal: 信用修复"
        await probe.wait_for("registry.supplier.delisted", lambda d: d["entry_id"] == e["entry_id"])
        await probe.wait_for("registry.supplier.eligibility.changed",
                             lambda d: d["supplier_code"] == code and d["eligible"])
    r = await api.post(f"/blacklist/{e['entry_id']}/removal", json={"reason": "again", "version": r.json()["version"]},
                       headers=c.auth("finance"))
    assert r.status_code == 409 and r.json()["code"] == "registry.blacklist.not_in_force"
    assert (await eligibility(c, code))["eligible"]
    # the record stays, with its history, for finance and the supplier itself
    own = (await api.get("/blacklist", headers=c.auth("supplier", org=code))).json()
    assert [x["status"] for x in own["items"]] == ["removed"]


async def test_expired_blacklisting_is_delisted_once_by_read_or_sweep(cluster) -> None:
    """Expiry lifts the blacklisting by itself; the first read (or the sweep) that notices emits delisted once."""
    c = await cluster("registry")
    api = c.clients["registry"]
    a, b = await qualified_supplier(c), await qualified_supplier(c)
    ids = {}
    for code in (a, b):
        r = await api.post("/blacklist", json={"supplier_code": code, "reason": "旧案", "source": "violation",
                                               "starts_on": "2022-01-01", "years": 1}, headers=c.auth("finance"))
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "expired" and r.json()["ends_on"] == "2022-12-31"
        ids[code] = r.json()["entry_id"]
    async with c.probe("registry") as probe:
        assert (await eligibility(c, a))["eligible"]  # the read notices a's entry ran out
        assert (await eligibility(c, a))["eligible"]
        r = await api.post("/blacklist/sweep", headers=c.auth("ops", idempotency_key=False))
        assert r.status_code == 200 and ids[b] in r.json()["delisted"] and ids[a] not in r.json()["delisted"]
        r = await api.post("/blacklist/sweep", headers=c.auth("ops", idempotency_key=False))
        assert ids[b] not in r.json()["delisted"]
        for code in (a, b):
            [ev] = await probe.wait_for("registry.supplier.delisted", lambda d, code=code: d["supplier_code"] == code)
            assert ev.data["ended_on"] == "2023-01-01" and ev.data["entry_id"] == ids[code]
        await probe.settle(0.5)
        assert len(probe.matching("registry.supplier.delisted", lambda d: d["supplier_code"] in (a, b))) == 2
    entries = (await api.get("/blacklist", params={"supplier_code": a}, headers=c.auth("auditor"))).json()
    assert entries["items"][0]["delisted"] is True


async def test_a_lapsed_qualification_is_announced_once_by_the_sweep(cluster) -> None:
    """003: only suppliers with valid qualifications stay in the directory. Reads are right by date; the sweep
    re-evaluates eligibility recorded while a qualification was still valid and announces the change once."""
    c = await cluster("registry")
    api = c.clients["registry"]
    lapsed_on = today() - timedelta(days=1)
    code = await qualified_supplier(c, expires_on=lapsed_on)
    assert not (await eligibility(c, code))["eligible"]  # the read goes by date
    # the eligibility as it was recorded while the qualification was valid
    async with c.ctx("registry").sessions() as s:
        await s.execute(text("UPDATE eligibility_snapshots SET eligible = true, reason_codes = '[]', as_of = :on "
                             "WHERE supplier_code = :code"), {"on": lapsed_on - timedelta(days=10), "code": code})
        await s.commit()
    async with c.probe("registry") as probe:
        def changes() -> list[Any]:
            return probe.matching("registry.supplier.eligibility.changed", lambda d: d["supplier_code"] == code)

        await probe.settle(0.5)
        before = len(changes())  # registration, review and qualification announced theirs
        r = await api.post("/blacklist/sweep", headers=c.auth("ops", idempotency_key=False))
        assert r.status_code == 200 and code in r.json()["lapsed_qualifications"], r.text
        r = await api.post("/blacklist/sweep", headers=c.auth("ops", idempotency_key=False))
        assert code not in r.json()["lapsed_qualifications"]
        await probe.wait_for("registry.supplier.eligibility.changed", lambda d: d["supplier_code"] == code,
                             count=before + 1)
        await probe.settle(0.5)
        [ev] = changes()[before:]
        assert ev.data["eligible"] is False and ev.data["service_type"] == "property"
        assert any(reason.startswith("qualification_expired") for reason in ev.data["reasons"])


async def test_directory_lists_eligible_suppliers(cluster) -> None:
    """003: 合作供应商目录 by service type (the ranking by performance is tested with assessment events)."""
    c = await cluster("registry")
    api = c.clients["registry"]
    st = f"greening-{credit_code()[-5:]}"
    ok = await qualified_supplier(c, [st], name="甲绿化")
    unreviewed = await register(c, service_types=[st])
    listed = (await api.get("/directory", params={"service_type": st})).json()
    assert [d["credit_code"] for d in listed["items"]] == [ok] and listed["total"] == 1
    assert unreviewed not in [d["credit_code"] for d in listed["items"]]
    assert listed["items"][0]["rank"] == 1 and listed["items"][0]["name"] == "甲绿化"


async def test_the_one_round_trip_read_agrees_with_the_batch_read(cluster) -> None:
    """Eligibility reads one supplier in one round trip on Postgres; the directory reads many in batches.
    Both must give the same facts."""
    from services.registry import service

    c = await cluster("registry")
    api = c.clients["registry"]
    code = await qualified_supplier(c)
    await api.post(f"/suppliers/{code}/credit-records",
                   json={"kind": "breach", "description": "违约", "source": "法院",
                         "occurred_on": (today() - timedelta(days=3)).isoformat()}, headers=c.auth("finance"))
    await api.post("/blacklist", json={"supplier_code": code, "reason": "旧案", "source": "violation",
                                       "starts_on": "2022-01-01", "years": 1}, headers=c.auth("finance"))
    await api.post("/blacklist", json={"supplier_code": code, "reason": "新案", "source": "fraud", "years": 3},
                   headers=c.auth("finance"))
    ctx = c.ctx("registry")
    pack = ctx.policy(today())
    async with ctx.sessions() as session:
        one = await service.load_facts(session, [code], "property", today(), pack)
        many = await service.load_facts(session, [code, credit_code()], "property", today(), pack)
    a, b = one[code], many[code]
    assert a.supplier == b.supplier and a.qualifications == b.qualifications and a.credit == b.credit
    assert sorted(a.blacklist, key=lambda v: v.entry_id) == sorted(b.blacklist, key=lambda v: v.entry_id)
    assert a.undelisted_expired == b.undelisted_expired and len(a.undelisted_expired) == 1
    assert len(a.blacklist) == 2 and len(a.credit) == 1
