"""Property tests (hypothesis) for the assessment arithmetic: weights, caps, bands, the composite, vetoes
and the supplier's response window. Seeds 000 (dimensions, rewards and penalties), 001 (quantified
scoring; the public's weight may be raised), 002 (grades drive rewards; one-vote veto)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.assessment import domain
from services.assessment.domain import DeductionRule, FindingFact, Indicator, IndicatorSystem, PartyScore
from services.chassis.calendar import BusinessCalendar
from services.chassis.errors import Unprocessable
from services.chassis.policy import AssessmentSection, GradeBand

POLICY = AssessmentSection()
CAL = BusinessCalendar()
FAST = settings(max_examples=150, deadline=None)

cents = st.integers(min_value=0, max_value=10_000).map(lambda n: D(n) / 100)  # 0.00 .. 100.00


@st.composite
def partition_of_100(draw: st.DrawFn, min_parts: int = 1, max_parts: int = 8) -> list[D]:
    """Weights in cents that add up to exactly 100.00, each > 0."""
    n = draw(st.integers(min_parts, max_parts))
    cuts = sorted(draw(st.lists(st.integers(1, 9_999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 10_000]
    return [D(b - a) / 100 for a, b in itertools.pairwise(bounds)]


@st.composite
def systems(draw: st.DrawFn) -> IndicatorSystem:
    weights = draw(partition_of_100())
    inds = []
    for n, w in enumerate(weights):
        method = draw(st.sampled_from(["points", "deduction"]))
        rules: tuple[DeductionRule, ...] = ()
        if method == "deduction":
            k = draw(st.integers(0, 3))
            rules = tuple(
                DeductionRule(f"r{m}", "", D(draw(st.integers(1, 500))) / 100,
                              draw(st.one_of(st.none(), st.integers(1, int(w * 100)).map(lambda c: D(c) / 100))))
                for m in range(k))
        inds.append(Indicator(f"i{n}", f"i{n}", "service_quality", w, method, rules))
    inds.append(Indicator("veto", "veto", "violations", D(0), "deduction", veto=True))
    return IndicatorSystem("s", 1, "x", "s", tuple(inds))


@st.composite
def findings_for(draw: st.DrawFn, system: IndicatorSystem, party: str = "purchaser") -> list[FindingFact]:
    deduction_inds = [i for i in system.indicators if i.method == "deduction" and not i.veto]
    if not deduction_inds:
        return []
    out = []
    for n in range(draw(st.integers(0, 25))):
        ind = draw(st.sampled_from(deduction_inds))
        rule = draw(st.sampled_from([None, *[r.code for r in ind.rules]]))
        count = draw(st.integers(1, 5))
        explicit = None if rule else D(draw(st.integers(0, 2_000))) / 100
        amount = domain.finding_deduction(ind, rule, count, explicit)
        out.append(FindingFact(f"f{n}", party, ind.code, rule, amount))
    return out


@st.composite
def bands(draw: st.DrawFn) -> list[GradeBand]:
    mins = sorted(draw(st.lists(st.integers(1, 9_999), min_size=1, max_size=5, unique=True)), reverse=True)
    out = [GradeBand(grade=f"g{n}", min_score=D(m) / 100) for n, m in enumerate(mins)]
    return [*out, GradeBand(grade="fail", min_score=D(0), failing=True)]


def sheet_points(system: IndicatorSystem, draw: st.DrawFn) -> dict[str, D]:
    return {i.code: D(draw(st.integers(0, int(i.weight * 100)))) / 100
            for i in system.indicators if i.method == "points" and i.weight > 0}


# ---------------------------------------------------------------- weights
@FAST
@given(partition_of_100(), st.integers(0, 10))
def test_indicator_weights_adding_to_100_pass_and_any_cent_off_fails(weights: list[D], which: int) -> None:
    inds = [Indicator(f"i{n}", "x", "price", w) for n, w in enumerate(weights)]
    domain.validate_indicators(inds)
    k = which % len(inds)
    bumped = [*inds[:k], Indicator(inds[k].code, "x", "price", inds[k].weight + D("0.01")), *inds[k + 1:]]
    try:
        domain.validate_indicators(bumped)
    except Unprocessable as e:
        assert e.code in ("assessment.indicators.weights_total", "assessment.indicators.weight_range")
    else:
        raise AssertionError("weights adding to 100.01 were accepted")


@FAST
@given(partition_of_100(min_parts=3, max_parts=3), st.integers(0, 6_000))
def test_party_weights_add_to_100_and_recipients_never_below_the_policy(parts: list[D], floor_cents: int) -> None:
    """Seed 001: a policy or a plan may raise the recipients' (public's) weight, never lower it."""
    floor = D(floor_cents) / 100
    policy = AssessmentSection(party_weights={"purchaser": 100 - floor, "recipients": floor, "third_party": D(0)})
    requested = dict(zip(domain.PARTIES, parts, strict=True))
    try:
        got = domain.resolve_party_weights(policy, requested, has_assessor=True)
    except Unprocessable as e:
        assert e.code == "assessment.plan.recipients_weight"
        assert requested["recipients"] < floor
    else:
        assert got == requested
        assert sum(got.values()) == 100 and got["recipients"] >= floor


# ---------------------------------------------------------------- caps
@FAST
@given(st.data())
def test_deductions_never_exceed_rule_caps_or_the_indicator_weight(data: st.DataObject) -> None:
    system = data.draw(systems())
    findings = data.draw(findings_for(system))
    capped = domain.indicator_deductions(system, findings)
    for ind in system.indicators:
        mine = [f for f in findings if f.indicator_code == ind.code]
        raw = sum((f.deduction for f in mine), D(0))
        assert D(0) <= capped[ind.code] <= min(raw, ind.weight)
        for rule in ind.rules:
            without = domain.indicator_deductions(system, [f for f in findings if f.rule_code != rule.code
                                                           or f.indicator_code != ind.code])
            taken_by_rule = capped[ind.code] - without[ind.code]
            assert taken_by_rule >= 0
            if rule.cap is not None:  # one rule takes at most its cap, however many items
                assert taken_by_rule <= rule.cap
        no_cap_binds = raw <= ind.weight and all(
            r.cap is None or sum((f.deduction for f in mine if f.rule_code == r.code), D(0)) <= r.cap
            for r in ind.rules)
        if no_cap_binds:
            assert capped[ind.code] == raw


@FAST
@given(st.data())
def test_sheet_score_stays_within_0_and_100_and_a_new_finding_never_raises_it(data: st.DataObject) -> None:
    system = data.draw(systems())
    points = sheet_points(system, data.draw)
    findings = data.draw(findings_for(system))
    score, lines = domain.sheet_score(system, "purchaser", points, findings)
    assert D(0) <= score <= 100
    assert all(D(0) <= ln.points <= ln.weight for ln in lines)
    more = data.draw(findings_for(system))
    more = [FindingFact(f"x{f.id}", f.party, f.indicator_code, f.rule_code, f.deduction) for f in more]
    score2, _ = domain.sheet_score(system, "purchaser", points, findings + more)
    assert score2 <= score
    # another party's findings never touch this party's sheet
    theirs = [FindingFact(f"t{f.id}", "third_party", f.indicator_code, f.rule_code, f.deduction) for f in more]
    assert domain.sheet_score(system, "purchaser", points, findings + theirs)[0] == score


# ---------------------------------------------------------------- composite and bands
@FAST
@given(partition_of_100(min_parts=3, max_parts=3), st.lists(cents, min_size=3, max_size=3))
def test_composite_is_the_weighted_mean_rounded_half_up(weights: list[D], scores: list[D]) -> None:
    parts = [PartyScore(p, w, s) for p, w, s in zip(domain.PARTIES, weights, scores, strict=True)]
    total = domain.composite(parts)
    exact = sum((w * s for w, s in zip(weights, scores, strict=True)), D(0)) / 100
    assert abs(total - exact) <= D("0.005")
    assert min(scores) <= total <= max(scores)
    assert total == total.quantize(D("0.01"))
    same = [PartyScore(p, w, scores[0]) for p, w in zip(domain.PARTIES, weights, strict=True)]
    assert domain.composite(same) == scores[0]


@FAST
@given(bands(), cents, cents)
def test_grade_is_the_highest_band_reached_and_monotone(bs: list[GradeBand], a: D, b: D) -> None:
    band = domain.grade_for(a, bs)
    assert band.min_score <= a
    assert all(not (other.min_score <= a and other.min_score > band.min_score) for other in bs)
    lo, hi = sorted([a, b])
    assert domain.grade_for(lo, bs).min_score <= domain.grade_for(hi, bs).min_score


@FAST
@given(cents)
def test_policy_bands_at_their_edges(score: D) -> None:
    """优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, 不合格 below (national pack)."""
    grade = domain.grade_for(score, POLICY.grade_bands).grade
    expected = "优秀" if score >= 90 else "良好" if score >= 80 else "合格" if score >= 60 else "不合格"
    assert grade == expected


@FAST
@given(st.data())
def test_a_veto_caps_the_grade_at_the_veto_grade_whatever_the_score(data: st.DataObject) -> None:
    system = data.draw(systems())
    points = sheet_points(system, data.draw)
    findings = data.draw(findings_for(system))
    clean = domain.score_assessment(system, {"purchaser": D(100)}, {"purchaser": points}, findings, None, POLICY)
    vetoed = domain.score_assessment(system, {"purchaser": D(100)}, {"purchaser": points},
                                     [*findings, FindingFact("v", "purchaser", "veto", None, D(0))], None, POLICY)
    assert vetoed.score == clean.score  # a veto item weighs nothing; it caps the grade
    assert vetoed.grade == POLICY.veto_grade and vetoed.failing
    assert clean.grade == domain.grade_for(clean.score, POLICY.grade_bands).grade


# ---------------------------------------------------------------- survey
@FAST
@given(st.lists(st.lists(st.sampled_from(["优", "较好", "一般", "差"]), min_size=1, max_size=5), min_size=1,
                max_size=60), st.integers(0, 40))
def test_survey_rates_stay_in_range(answers: list[list[str]], extra_invited: int) -> None:
    responses = [{f"q{n}": lvl for n, lvl in enumerate(r)} for r in answers]
    tally = domain.tally_survey(POLICY, len(responses) + extra_invited, responses)
    assert D(0) <= tally.satisfaction_rate <= 100
    assert D(0) < tally.response_rate <= 100
    assert D(0) <= tally.score <= 100
    if extra_invited == 0:
        assert tally.response_rate == 100


# ---------------------------------------------------------------- the response window
@FAST
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 11, 30)), st.integers(0, 20))
def test_working_day_window_counts_exactly_n_working_days(drafted: date, days: int) -> None:
    policy = POLICY.model_copy(update={"response_window_days": days})
    deadline = domain.response_deadline(drafted, policy, CAL)
    assert CAL.workdays_between(drafted, deadline.due) == days
    if days:
        assert CAL.is_workday(deadline.due)
        assert deadline.due - drafted >= timedelta(days=days)
    else:
        assert deadline.due == drafted
    assert domain.window_open(deadline.due, deadline.due)
    assert not domain.window_open(deadline.due + timedelta(days=1), deadline.due)
    assert not domain.may_finalize(deadline.due, deadline.due, responded=False)
    assert domain.may_finalize(deadline.due + timedelta(days=1), deadline.due, responded=False)


@FAST
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.integers(0, 30))
def test_calendar_day_window(drafted: date, days: int) -> None:
    policy = POLICY.model_copy(update={"response_window_days": days, "response_window_kind": "calendar"})
    deadline = domain.response_deadline(drafted, policy, CAL)
    assert deadline.due == drafted + timedelta(days=days) and not deadline.provisional


@settings(max_examples=30, deadline=None)
@given(st.dates(min_value=date(2031, 1, 1), max_value=date(2031, 12, 20)), st.integers(1, 5))
def test_a_year_no_table_knows_is_counted_by_weekends_and_marked_provisional(drafted: date, days: int) -> None:
    assume(drafted.year == 2031)
    deadline = domain.response_deadline(drafted, POLICY, CAL)
    assert deadline.provisional
    assert deadline.due.weekday() < 5
