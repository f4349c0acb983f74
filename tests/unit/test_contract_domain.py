"""Contract rules without I/O: purchase methods, term, schedule, settlement arithmetic, filing, states."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.chassis.errors import Conflict, Unprocessable
from services.chassis.money import yuan_to_fen
from services.chassis.policy import MethodBand, PolicyBook, PolicyPack
from services.contract import domain as d

POLICIES = Path(__file__).resolve().parents[2] / "policies"
WAN = 1_000_000


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return PolicyBook.load(POLICIES)


@pytest.fixture(scope="module")
def changzhou(book: PolicyBook) -> PolicyPack:
    return book.pack("changzhou")


@pytest.fixture(scope="module")
def national(book: PolicyBook) -> PolicyPack:
    return book.pack("national")


# ---------------------------------------------------------------- purchase methods (seed 002)
def test_changzhou_from_50_wan_first_cycle_is_public_tender_only(changzhou: PolicyPack) -> None:
    """002_88cf206893e82986.txt: 对50万元以上的服务项目……采用第一次公开招标、后续单一来源采购相结合的方式."""
    ok = d.check_method(changzhou, method="public_tender", amount_fen=60 * WAN, service_type="安保", renewal=False)
    assert ok.within_policy and ok.allowed == ("public_tender",) and ok.policy == "changzhou@2024.1"
    for m in ("single_source", "designated", "inquiry", "competitive_consultation"):
        dec = d.check_method(changzhou, method=m, amount_fen=50 * WAN, service_type="安保", renewal=False)
        assert not dec.within_policy, m
    first_ss = d.check_method(changzhou, method="single_source", amount_fen=80 * WAN, service_type="安保",
                              renewal=False)
    assert any("only for a renewal" in r for r in first_ss.reasons)


def test_changzhou_single_source_renewal_only_when_registry_says_last_cycle_qualifies(changzhou: PolicyPack) -> None:
    """002_88cf206893e82986.txt: 依据上一合同周期内服务质量、满意度测评、综合考核……确定采用单一来源或公开招标."""
    kw = {"method": "single_source", "amount_fen": 120 * WAN, "service_type": "餐饮", "renewal": True}
    draft = d.check_method(changzhou, **kw)  # type: ignore[arg-type]
    assert draft.within_policy and draft.needs_renewal_confirmation
    yes = d.check_method(changzhou, **kw, single_source_renewal=True)  # type: ignore[arg-type]
    assert yes.within_policy and not yes.needs_renewal_confirmation
    no = d.check_method(changzhou, **kw, single_source_renewal=False)  # type: ignore[arg-type]
    assert not no.within_policy
    assert "does not qualify" in no.reasons[0]
    tender = d.check_method(changzhou, method="public_tender", amount_fen=120 * WAN, service_type="餐饮",
                            renewal=True, single_source_renewal=False)
    assert tender.within_policy


def test_changzhou_under_50_wan_tender_or_designated(changzhou: PolicyPack) -> None:
    """002_88cf206893e82986.txt: 对50万元以下的服务项目,采取公开招标或是定点招投标方式."""
    for m in ("public_tender", "designated"):
        dec = d.check_method(changzhou, method=m, amount_fen=49 * WAN, service_type="文印", renewal=False)
        assert dec.within_policy
    assert not d.check_method(changzhou, method="single_source", amount_fen=49 * WAN, service_type="文印",
                              renewal=True, single_source_renewal=True).within_policy
    assert not d.check_method(changzhou, method="inquiry", amount_fen=10 * WAN, service_type="文印",
                              renewal=False).within_policy


def test_changzhou_micro_items_by_price_comparison(changzhou: PolicyPack) -> None:
    """002_88cf206893e82986.txt: 对于部分"微"服务项目,由多家服务单位提供价格后,进行比价采购."""
    small = d.check_method(changzhou, method="price_comparison", amount_fen=yuan_to_fen("49999.99"),
                           service_type="greening", renewal=False)
    assert small.within_policy and small.allowed == ("price_comparison",)
    assert not d.check_method(changzhou, method="public_tender", amount_fen=yuan_to_fen("49999.99"),
                              service_type="greening", renewal=False).within_policy
    assert not d.check_method(changzhou, method="price_comparison", amount_fen=5 * WAN, service_type="greening",
                              renewal=False).within_policy


def test_a_band_naming_service_types_wins(changzhou: PolicyPack) -> None:
    """002_88cf206893e82986.txt: micro services (邮政、书店、美发、洗衣、汽车清洗) by type, below 50万."""
    section = changzhou.contract.model_copy(update={"method_bands": [
        MethodBand.model_validate({"from": "0", "below": "50万", "service_types": ["laundry", "postal"],
                                   "first_cycle": ["price_comparison"]}),
        *changzhou.contract.method_bands]})
    pack = changzhou.model_copy(update={"contract": section})
    for st in ("laundry", "postal"):
        dec = d.check_method(pack, method="price_comparison", amount_fen=20 * WAN, service_type=st, renewal=False)
        assert dec.within_policy and dec.allowed == ("price_comparison",) and "laundry" in dec.band
        assert d.check_method(pack, method="price_comparison", amount_fen=20 * WAN, service_type=st,
                              renewal=True).within_policy  # no renewal list: the first cycle's
    assert not d.check_method(pack, method="price_comparison", amount_fen=20 * WAN, service_type="property",
                              renewal=False).within_policy
    assert d.check_method(pack, method="public_tender", amount_fen=50 * WAN, service_type="postal",
                          renewal=False).within_policy


def test_method_outside_policy_needs_a_recorded_justification(changzhou: PolicyPack) -> None:
    """002_88cf206893e82986.txt / DESIGN.md: a method outside policy needs a recorded justification."""
    dec = d.check_method(changzhou, method="competitive_negotiation", amount_fen=80 * WAN, service_type="会务",
                         renewal=False)
    with pytest.raises(Unprocessable) as e:
        d.require_justification(dec, None)
    assert e.value.code == "contract.method.outside_policy" and e.value.field == "method"
    assert e.value.extra["allowed"] == ["public_tender"]
    with pytest.raises(Unprocessable):
        d.require_justification(dec, "too short")
    d.require_justification(dec, "只有一家供应商能够提供该会务系统的维保服务")


def test_unknown_method_refused(national: PolicyPack) -> None:
    with pytest.raises(Unprocessable) as e:
        d.check_method(national, method="auction", amount_fen=WAN, service_type="x", renewal=False)
    assert e.value.code == "contract.method.unknown"


def test_national_bands_cover_every_amount(national: PolicyPack) -> None:
    """001_5078ddae3d782c1e.txt: 凡具备公开招标条件的都实行公开招标; other methods by amount in the national default."""
    for amount in (1, 10 * WAN - 1, 10 * WAN, 50 * WAN, 10_000 * WAN):
        assert d.find_band(national.contract, amount, "any") is not None
    assert d.check_method(national, method="public_tender", amount_fen=900 * WAN, service_type="x",
                          renewal=False).within_policy


# ---------------------------------------------------------------- term (seed 003)
def test_term_one_year_at_most(national: PolicyPack) -> None:
    """003_69f6a15399988e6e.txt: 通过政府招标购买,时间周期为1年."""
    ok = d.check_term(national.contract, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31),
                      continuous_service=False, continuous_basis=None)
    assert ok.months == 12 and not ok.long_term
    with pytest.raises(Unprocessable) as e:
        d.check_term(national.contract, starts_on=date(2025, 1, 1), ends_on=date(2026, 1, 1),
                     continuous_service=False, continuous_basis=None)
    assert e.value.code == "contract.term.too_long" and e.value.field == "ends_on"


def test_term_up_to_three_years_only_for_continuous_service_with_basis_and_flagged(national: PolicyPack) -> None:
    """DESIGN.md Contract: up to three years only for stable, continuous services."""
    with pytest.raises(Unprocessable) as e:
        d.check_term(national.contract, starts_on=date(2025, 1, 1), ends_on=date(2027, 12, 31),
                     continuous_service=True, continuous_basis=" ")
    assert e.value.code == "contract.term.basis_required"
    ok = d.check_term(national.contract, starts_on=date(2025, 1, 1), ends_on=date(2027, 12, 31),
                      continuous_service=True, continuous_basis="保洁服务长期稳定,三年预算已纳入中期财政规划")
    assert ok.long_term and ok.months == 36
    with pytest.raises(Unprocessable):
        d.check_term(national.contract, starts_on=date(2025, 1, 1), ends_on=date(2028, 1, 1),
                     continuous_service=True, continuous_basis="stable and continuous, budget-backed")
    with pytest.raises(Unprocessable) as e2:
        d.check_term(national.contract, starts_on=date(2025, 2, 1), ends_on=date(2025, 1, 31),
                     continuous_service=False, continuous_basis=None)
    assert e2.value.code == "contract.term.ends_before_start"


# ---------------------------------------------------------------- schedule
def test_period_labels_as_agreed() -> None:
    day = date(2025, 8, 15)
    assert [d.period_label(day, s) for s in ("monthly", "quarterly", "half_yearly", "yearly")] == [
        "2025-08", "2025-Q3", "2025-H2", "2025"]
    with pytest.raises(Unprocessable):
        d.period_label(day, "weekly")


@pytest.mark.parametrize(("schedule", "labels"), [
    ("monthly", [f"2025-{m:02d}" for m in range(1, 13)]),
    ("quarterly", ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]),
    ("half_yearly", ["2025-H1", "2025-H2"]),
    ("yearly", ["2025"]),
])
def test_schedule_whole_periods_add_up_to_the_fen(schedule: str, labels: list[str]) -> None:
    """003_69f6a15399988e6e.txt: 价格和结算方式 are contract terms; instalments add up to the amount to the fen."""
    amount = yuan_to_fen("1000000.07")
    plan = d.build_schedule(amount, date(2025, 1, 1), date(2025, 12, 31), schedule)
    assert [i.period for i in plan] == labels
    assert sum(i.amount_fen for i in plan) == amount
    assert max(i.amount_fen for i in plan) - min(i.amount_fen for i in plan) <= 1
    assert plan[0].amount_fen >= plan[-1].amount_fen  # the remainder goes first
    assert not any(i.partial for i in plan)


def test_schedule_partial_periods_by_days_and_exact() -> None:
    """A term starting mid-quarter: the partial quarters get their share by days; the sum stays exact."""
    amount = yuan_to_fen("365000.01")
    plan = d.build_schedule(amount, date(2025, 2, 15), date(2026, 2, 14), "quarterly")
    assert [i.period for i in plan] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert plan[0].partial and plan[-1].partial and not plan[1].partial
    assert plan[0].starts_on == date(2025, 2, 15) and plan[-1].ends_on == date(2026, 2, 14)
    assert sum(i.amount_fen for i in plan) == amount
    whole = [i.amount_fen for i in plan[1:4]]
    assert max(whole) - min(whole) <= 1  # whole quarters share alike
    assert plan[0].amount_fen < plan[1].amount_fen


def test_schedule_one_fen_per_instalment_edge() -> None:
    plan = d.build_schedule(5, date(2025, 1, 1), date(2025, 12, 31), "monthly")
    assert [i.amount_fen for i in plan] == [1] * 5 + [0] * 7


def test_schedule_spanning_years_labels() -> None:
    plan = d.build_schedule(yuan_to_fen("600.00"), date(2025, 7, 1), date(2026, 6, 30), "half_yearly")
    assert [(i.period, i.amount_fen) for i in plan] == [("2025-H2", 30000), ("2026-H1", 30000)]


# ---------------------------------------------------------------- settlement (seeds 000, 001, 002, 004)
def test_settlement_factor_by_grade_half_up_to_the_fen(national: PolicyPack) -> None:
    """004_31a27ecd68c2f343.txt: 将绩效评价结果运用于项目资金的结算环节; 000: payment linked to service quality."""
    rule = d.PaymentRule.from_policy(national)
    inst = yuan_to_fen("8333.35")  # 合格 90% = 7500.015 → 7500.02 half-up
    s = d.settle(rule, period="2025-03", grade="合格", instalment_fen=inst)
    assert s.amount_fen == 750002 and s.withheld_fen == 83333
    assert s.amount_fen + s.withheld_fen == inst
    assert s.factor_percent == Decimal(90) and "withheld pending remediation" in (s.withheld_reason or "")
    good = d.settle(rule, period="2025-03", grade="良好", instalment_fen=inst)
    assert good.amount_fen == inst and good.withheld_fen == 0 and good.withheld_reason is None and good.reward_fen == 0
    bad = d.settle(rule, period="2025-03", grade="不合格", instalment_fen=inst)
    assert bad.amount_fen == 583335  # 833335 × 70% = 583334.5 → half-up
    assert bad.amount_fen + bad.withheld_fen == inst


def test_excellent_reward_ten_percent_in_changzhou(changzhou: PolicyPack, national: PolicyPack) -> None:
    """002_88cf206893e82986.txt: 对于被评为先进单位和优秀单位的服务单位……上浮10%."""
    rule = d.PaymentRule.from_policy(changzhou)
    s = d.settle(rule, period="2025-Q1", grade="优秀", instalment_fen=yuan_to_fen("250000.05"))
    assert s.amount_fen == yuan_to_fen("250000.05") and s.reward_fen == yuan_to_fen("25000.01")  # 25000.005 → .01
    assert d.settle(d.PaymentRule.from_policy(national), period="2025-Q1", grade="优秀",
                    instalment_fen=100).reward_fen == 0
    assert d.PaymentRule.from_dict(rule.as_dict()) == rule


def test_unknown_grade_withholds_everything(national: PolicyPack) -> None:
    s = d.settle(d.PaymentRule.from_policy(national), period="2025", grade="A+", instalment_fen=1000)
    assert s.amount_fen == 0 and s.withheld_fen == 1000 and "not in the payment rule" in (s.withheld_reason or "")


def test_settlements_of_a_year_add_up(national: PolicyPack) -> None:
    rule = d.PaymentRule.from_policy(national)
    amount = yuan_to_fen("123456.78")
    plan = d.build_schedule(amount, date(2025, 1, 1), date(2025, 12, 31), "monthly")
    grades = ["优秀", "良好", "合格", "不合格"] * 3
    ss = [d.settle(rule, period=i.period, grade=g, instalment_fen=i.amount_fen)
          for i, g in zip(plan, grades, strict=True)]
    assert sum(s.amount_fen + s.withheld_fen for s in ss) == amount


# ---------------------------------------------------------------- release of withheld amounts after remediation
def _release(rule: d.PaymentRule, **over: object) -> d.WithheldRelease:
    args: dict[str, object] = {
        "withheld_fen": 83333, "released_before": False, "contract_status": d.PERFORMING,
        "settled_on": date(2025, 4, 5), "verified_on": date(2025, 5, 10), "today": date(2025, 6, 1),
        "remediation": "保洁频次已按合同恢复,经复查验收合格"}
    args.update(over)
    return d.release_withheld(rule, **args)  # type: ignore[arg-type]


def test_a_verified_remediation_releases_the_rules_share_of_what_was_withheld(national: PolicyPack) -> None:
    """000_3596027388defe7e.txt: payment linked to service quality — what was withheld for poor service is paid
    once the service is put right (the national rule releases all of it); a rule may release part, half-up."""
    rule = d.PaymentRule.from_policy(national)
    assert rule.remediation_release_percent == Decimal(100)
    full = _release(rule)
    assert (full.amount_fen, full.kept_fen) == (83333, 0)
    half = _release(d.PaymentRule(rule.factors, rule.reward_percent, remediation_release_percent=Decimal(50)))
    assert (half.amount_fen, half.kept_fen) == (41667, 41666)  # 41666.5 → half-up
    assert d.PaymentRule.from_dict(rule.as_dict()) == rule
    older = {k: v for k, v in rule.as_dict().items() if k != "remediation_release_percent"}
    assert d.PaymentRule.from_dict(older).remediation_release_percent == Decimal(100)


@pytest.mark.parametrize(("over", "error", "code", "field"), [
    ({"withheld_fen": 0}, Unprocessable, "contract.withheld.none", "settlement_id"),
    ({"released_before": True}, Conflict, "contract.withheld.already_released", "settlement_id"),
    ({"contract_status": d.COMPLETED}, Conflict, "contract.withheld.contract_closed", "contract_id"),
    ({"contract_status": d.TERMINATED}, Conflict, "contract.withheld.contract_closed", "contract_id"),
    ({"remediation": " 已整改 "}, Unprocessable, "contract.withheld.remediation_required", "remediation"),
    ({"verified_on": date(2025, 4, 4)}, Unprocessable, "contract.withheld.verified_before_settlement", "verified_on"),
    ({"verified_on": date(2025, 6, 2)}, Unprocessable, "contract.withheld.verified_in_future", "verified_on"),
])
def test_a_release_is_refused_with_the_rule_broken(national: PolicyPack, over: dict[str, object], error: type,
                                                   code: str, field: str) -> None:
    with pytest.raises(error) as exc:
        _release(d.PaymentRule.from_policy(national), **over)
    assert exc.value.code == code and exc.value.field == field and exc.value.rule


def test_a_rule_releasing_nothing_makes_withheld_amounts_final_deductions(national: PolicyPack) -> None:
    rule = d.PaymentRule(d.PaymentRule.from_policy(national).factors, Decimal(0), policy="strict@1",
                         remediation_release_percent=Decimal(0))
    with pytest.raises(Unprocessable) as exc:
        _release(rule)
    assert exc.value.code == "contract.withheld.final" and "strict@1" in exc.value.detail


# ---------------------------------------------------------------- filing (seed 004)
def test_filing_from_500_wan_within_15_days(national: PolicyPack) -> None:
    """004_31a27ecd68c2f343.txt: 500万元(含)以上……在项目完成采购后15日内,将服务合同副本报市财政局备案."""
    duty = d.filing_duty(national.contract, amount_fen=500 * WAN, signed_on=date(2025, 3, 1))
    assert duty.required and duty.due_on == date(2025, 3, 16)
    below = d.filing_duty(national.contract, amount_fen=500 * WAN - 1, signed_on=date(2025, 3, 1))
    assert not below.required and below.due_on is None
    assert d.filing_duty(national.contract, amount_fen=1, signed_on=date(2025, 3, 1), line_says_required=True).required


# ---------------------------------------------------------------- award checks (seed 004, 002)
LINE = {"line_id": "L1", "status": "approved", "department": "D01", "service_type": "保洁",
        "finance_approval_required": False, "finance_approved": False}


def test_line_must_be_approved_and_finance_approved_from_100_wan() -> None:
    """004_31a27ecd68c2f343.txt: 100万元(含)以上……经市财政局批准后,方可开展采购活动; 先有预算、后购买服务."""
    kw = {"department": "D01", "service_type": "保洁", "finance_approval_from_fen": 100 * WAN}
    assert d.check_line(LINE, amount_fen=99 * WAN, **kw).ok  # type: ignore[arg-type]
    assert d.check_line({**LINE, "status": "submitted"}, amount_fen=WAN, **kw).code == "contract.line.not_approved"  # type: ignore[arg-type]
    assert d.check_line(LINE, amount_fen=100 * WAN, **kw).code == "contract.line.finance_approval_missing"  # type: ignore[arg-type]
    assert d.check_line({**LINE, "finance_approved": True}, amount_fen=100 * WAN, **kw).ok  # type: ignore[arg-type]
    assert d.check_line({**LINE, "department": "D02"}, amount_fen=WAN, **kw).code == "contract.line.other_department"  # type: ignore[arg-type]
    assert d.check_line({**LINE, "finance_approval_required": True}, amount_fen=WAN,  # type: ignore[arg-type]
                        **kw).code == "contract.line.finance_approval_missing"


def test_eligibility_refusal_names_reasons_and_blacklist_in_force() -> None:
    """002_88cf206893e82986.txt: 资信差和有违约前科……严格落实"一票否决"."""
    assert d.eligibility_refusal({"eligible": True, "reasons": []}) is None
    msg = d.eligibility_refusal({"eligible": False, "reasons": [
        {"code": "blacklisted", "message": "列入黑名单", "until": "2026-01-01"}]})
    assert msg == "blacklisted: 列入黑名单 (until 2026-01-01)"
    entries = [d.BlacklistEntry("e1", date(2025, 1, 1), date(2025, 12, 31)),
               d.BlacklistEntry("e2", date(2025, 1, 1), None, ended_on=date(2025, 6, 1))]
    assert [e.entry_id for e in d.active_entries(entries, date(2025, 5, 1))] == ["e1", "e2"]
    assert [e.entry_id for e in d.active_entries(entries, date(2025, 7, 1))] == ["e1"]
    assert d.active_entries(entries, date(2026, 1, 1)) == []


# ---------------------------------------------------------------- states and amendments
def test_state_machine() -> None:
    assert d.next_state("signed", "start") == "performing"
    assert d.next_state("performing", "suspend", reason="整改") == "suspended"
    assert d.next_state("suspended", "resume") == "performing"
    assert d.next_state("performing", "complete") == "completed"
    assert d.next_state("awarded", "terminate", reason="供应商列入黑名单") == "terminated"
    with pytest.raises(Conflict):
        d.next_state("completed", "terminate", reason="x")
    with pytest.raises(Conflict):
        d.next_state("draft", "start")
    with pytest.raises(Unprocessable) as e:
        d.next_state("performing", "terminate", reason="")
    assert e.value.field == "reason"


def test_amendments_typed_with_rationale_and_in_order() -> None:
    d.check_amendment("standards", {"quality_standard": "保洁达标率 ≥ 98%"}, "提高服务标准")
    with pytest.raises(Unprocessable) as e:
        d.check_amendment("standards", {"amount": "1.00"}, "加钱")
    assert e.value.code == "contract.amendment.field_not_amendable" and e.value.field == "changes.amount"
    with pytest.raises(Unprocessable):
        d.check_amendment("content", {"content": "x"}, " ")
    with pytest.raises(Unprocessable):
        d.check_amendment("price", {"content": "x"}, "r")
    d.check_amendment_order(3, ["signed", "withdrawn"])
    with pytest.raises(Conflict):
        d.check_amendment_order(3, ["signed", "proposed"])


def test_assessment_plan_runs_on_the_schedule() -> None:
    """000_3596027388defe7e.txt: 定期考核 per period; settlement pairs each period's assessment with an instalment."""
    d.check_assessment_plan(d.AssessmentPlan(frequency="quarterly"), "quarterly")
    with pytest.raises(Unprocessable) as e:
        d.check_assessment_plan(d.AssessmentPlan(frequency="monthly"), "quarterly")
    assert e.value.field == "assessment_plan.frequency"


def test_policy_refuses_a_bad_contract_section() -> None:
    from pydantic import ValidationError

    from services.chassis.policy import ContractSection

    with pytest.raises(ValidationError):
        ContractSection.model_validate({"payment_factor_percent": {"合格": "120"}})
    with pytest.raises(ValidationError):
        ContractSection.model_validate(
            {"method_bands": [{"from": "50万", "below": "10万", "first_cycle": ["inquiry"]}]})
    with pytest.raises(ValidationError):
        ContractSection.model_validate({"method_bands": [{"from": "0", "first_cycle": ["lottery"]}]})
