"""Assessment rules, by example (no I/O). Seeds: 000 (Xi'an: dimensions, 满意率 99.83%), 001 (Penglai:
quantified scoring, larger public weight), 002 (Changzhou: 4-level survey, >95% response, monthly and
quarterly assessment), 003 (county: inspections, spot checks, surveys; purchaser + recipients + third party)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from services.assessment import domain, templates
from services.assessment.domain import (
    DeductionRule,
    FindingFact,
    Indicator,
    IndicatorSystem,
    PartyScore,
)
from services.assessment.service import indicator_of
from services.chassis.calendar import BusinessCalendar
from services.chassis.errors import Unprocessable
from services.chassis.policy import AssessmentSection, PolicyBook, PolicyPack
from services.chassis.settings import Settings

POLICY = AssessmentSection()


def system(*inds: Indicator) -> IndicatorSystem:
    return IndicatorSystem("t", 1, "property_management", "t", tuple(inds))


SIMPLE = system(
    Indicator("price", "价格", "price", D(40)),
    Indicator("quality", "质量", "service_quality", D(60), "deduction",
              (DeductionRule("dirty", "每处", D("0.5"), D(5)), DeductionRule("late", "每次", D(2)))),
    Indicator("veto", "违法", "violations", D(0), "deduction", veto=True),
)


def fact(indicator: str, rule: str | None, deduction: str, party: str = "purchaser", **kw: bool) -> FindingFact:
    return FindingFact(id=f"{indicator}-{rule}-{deduction}", party=party, indicator_code=indicator, rule_code=rule,
                       deduction=D(deduction), description="x", **kw)


# ---------------------------------------------------------------- templates (seed 000 dimensions)
@pytest.mark.parametrize("key", sorted(templates.TEMPLATES))
def test_each_template_is_a_valid_system_over_the_seed_000_dimensions(key: str) -> None:
    """Seed 000 (000_3596027388defe7e.txt): price, savings, service quality, credit, violations, policy
    execution, inquiries and complaints, internal control — every template weighs them to 100."""
    inds = [indicator_of(d) for d in templates.template_indicators(key)]
    domain.validate_indicators(inds)
    assert sum(i.weight for i in inds) == 100
    assert {i.dimension for i in inds} == set(domain.DIMENSIONS)
    assert any(i.veto for i in inds)


def test_templates_cover_the_xian_service_types_and_aliases() -> None:
    """Seed 000: property, catering (包厨), leasing, cleaning, audit, office repair; seed 002: security."""
    assert set(templates.TEMPLATES) == {"property_management", "catering", "leasing", "cleaning", "security",
                                        "repair", "audit"}
    assert templates.template_for_service_type("包厨服务") == "catering"
    assert templates.template_for_service_type("物业服务") == "property_management"
    assert templates.template_for_service_type("Property_Management") == "property_management"
    assert templates.template_for_service_type("法律咨询") is None


# ---------------------------------------------------------------- indicator validation
def test_weights_must_add_up_to_exactly_100() -> None:
    with pytest.raises(Unprocessable) as e:
        domain.validate_indicators([Indicator("a", "a", "price", D("40")), Indicator("b", "b", "credit", D("59.99"))])
    assert e.value.code == "assessment.indicators.weights_total"
    assert e.value.field == "indicators"


def test_only_veto_items_weigh_zero_and_caps_stay_within_the_weight() -> None:
    with pytest.raises(Unprocessable) as e:
        domain.validate_indicators([Indicator("a", "a", "price", D(100)), Indicator("b", "b", "credit", D(0))])
    assert e.value.code == "assessment.indicators.zero_weight"
    with pytest.raises(Unprocessable) as e:
        domain.validate_indicators([Indicator("a", "a", "price", D(100), "deduction",
                                              (DeductionRule("r", "", D(1), D(101)),))])
    assert e.value.code == "assessment.indicators.rule_cap"
    assert e.value.field == "indicators[0].rules[0].cap"


def test_unknown_dimension_and_duplicate_codes_are_refused() -> None:
    with pytest.raises(Unprocessable) as e:
        domain.validate_indicators([Indicator("a", "a", "beauty", D(100))])
    assert e.value.code == "assessment.indicators.dimension"
    with pytest.raises(Unprocessable) as e:
        domain.validate_indicators([Indicator("a", "a", "price", D(50)), Indicator("a", "a", "price", D(50))])
    assert e.value.code == "assessment.indicators.duplicate"


# ---------------------------------------------------------------- periods
def test_period_labels_as_everywhere_in_goumai() -> None:
    assert domain.parse_period("2025-03").start == date(2025, 3, 1)
    assert domain.parse_period("2025-03").end == date(2025, 3, 31)
    assert domain.parse_period("2025-Q1").end == date(2025, 3, 31)
    assert domain.parse_period("2025-H2").start == date(2025, 7, 1)
    assert domain.parse_period("2025").end == date(2025, 12, 31)
    assert domain.parse_period("2024-02").end == date(2024, 2, 29)
    for bad in ("2025-13", "2025-Q5", "25-01", "2025-H3", ""):
        with pytest.raises(Unprocessable):
            domain.parse_period(bad)


def test_periods_between_a_contracts_dates() -> None:
    """Seed 002: monthly and quarterly assessment; semi-annual surveys."""
    assert domain.periods_between(date(2025, 1, 15), date(2025, 12, 31), "quarterly") == [
        "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert domain.periods_between(date(2025, 11, 1), date(2026, 2, 10), "monthly") == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    assert domain.periods_between(date(2025, 3, 1), date(2026, 2, 28), "half_yearly") == ["2025-H1", "2025-H2",
                                                                                             "2026-H1"]
    assert domain.parse_period("2025-H1").contains(domain.parse_period("2025-03"))
    assert not domain.parse_period("2025-Q1").contains(domain.parse_period("2025-04"))


# ---------------------------------------------------------------- party weights
def test_penglai_raises_the_recipients_weight_and_a_plan_cannot_lower_it() -> None:
    """Seed 001 (001_5078ddae3d782c1e.txt): 加大民主测评权重 — the public's weight may be raised."""
    book = PolicyBook.load(Settings().policy_dir)
    penglai = book.pack("penglai").assessment
    national = book.pack("national").assessment
    assert penglai.party_weights["recipients"] > national.party_weights["recipients"]
    w = domain.resolve_party_weights(penglai, None, has_assessor=True)
    assert w == {"purchaser": D(40), "recipients": D(40), "third_party": D(20)}
    raised = domain.resolve_party_weights(national, {"purchaser": D(40), "recipients": D(50), "third_party": D(10)},
                                          has_assessor=True)
    assert raised["recipients"] == 50
    with pytest.raises(Unprocessable) as e:
        domain.resolve_party_weights(national, {"purchaser": D(60), "recipients": D(20), "third_party": D(20)},
                                     has_assessor=True)
    assert e.value.code == "assessment.plan.recipients_weight"
    assert e.value.field == "party_weights.recipients"


def test_a_third_party_weight_needs_an_assessor() -> None:
    """Seed 003: 第三方专业机构 — a third party scores only when one is assigned."""
    with pytest.raises(Unprocessable) as e:
        domain.resolve_party_weights(POLICY, None, has_assessor=False)
    assert e.value.field == "assessor_org"
    w = domain.resolve_party_weights(POLICY, {"purchaser": D(70), "recipients": D(30)}, has_assessor=False)
    assert w["third_party"] == 0


# ---------------------------------------------------------------- findings and caps
def test_finding_deduction_by_rule_or_explicit() -> None:
    q = SIMPLE.indicator("quality")
    assert q is not None
    assert domain.finding_deduction(q, "dirty", 3, None) == D("1.5")
    assert domain.finding_deduction(q, None, 1, D("0.75")) == D("0.75")
    with pytest.raises(Unprocessable) as e:
        domain.finding_deduction(q, "dirty", 3, D(2))
    assert e.value.code == "assessment.finding.deduction_mismatch"
    price = SIMPLE.indicator("price")
    assert price is not None
    with pytest.raises(Unprocessable) as e:
        domain.finding_deduction(price, None, 1, D(1))
    assert e.value.code == "assessment.finding.points_indicator"


def test_rule_caps_and_the_indicator_cap() -> None:
    """每发现一处扣0.5分, 本项最多扣5分; the indicator loses at most its weight (扣完为止)."""
    many_dirty = [fact("quality", "dirty", "0.5") for _ in range(30)]  # 15 points before the cap of 5
    assert domain.indicator_deductions(SIMPLE, many_dirty)["quality"] == D(5)
    lots = many_dirty + [fact("quality", "late", "2") for _ in range(40)]  # 5 + 80 → capped at 60
    assert domain.indicator_deductions(SIMPLE, lots)["quality"] == D(60)


# ---------------------------------------------------------------- scoring
def test_composite_of_weighted_parties_example() -> None:
    """50/30/20: purchaser 92, recipients 88.5, third party 80 → 46 + 26.55 + 16 = 88.55, 良好."""
    parts = [PartyScore("purchaser", D(50), D(92)), PartyScore("recipients", D(30), D("88.5")),
             PartyScore("third_party", D(20), D(80))]
    assert domain.composite(parts) == D("88.55")
    assert domain.grade_for(D("88.55"), POLICY.grade_bands).grade == "良好"


def test_score_assessment_end_to_end() -> None:
    findings = [fact("quality", "dirty", "0.5"), fact("quality", "late", "2"),
                fact("quality", "late", "2", party="third_party")]
    scored = domain.score_assessment(
        SIMPLE, {"purchaser": D(50), "recipients": D(30), "third_party": D(20)},
        {"purchaser": {"price": D(38)}, "third_party": {"price": D(36)}}, findings, D("91.25"), POLICY)
    # purchaser 38 + (60 - 2.5) = 95.5; third party 36 + (60 - 2) = 94; recipients 91.25
    assert [c.score for c in scored.components] == [D("95.5"), D("91.25"), D(94)]
    assert scored.score == D("93.93")  # 47.75 + 27.375 + 18.8 = 93.925 → half-up
    assert scored.grade == "优秀" and not scored.veto and not scored.failing
    assert scored.deductions["purchaser"] == {"quality": D("2.5")}


def test_a_veto_item_caps_the_grade_but_keeps_the_score() -> None:
    """Seed 002: 一票否决; seed 000: 有无违法行为."""
    scored = domain.score_assessment(SIMPLE, {"purchaser": D(100)}, {"purchaser": {"price": D(40)}},
                                     [fact("veto", None, "0")], None, POLICY)
    assert scored.score == 100
    assert scored.band_grade == "优秀"
    assert scored.grade == "不合格" and scored.failing and scored.veto
    assert scored.violations


def test_serious_violation_and_fraud_flags_veto_and_travel() -> None:
    scored = domain.score_assessment(SIMPLE, {"purchaser": D(100)}, {"purchaser": {"price": D(40)}},
                                     [fact("quality", "late", "2", serious_violation=True, fraud=True)], None, POLICY)
    assert scored.serious_violation and scored.fraud and scored.veto
    assert scored.grade == "不合格"


def test_missing_inputs_are_named() -> None:
    with pytest.raises(Unprocessable) as e:
        domain.score_assessment(SIMPLE, {"purchaser": D(70), "recipients": D(30)}, {"purchaser": {"price": D(1)}},
                                [], None, POLICY)
    assert e.value.code == "assessment.survey.missing"
    with pytest.raises(Unprocessable) as e:
        domain.score_assessment(SIMPLE, {"purchaser": D(100)}, {}, [], None, POLICY)
    assert e.value.field == "sheets.purchaser"
    with pytest.raises(Unprocessable) as e:
        domain.score_assessment(SIMPLE, {"purchaser": D(100)}, {"purchaser": {"price": D(41)}}, [], None, POLICY)
    assert e.value.code == "assessment.sheet.points_range"
    assert e.value.field == "sheets.purchaser.points.price"


# ---------------------------------------------------------------- surveys
def test_satisfaction_rate_as_xian_reports_it() -> None:
    """Seed 000 (000_3596027388defe7e.txt): 物业服务满意率 99.83% — 599 satisfied answers of 600."""
    responses = [{"q1": "优"} for _ in range(500)] + [{"q1": "较好"} for _ in range(99)] + [{"q1": "一般"}]
    tally = domain.tally_survey(POLICY, 600, responses)
    assert tally.satisfaction_rate == D("99.83")
    assert tally.response_rate == 100
    assert tally.score == D("97.46")  # (500×100 + 99×85 + 60) / 600 = 97.4583…


def test_changzhou_response_rate_over_95_percent() -> None:
    """Seed 002 (002_88cf206893e82986.txt): 四个等级 (优/较好/一般/差), 意见反馈率达95%以上."""
    tally = domain.tally_survey(POLICY, 200, [{"q": "差"} for _ in range(191)])
    assert tally.response_rate == D("95.50") and tally.response_rate > POLICY.min_response_rate_percent
    assert tally.satisfaction_rate == 0 and tally.score == 0
    with pytest.raises(Unprocessable) as e:
        domain.check_answers(POLICY, ["q1", "q2"], {"q1": "优", "q2": "很好"})
    assert e.value.field == "answers.q2"
    with pytest.raises(Unprocessable):
        domain.check_answers(POLICY, ["q1", "q2"], {"q1": "优"})


def test_respondents_are_salted_hashes() -> None:
    a = domain.respondent_hash("salt1", "E1001")
    assert a == domain.respondent_hash("salt1", " E1001 ") and a != domain.respondent_hash("salt2", "E1001")
    assert "E1001" not in a


# ---------------------------------------------------------------- response window and decision
def test_response_window_counts_working_days_over_a_holiday() -> None:
    """5 working days from Monday 2025-09-29 skip the National Day holiday (Oct 1-8) and count the make-up
    workday Saturday 2025-10-11: Sep 30, Oct 9, 10, 11, 13 → due Monday 2025-10-13."""
    cal = BusinessCalendar()
    deadline = domain.response_deadline(date(2025, 9, 29), POLICY, cal)
    assert deadline.due == date(2025, 10, 13) and not deadline.provisional
    calendar_days = POLICY.model_copy(update={"response_window_kind": "calendar"})
    assert domain.response_deadline(date(2025, 9, 29), calendar_days, cal).due == date(2025, 10, 4)
    assert domain.window_open(date(2025, 10, 13), deadline.due)
    assert not domain.window_open(date(2025, 10, 14), deadline.due)
    assert not domain.may_finalize(date(2025, 10, 13), deadline.due, responded=False)
    assert domain.may_finalize(date(2025, 10, 14), deadline.due, responded=False)
    assert domain.may_finalize(date(2025, 9, 30), deadline.due, responded=True)


def test_decision_on_the_response() -> None:
    domain.check_decision("partly_accepted", ["f1", "f2"], ["f1"], accepts=False)
    domain.check_decision("accepted", ["f1"], ["f1"], accepts=False)
    domain.check_decision(None, [], [], accepts=True)
    for decision, withdrawn, code in [(None, [], "assessment.decision.missing"),
                                      ("rejected", ["f1"], "assessment.decision.rejected_withdraws"),
                                      ("accepted", [], "assessment.decision.accepted_partly"),
                                      ("partly_accepted", ["f9"], "assessment.decision.not_disputed")]:
        with pytest.raises(Unprocessable) as e:
            domain.check_decision(decision, ["f1"], withdrawn, accepts=False)
        assert e.value.code == code


def test_policy_section_refuses_inconsistent_assessment_rules() -> None:
    with pytest.raises(ValueError):
        AssessmentSection(veto_grade="差评")
    with pytest.raises(ValueError):
        AssessmentSection(satisfied_levels=["优", "很好"])
    with pytest.raises(ValueError):
        AssessmentSection(response_window_kind="lunar")  # type: ignore[arg-type]
    assert isinstance(PolicyBook.load(Settings().policy_dir).pack("changzhou"), PolicyPack)
