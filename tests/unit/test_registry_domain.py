"""Registry rules, no I/O: credit codes, qualification review, blacklist periods and lifting by date,
blacklisting from results, cycles and next-cycle eligibility with every reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from stdnum.cn import uscc

from services.chassis.errors import Unprocessable
from services.chassis.policy import REVIEW_CONDITIONS, PolicyBook, RegistrySection
from services.registry import domain

BOOK = PolicyBook.load(Path(__file__).resolve().parents[2] / "policies")
NATIONAL = BOOK.pack("national")
CHANGZHOU = BOOK.pack("changzhou")
AS_OF = date(2025, 6, 1)


def credit_code(n: int) -> str:
    base = f"91320400{n:09d}"
    return base + uscc.calc_check_digit(base)


CODE = credit_code(1)


def supplier(**kw: object) -> domain.SupplierFacts:
    d: dict[str, object] = {"code": CODE, "name": "常州物业", "service_types": ("property",), "review_qualified": True}
    d.update(kw)
    return domain.SupplierFacts(**d)  # type: ignore[arg-type]


QUAL = domain.QualificationView("q1", "物业服务资质", ("property",), date(2020, 1, 1), date(2026, 12, 31))


def period(contract: str, label: str, idx: int, score: str, *, failing: bool | None = None,
           recorded_on: date | None = None, **kw: object) -> domain.PeriodResult:
    start, end = domain.period_bounds(label)
    s = Decimal(score)
    return domain.PeriodResult(
        assessment_id=f"{contract}-{idx}", contract_id=contract, service_type="property", period=label,
        period_index=idx, period_start=start, period_end=end, score=s,
        grade=domain.grade_of(s, NATIONAL.assessment.grade_bands).grade,
        failing=(s < 60) if failing is None else failing, recorded_on=recorded_on or end + timedelta(days=10),
        **kw)  # type: ignore[arg-type]


def evaluate(pack=NATIONAL, method=None, as_of=AS_OF, **kw):  # type: ignore[no-untyped-def]
    args = {"supplier": supplier(), "code": CODE, "service_type": "property", "method": method, "as_of": as_of,
            "pack": pack, "qualifications": [QUAL]}
    args.update(kw)
    return domain.evaluate(**args)


def codes(e: domain.Eligibility) -> list[str]:
    return [r.code for r in e.reasons]


# ----------------------------------------------------------------- credit code
def test_credit_code_check_character_is_validated() -> None:
    """DESIGN "Registry": the unified social credit code has a check character; validate it."""
    assert domain.normalise_credit_code(CODE.lower()) == CODE
    wrong = CODE[:-1] + ("0" if CODE[-1] != "0" else "1")
    with pytest.raises(Unprocessable) as exc:
        domain.normalise_credit_code(wrong, field_name="credit_code")
    assert exc.value.field == "credit_code" and "check character" in (exc.value.rule or "")
    with pytest.raises(Unprocessable):
        domain.normalise_credit_code("123")


def test_period_labels() -> None:
    assert domain.period_bounds("2025-03") == (date(2025, 3, 1), date(2025, 3, 31))
    assert domain.period_bounds("2025-Q4") == (date(2025, 10, 1), date(2025, 12, 31))
    assert domain.period_bounds("2025-H1") == (date(2025, 1, 1), date(2025, 6, 30))
    assert domain.period_bounds("2024") == (date(2024, 1, 1), date(2024, 12, 31))
    with pytest.raises(ValueError):
        domain.period_bounds("2025-13")


# ----------------------------------------------------------------- review
def items(failing: str | None = None, skip: str | None = None) -> list[domain.ReviewItem]:
    return [domain.ReviewItem(c, c != failing, "营业执照/审计报告", "张三") for c in REVIEW_CONDITIONS if c != skip]


def test_review_qualified_when_every_condition_met() -> None:
    """001: independent liability, equipment and expertise, qualifications, sound accounts, no major violation in
    3 years; DESIGN adds governance, tax and social security, not on abnormal/dishonest lists."""
    out = domain.conclude_review(items(), NATIONAL)
    assert out.qualified and out.reasons == []


def test_review_not_qualified_names_the_failed_condition() -> None:
    out = domain.conclude_review(items(failing="no_major_violation"), NATIONAL)
    assert not out.qualified
    assert out.reasons and out.reasons[0].startswith("no_major_violation")


def test_review_must_cover_every_condition_with_evidence_and_reviewer() -> None:
    with pytest.raises(Unprocessable) as exc:
        domain.conclude_review(items(skip="tax_social_security"), NATIONAL)
    assert exc.value.code == "registry.review.incomplete" and exc.value.field == "items"
    bad = [*items()[:-1], domain.ReviewItem(REVIEW_CONDITIONS[-1], True, " ", "张三")]
    with pytest.raises(Unprocessable) as exc:
        domain.conclude_review(bad, NATIONAL)
    assert exc.value.code == "registry.review.evidence_missing"
    assert exc.value.field == f"items.{len(REVIEW_CONDITIONS) - 1}.evidence"


# ----------------------------------------------------------------- blacklist
def test_blacklist_period_one_to_three_years_or_indefinite() -> None:
    """000/001 blacklist; DESIGN: start and end, 1 to 3 years."""
    start = date(2025, 3, 10)
    assert domain.blacklist_end(start, 1) == date(2026, 3, 9)
    domain.check_blacklist_period(start, date(2026, 3, 9), NATIONAL)
    domain.check_blacklist_period(start, date(2028, 3, 9), NATIONAL)
    domain.check_blacklist_period(start, None, NATIONAL)
    for end in (date(2025, 12, 31), date(2028, 3, 10)):
        with pytest.raises(Unprocessable) as exc:
            domain.check_blacklist_period(start, end, NATIONAL)
        assert exc.value.code == "registry.blacklist.period_out_of_range" and exc.value.field == "ends_on"


def test_blacklist_lifts_by_date_and_on_removal_or_overturn() -> None:
    e = domain.BlacklistView("e1", "fraud", "fraud", date(2025, 1, 1), date(2025, 12, 31))
    assert e.in_force(date(2025, 12, 31)) and not e.in_force(date(2026, 1, 1))
    assert e.status(date(2026, 1, 1)) == "expired" and e.status(date(2024, 12, 31)) == "scheduled"
    removed = domain.BlacklistView("e1", "x", "fraud", date(2025, 1, 1), None, state="removed",
                                   ended_on=date(2025, 5, 1))
    assert removed.in_force(date(2025, 4, 30)) and not removed.in_force(date(2025, 5, 1))
    overturned = domain.BlacklistView("e1", "x", "fraud", date(2025, 1, 1), None, state="overturned",
                                      ended_on=date(2025, 5, 1))
    assert not overturned.in_force(date(2025, 2, 1))
    assert domain.BlacklistView("e", "x", "fraud", date(2025, 1, 1), None).in_force(date(2099, 1, 1))


def test_policy_refuses_rule_durations_outside_the_range() -> None:
    with pytest.raises(ValidationError):
        RegistrySection(blacklist_rules=[{"code": "fraud", "years": 5}])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        RegistrySection(veto_record_kinds=["gossip"])


# ----------------------------------------------------------------- blacklisting from results
def test_two_consecutive_failing_periods_blacklist_for_the_policy_duration() -> None:
    """DESIGN flow 2: a failing grade twice in a row → blacklisted (national: 1 year)."""
    on = date(2025, 7, 15)
    p1 = period("K1", "2025-Q1", 1, "55")
    p2 = period("K1", "2025-Q2", 2, "50")
    assert domain.blacklist_triggers(p1, [], on=on, pack=NATIONAL) == []
    [d] = domain.blacklist_triggers(p2, [p1], on=on, pack=NATIONAL)
    assert d.rule == "consecutive_failing" and d.source == "assessment"
    assert (d.starts_on, d.ends_on) == (on, date(2026, 7, 14))
    # late arrival of the earlier period also completes the run
    assert [x.rule for x in domain.blacklist_triggers(p1, [p2], on=on, pack=NATIONAL)] == ["consecutive_failing"]
    # not consecutive: 1 and 3 failing, 2 passing
    p3 = period("K1", "2025-Q3", 3, "50")
    assert domain.blacklist_triggers(p3, [p1, period("K1", "2025-Q2", 2, "80")], on=on, pack=NATIONAL) == []


def test_serious_violation_fraud_and_false_claim_blacklist() -> None:
    """001 退出机制: 弄虚作假、冒领财政资金 → 黑名单; DESIGN: a serious violation."""
    on = date(2025, 7, 15)
    sv = domain.blacklist_triggers(period("K", "2025-Q2", 2, "70", serious_violation=True), [], on=on, pack=NATIONAL)
    assert [(d.rule, d.ends_on) for d in sv] == [("serious_violation", date(2027, 7, 14))]
    fr = domain.blacklist_triggers(period("K", "2025-Q2", 2, "70", fraud=True), [], on=on, pack=NATIONAL)
    assert [(d.rule, d.source, d.ends_on) for d in fr] == [("fraud", "fraud", date(2028, 7, 14))]
    fc = domain.blacklist_triggers(period("K", "2025-Q2", 2, "70", violations=("false_claim",)), [], on=on,
                                   pack=NATIONAL)
    assert [(d.rule, d.source) for d in fc] == [("false_claim", "false_claim")]


def test_an_entry_in_force_through_the_end_covers_a_new_decision() -> None:
    d = domain.BlacklistDecision("fraud", "fraud", "x", date(2025, 7, 1), date(2026, 6, 30))
    assert domain.covered_by(d, [domain.BlacklistView("e", "x", "fraud", date(2025, 1, 1), date(2027, 1, 1))])
    assert not domain.covered_by(d, [domain.BlacklistView("e", "x", "fraud", date(2025, 1, 1), date(2025, 12, 1))])


# ----------------------------------------------------------------- eligibility
def test_eligible_with_policy_recorded() -> None:
    e = evaluate()
    assert e.eligible and e.reasons == [] and e.policy == "national@2020.1"
    assert not e.single_source_renewal  # no last cycle


def test_unknown_supplier_is_not_eligible() -> None:
    e = evaluate(supplier=None)
    assert not e.eligible and codes(e) == ["supplier_not_registered"]


def test_blacklist_vetoes_until_its_end_then_lifts_by_date() -> None:
    """002 一票否决; expiry lifts the blacklisting by itself."""
    bl = [domain.BlacklistView("e1", "连续两期不合格", "assessment", date(2024, 7, 1), date(2025, 6, 30))]
    e = evaluate(blacklist=bl)
    assert not e.eligible and codes(e) == ["blacklisted"] and e.reasons[0].until == date(2025, 6, 30)
    assert evaluate(blacklist=bl, as_of=date(2025, 7, 1)).eligible


@pytest.mark.parametrize("kind", ["false_materials", "breach", "major_violation", "serious_dishonesty",
                                  "abnormal_operation", "fraud"])
def test_bad_records_veto_within_the_lookback(kind: str) -> None:
    """002: 资信差和有违约前科 → 一票否决; 001: no major violation in three years."""
    rec = [domain.CreditRecordView("r1", kind, date(2023, 5, 1), "提供虚假材料")]
    e = evaluate(credit_records=rec)
    assert not e.eligible and codes(e) == [kind] and e.reasons[0].until == date(2026, 5, 1)
    assert evaluate(credit_records=rec, as_of=date(2026, 5, 2)).eligible


def test_review_missing_or_failed() -> None:
    assert codes(evaluate(supplier=supplier(review_qualified=None))) == ["qualification_review_missing"]
    e = evaluate(supplier=supplier(review_qualified=False, review_reasons=("finance_accounting: not met",)))
    assert codes(e) == ["qualification_review_failed"] and "finance_accounting" in e.reasons[0].message


def test_service_type_not_offered() -> None:
    e = evaluate(supplier=supplier(service_types=("catering",)))
    assert "service_type_not_offered" in codes(e)


def test_professional_qualification_missing_or_expired_by_date() -> None:
    """Qualifications carry expiry dates: on expiry the supplier is no longer eligible for that type."""
    assert codes(evaluate(qualifications=[])) == ["qualification_missing"]
    e = evaluate(as_of=date(2027, 1, 1))
    assert codes(e) == ["qualification_expired"] and e.reasons[0].until == date(2026, 12, 31)
    assert evaluate(as_of=date(2026, 12, 31)).eligible
    other = domain.QualificationView("q2", "餐饮许可", ("catering",), date(2020, 1, 1), None)
    assert codes(evaluate(qualifications=[other])) == ["qualification_missing"]


def test_failing_cycle_excludes_the_next_cycle_then_lifts() -> None:
    """001: 考评结果 … 直接与参与下一个承包周期的竞争相联系; a failing cycle excludes the supplier."""
    hist = [period("K0", "2024-Q3", 1, "65"), period("K0", "2024-Q4", 2, "50")]  # average 57.5: 不合格
    e = evaluate(history=hist)
    assert codes(e) == ["last_cycle_failing"] and e.reasons[0].until == date(2025, 12, 31)
    assert e.last_cycle is not None and e.last_cycle.average == Decimal("57.50") and e.last_cycle.failing
    assert evaluate(history=hist, as_of=date(2026, 1, 1)).eligible
    # history not yet recorded on as_of does not count
    assert evaluate(history=hist, as_of=date(2025, 1, 5)).eligible


def test_single_source_renewal_needs_last_cycle_average_at_threshold() -> None:
    """002 (Changzhou): 50万 and more, single source after a first public tender, based on the last contract
    cycle's performance; threshold from policy (changzhou 90, national 85)."""
    good = [period("K0", "2024-Q3", 1, "91"), period("K0", "2024-Q4", 2, "89")]  # average 90.00
    e = evaluate(pack=CHANGZHOU, history=good, method="single_source")
    assert e.eligible and e.single_source_renewal and e.policy == "changzhou@2024.1"
    fair = [period("K0", "2024-Q3", 1, "88"), period("K0", "2024-Q4", 2, "87")]  # 87.50
    e = evaluate(pack=CHANGZHOU, history=fair, method="single_source")
    assert not e.eligible and codes(e) == ["single_source_renewal_not_qualified"]
    assert evaluate(pack=CHANGZHOU, history=fair).eligible  # another method is fine
    assert evaluate(pack=NATIONAL, history=fair, method="single_source").single_source_renewal
    e = evaluate(pack=CHANGZHOU, method="single_source")
    assert codes(e) == ["single_source_no_last_cycle"]


def test_the_last_cycle_is_the_latest_contract() -> None:
    hist = [period("K0", "2023-Q3", 1, "40"), period("K1", "2024-Q4", 1, "95")]
    e = evaluate(history=hist)
    assert e.eligible and e.last_cycle is not None and e.last_cycle.contract_id == "K1" and e.single_source_renewal


def test_every_reason_is_reported_together() -> None:
    e = evaluate(supplier=supplier(review_qualified=None, service_types=()), qualifications=[],
                 blacklist=[domain.BlacklistView("e", "x", "fraud", date(2025, 1, 1), None)],
                 credit_records=[domain.CreditRecordView("r", "breach", date(2025, 1, 1), "违约")],
                 history=[period("K", "2025-Q1", 1, "30")], method="single_source")
    assert codes(e) == ["blacklisted", "breach", "qualification_review_missing", "service_type_not_offered",
                        "qualification_missing", "last_cycle_failing", "single_source_renewal_not_qualified"]
    assert e.reasons[0].until is None  # indefinite


def test_directory_ranks_by_recent_average() -> None:
    rows = [period("K", f"2025-0{i}", i, s) for i, s in enumerate(["70", "80", "90", "100", "60"], start=1)]
    assert domain.recent_average(rows, 4) == Decimal("82.50")
    assert domain.recent_average([], 4) is None
