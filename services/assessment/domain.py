"""Rules of the assessment service (no I/O): indicator systems, periods, inspections and deductions,
satisfaction surveys, multi-party scoring, grades, the supplier's response window.

Arithmetic is in `Decimal`, never floats; scores are rounded half-up to 0.01 once, at the end of each
party's score and of the composite, so the same inputs always give the same grade.

Sources: seed 000 (Xi'an) gives the assessment dimensions (采购价格, 节约资金效果, 服务质量, 信誉状况,
有无违法行为, 政府采购政策执行, 询问质疑答复, 内部监督管理制度) and periodic + daily assessment with
rewards and penalties; seed 001 (Penglai) quantified scoring in contracts and a larger public weight;
seed 002 (Changzhou) the four-level survey (优/较好/一般/差), >95% response, monthly and quarterly
assessment, third-party monitoring by inspections, spot checks and unannounced visits; seed 003
inspections, spot checks, surveys, a combined panel of purchaser, recipients and third party.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.chassis.calendar import BusinessCalendar, Deadline
from services.chassis.errors import Unprocessable
from services.chassis.policy import AssessmentSection, GradeBand

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)

PARTIES = ("purchaser", "recipients", "third_party")
SHEET_PARTIES = ("purchaser", "third_party")  # parties that score on the indicator sheet
PERIOD_KINDS = ("monthly", "quarterly", "half_yearly", "yearly")
INSPECTION_KINDS = ("inspection", "spot_check", "unannounced_visit", "sample_test")  # 现场检查、抽查、明察暗访、抽检
METHODS = ("points", "deduction")
# Seed 000: the matters an assessment covers during the service period.
DIMENSIONS = {
    "price": "采购价格",
    "savings": "节约资金效果",
    "service_quality": "服务质量",
    "credit": "信誉状况",
    "violations": "有无违法行为",
    "policy_execution": "政府采购政策的执行情况",
    "inquiries_complaints": "询问质疑答复情况",
    "internal_control": "内部监督管理制度建设及执行情况",
}
STATES = ("draft", "final", "published")
DECISIONS = ("accepted", "partly_accepted", "rejected")
WINDOW_KINDS = ("working", "calendar")


def q2(x: Decimal) -> Decimal:
    """Round half-up to 0.01."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _two_places(x: Decimal, field_name: str) -> Decimal:
    if not x.is_finite():
        raise Unprocessable("assessment.number.invalid", f"{field_name} must be a finite number",
                            field=field_name, rule="decimal with at most two places")
    if x != x.quantize(CENT):
        raise Unprocessable("assessment.number.precision", f"{field_name} has more than two decimal places",
                            field=field_name, rule="decimal with at most two places")
    return x


# ---------------------------------------------------------------- periods
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4])|-H([12]))?$")


@dataclass(frozen=True, order=True)
class Period:
    """An assessment period, labelled as everywhere in Goumai: "2025-03", "2025-Q1", "2025-H1", "2025"."""

    year: int
    kind: str
    index: int  # month 1-12, quarter 1-4, half 1-2, 1 for a year

    @property
    def label(self) -> str:
        if self.kind == "monthly":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarterly":
            return f"{self.year}-Q{self.index}"
        if self.kind == "half_yearly":
            return f"{self.year}-H{self.index}"
        return f"{self.year}"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}[self.kind]

    @property
    def start(self) -> date:
        return date(self.year, (self.index - 1) * self.months + 1, 1)

    @property
    def end(self) -> date:
        last_month = self.index * self.months
        nxt = date(self.year + 1, 1, 1) if last_month == 12 else date(self.year, last_month + 1, 1)
        return nxt - timedelta(days=1)

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_period(label: str, field_name: str = "period") -> Period:
    m = _PERIOD.match(label or "")
    if not m:
        raise Unprocessable("assessment.period.invalid",
                            f"{label!r} is not a period label such as 2025-03, 2025-Q1, 2025-H1 or 2025",
                            field=field_name, rule="period labels: YYYY-MM | YYYY-Qn | YYYY-Hn | YYYY")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise Unprocessable("assessment.period.invalid", f"{label!r}: month must be 01-12",
                                field=field_name, rule="period labels: YYYY-MM | YYYY-Qn | YYYY-Hn | YYYY")
        return Period(year, "monthly", month)
    if m.group(3):
        return Period(year, "quarterly", int(m.group(3)))
    if m.group(4):
        return Period(year, "half_yearly", int(m.group(4)))
    return Period(year, "yearly", 1)


def period_of(kind: str, day: date) -> Period:
    """The period of `kind` a day falls in."""
    months = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}[kind]
    return Period(day.year, kind, (day.month - 1) // months + 1)


def periods_between(start: date, end: date, kind: str) -> list[str]:
    """Labels of every period of `kind` that overlaps [start, end], in order."""
    if end < start:
        raise Unprocessable("assessment.plan.dates", "ends_on is before starts_on", field="ends_on",
                            rule="a plan's period runs forwards")
    out: list[str] = []
    p = period_of(kind, start)
    while p.start <= end:
        out.append(p.label)
        p = period_of(kind, p.end + timedelta(days=1))
    return out


# ---------------------------------------------------------------- indicator systems (考核评分细则)
@dataclass(frozen=True)
class DeductionRule:
    """A deduction rule: `points_per_item` off for each occurrence, at most `cap` for the rule in a period
    (e.g. 每发现一处扣0.5分, 本项最多扣5分). `cap=None` means up to the indicator's own weight."""

    code: str
    description: str
    points_per_item: Decimal
    cap: Decimal | None = None


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    dimension: str
    weight: Decimal  # the points it is worth out of 100
    method: str = "points"  # points: the party awards 0..weight; deduction: weight minus capped deductions
    rules: tuple[DeductionRule, ...] = ()
    veto: bool = False  # 一票否决: a finding on it caps the grade
    description: str = ""

    def rule(self, code: str) -> DeductionRule | None:
        return next((r for r in self.rules if r.code == code), None)


@dataclass(frozen=True)
class IndicatorSystem:
    code: str
    version: int
    service_type: str
    name: str
    indicators: tuple[Indicator, ...]

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    @property
    def ref(self) -> str:
        return f"{self.code}@v{self.version}"


def validate_indicators(indicators: Sequence[Indicator]) -> None:
    """Weights add up to exactly 100; codes are unique; a deduction rule's cap is within its indicator;
    only veto items may weigh 0 (seed 001: quantified scoring items; seed 000: the dimensions)."""
    if not indicators:
        raise Unprocessable("assessment.indicators.empty", "an indicator system needs at least one indicator",
                            field="indicators", rule="at least one indicator")
    seen: set[str] = set()
    total = ZERO
    for n, ind in enumerate(indicators):
        f = f"indicators[{n}]"
        if ind.code in seen:
            raise Unprocessable("assessment.indicators.duplicate", f"indicator code {ind.code!r} appears twice",
                                field=f"{f}.code", rule="indicator codes are unique in a system")
        seen.add(ind.code)
        _two_places(ind.weight, f"{f}.weight")
        if ind.weight < 0 or ind.weight > HUNDRED:
            raise Unprocessable("assessment.indicators.weight_range", f"{ind.code}: weight must be 0..100",
                                field=f"{f}.weight", rule="0 <= weight <= 100")
        if ind.weight == 0 and not ind.veto:
            raise Unprocessable("assessment.indicators.zero_weight",
                                f"{ind.code}: only a veto item (一票否决) may weigh 0",
                                field=f"{f}.weight", rule="weight > 0 unless veto")
        if ind.method not in METHODS:
            raise Unprocessable("assessment.indicators.method", f"{ind.code}: method must be points or deduction",
                                field=f"{f}.method", rule=f"method in {METHODS}")
        if ind.dimension not in DIMENSIONS and ind.dimension != "other":
            raise Unprocessable("assessment.indicators.dimension",
                                f"{ind.code}: dimension {ind.dimension!r} is not one of {sorted(DIMENSIONS)} or other",
                                field=f"{f}.dimension", rule="seed 000 dimensions")
        rule_codes: set[str] = set()
        for m, r in enumerate(ind.rules):
            rf = f"{f}.rules[{m}]"
            if r.code in rule_codes:
                raise Unprocessable("assessment.indicators.duplicate_rule", f"{ind.code}: rule {r.code!r} twice",
                                    field=f"{rf}.code", rule="rule codes are unique in an indicator")
            rule_codes.add(r.code)
            _two_places(r.points_per_item, f"{rf}.points_per_item")
            if r.points_per_item <= 0:
                raise Unprocessable("assessment.indicators.rule_points", f"{ind.code}.{r.code}: points must be > 0",
                                    field=f"{rf}.points_per_item", rule="points_per_item > 0")
            if r.cap is not None:
                _two_places(r.cap, f"{rf}.cap")
                if r.cap <= 0 or (ind.weight > 0 and r.cap > ind.weight):
                    raise Unprocessable("assessment.indicators.rule_cap",
                                        f"{ind.code}.{r.code}: cap must be > 0 and at most the weight {ind.weight}",
                                        field=f"{rf}.cap", rule="0 < cap <= indicator weight")
        total += ind.weight
    if total != HUNDRED:
        raise Unprocessable("assessment.indicators.weights_total", f"indicator weights add up to {total}, not 100",
                            field="indicators", rule="weights add up to 100")


# ---------------------------------------------------------------- plans: parties and weights
def resolve_party_weights(policy: AssessmentSection, requested: Mapping[str, Decimal] | None,
                          *, has_assessor: bool) -> dict[str, Decimal]:
    """The plan's party weights: the policy's by default (`assessment.party_weights`). A plan may set its
    own, adding up to 100, but may not give the service recipients less than the policy does — a policy
    or a plan may only raise the public's weight (seed 001: 加大民主测评权重). A third-party weight needs
    an assessor organisation on the plan (seed 003: 第三方专业机构)."""
    weights = {p: Decimal(policy.party_weights.get(p, ZERO)) for p in PARTIES}
    if requested is not None:
        unknown = set(requested) - set(PARTIES)
        if unknown:
            raise Unprocessable("assessment.plan.weights_party", f"unknown parties {sorted(unknown)}",
                                field="party_weights", rule=f"parties: {', '.join(PARTIES)}")
        weights = {p: Decimal(requested.get(p, ZERO)) for p in PARTIES}
        for p, w in weights.items():
            _two_places(w, f"party_weights.{p}")
            if w < 0:
                raise Unprocessable("assessment.plan.weights_negative", f"{p}: weight must be >= 0",
                                    field=f"party_weights.{p}", rule="weights >= 0")
        if sum(weights.values()) != HUNDRED:
            raise Unprocessable("assessment.plan.weights_total",
                                f"party weights add up to {sum(weights.values())}, not 100",
                                field="party_weights", rule="party weights add up to 100")
        floor = Decimal(policy.party_weights.get("recipients", ZERO))
        if weights["recipients"] < floor:
            raise Unprocessable("assessment.plan.recipients_weight",
                                f"the recipients' weight {weights['recipients']} is below the policy's {floor}",
                                field="party_weights.recipients",
                                rule="assessment.party_weights.recipients is a floor (seed 001)")
    if weights["third_party"] > 0 and not has_assessor:
        raise Unprocessable("assessment.plan.assessor_missing",
                            "the third party has a weight but the plan names no assessor organisation; "
                            "name assessor_org or give party_weights with third_party 0",
                            field="assessor_org", rule="a third-party weight needs an assessor")
    return weights


# ---------------------------------------------------------------- findings (daily supervision)
def finding_deduction(ind: Indicator, rule_code: str | None, count: int, explicit: Decimal | None,
                      field_prefix: str = "findings[0]") -> Decimal:
    """The points a finding takes off (before caps). By rule: points_per_item × count. Without a rule,
    an explicit deduction (e.g. a veto item's finding may take 0). Points-method indicators take no
    findings unless they are veto items: their points are awarded on the sheet."""
    if ind.method == "points" and not ind.veto:
        raise Unprocessable("assessment.finding.points_indicator",
                            f"{ind.code} is scored by points on the sheet; findings go to deduction indicators "
                            "or veto items", field=f"{field_prefix}.indicator", rule="method: deduction or veto")
    if count < 1:
        raise Unprocessable("assessment.finding.count", "count must be at least 1", field=f"{field_prefix}.count",
                            rule="count >= 1")
    if rule_code is not None:
        rule = ind.rule(rule_code)
        if rule is None:
            raise Unprocessable("assessment.finding.rule_unknown", f"{ind.code} has no rule {rule_code!r}",
                                field=f"{field_prefix}.rule", rule="rule of the indicator")
        computed = rule.points_per_item * count
        if explicit is not None and explicit != computed:
            raise Unprocessable("assessment.finding.deduction_mismatch",
                                f"rule {rule_code} takes {computed} for {count} item(s), not {explicit}",
                                field=f"{field_prefix}.deduction", rule="deduction = points_per_item × count")
        return q2(computed)
    if explicit is None:
        raise Unprocessable("assessment.finding.deduction_missing", "name a rule or give the deduction",
                            field=f"{field_prefix}.deduction", rule="rule or deduction")
    _two_places(explicit, f"{field_prefix}.deduction")
    if explicit < 0:
        raise Unprocessable("assessment.finding.deduction_negative", "a deduction is >= 0",
                            field=f"{field_prefix}.deduction", rule="deduction >= 0")
    return q2(explicit)


@dataclass(frozen=True)
class FindingFact:
    id: str
    party: str
    indicator_code: str
    rule_code: str | None
    deduction: Decimal
    description: str = ""
    serious_violation: bool = False
    fraud: bool = False


def indicator_deductions(system: IndicatorSystem, findings: Iterable[FindingFact]) -> dict[str, Decimal]:
    """Capped deductions per indicator: each rule at most its cap, the indicator at most its weight
    (扣完为止). Findings on other indicators are ignored."""
    per_rule: dict[tuple[str, str | None], Decimal] = {}
    for f in findings:
        key = (f.indicator_code, f.rule_code)
        per_rule[key] = per_rule.get(key, ZERO) + f.deduction
    out: dict[str, Decimal] = {}
    for ind in system.indicators:
        total = ZERO
        for (code, rule_code), amount in per_rule.items():
            if code != ind.code:
                continue
            rule = ind.rule(rule_code) if rule_code else None
            cap = rule.cap if rule is not None and rule.cap is not None else None
            total += min(amount, cap) if cap is not None else amount
        out[ind.code] = min(total, ind.weight)
    return out


# ---------------------------------------------------------------- scoring
@dataclass(frozen=True)
class IndicatorLine:
    code: str
    weight: Decimal
    points: Decimal
    deducted: Decimal


@dataclass(frozen=True)
class PartyScore:
    party: str
    weight: Decimal
    score: Decimal
    lines: tuple[IndicatorLine, ...] = ()


def sheet_score(system: IndicatorSystem, party: str, points: Mapping[str, Decimal] | None,
                findings: Iterable[FindingFact]) -> tuple[Decimal, tuple[IndicatorLine, ...]]:
    """A party's indicator-sheet score out of 100: points indicators as awarded (0..weight), deduction
    indicators as weight minus that party's capped deductions."""
    mine = [f for f in findings if f.party == party]
    deducted = indicator_deductions(system, mine)
    given = dict(points or {})
    unknown = set(given) - {i.code for i in system.indicators}
    if unknown:
        raise Unprocessable("assessment.sheet.unknown_indicator", f"no such indicators: {sorted(unknown)}",
                            field=f"sheets.{party}.points", rule=f"indicators of {system.ref}")
    lines: list[IndicatorLine] = []
    for ind in system.indicators:
        if ind.method == "points":
            if ind.code not in given:
                if ind.weight == 0:
                    lines.append(IndicatorLine(ind.code, ind.weight, ZERO, ZERO))
                    continue
                raise Unprocessable("assessment.sheet.missing_points",
                                    f"the {party} sheet gives no points for {ind.code}",
                                    field=f"sheets.{party}.points.{ind.code}", rule="every points indicator is scored")
            p = _two_places(Decimal(given[ind.code]), f"sheets.{party}.points.{ind.code}")
            if p < 0 or p > ind.weight:
                raise Unprocessable("assessment.sheet.points_range",
                                    f"{ind.code}: {p} is outside 0..{ind.weight}",
                                    field=f"sheets.{party}.points.{ind.code}", rule="0 <= points <= weight")
            lines.append(IndicatorLine(ind.code, ind.weight, p, ZERO))
        else:
            if ind.code in given:
                raise Unprocessable("assessment.sheet.deduction_indicator",
                                    f"{ind.code} is scored by deductions from findings, not by points",
                                    field=f"sheets.{party}.points.{ind.code}", rule="method: deduction")
            d = deducted.get(ind.code, ZERO)
            lines.append(IndicatorLine(ind.code, ind.weight, ind.weight - d, d))
    return q2(sum((ln.points for ln in lines), ZERO)), tuple(lines)


def needs_sheet(system: IndicatorSystem) -> bool:
    return any(i.method == "points" and i.weight > 0 for i in system.indicators)


def composite(components: Iterable[PartyScore]) -> Decimal:
    """Σ weight × score / 100, half-up to 0.01."""
    return q2(sum((c.weight * c.score for c in components), ZERO) / HUNDRED)


def grade_for(score: Decimal, bands: Sequence[GradeBand]) -> GradeBand:
    """The highest band whose min_score the score reaches (bands run from the highest min down to 0)."""
    for band in sorted(bands, key=lambda b: b.min_score, reverse=True):
        if score >= band.min_score:
            return band
    raise ValueError(f"no grade band for score {score}")


def cap_grade(band: GradeBand, cap_grade_name: str, bands: Sequence[GradeBand]) -> GradeBand:
    """A veto caps the grade: the worse of the score's band and the veto grade."""
    ordered = sorted(bands, key=lambda b: b.min_score, reverse=True)
    names = [b.grade for b in ordered]
    if cap_grade_name not in names:
        raise ValueError(f"veto grade {cap_grade_name!r} is not a band")
    return ordered[max(names.index(band.grade), names.index(cap_grade_name))]


@dataclass(frozen=True)
class SurveyTally:
    invited: int
    respondents: int
    answers: int
    satisfied: int
    points_total: Decimal
    per_level: dict[str, int] = field(default_factory=dict)

    @property
    def response_rate(self) -> Decimal:
        return q2(Decimal(self.respondents) * HUNDRED / Decimal(self.invited)) if self.invited else ZERO

    @property
    def satisfaction_rate(self) -> Decimal:
        return q2(Decimal(self.satisfied) * HUNDRED / Decimal(self.answers)) if self.answers else ZERO

    @property
    def score(self) -> Decimal:
        return q2(self.points_total / Decimal(self.answers)) if self.answers else ZERO


def tally_survey(policy: AssessmentSection, invited: int, responses: Iterable[Mapping[str, str]]) -> SurveyTally:
    """Response rate = respondents / invited; satisfaction rate = answers in the satisfied levels
    (优, 较好) / all answers; score = the mean of the level points (policy `survey_level_points`).
    Seeds 000 (满意率 99.83%) and 002 (四个等级, 反馈率95%以上)."""
    per_level = dict.fromkeys(policy.survey_level_points, 0)
    respondents = answers = satisfied = 0
    total = ZERO
    for r in responses:
        respondents += 1
        for level in r.values():
            answers += 1
            per_level[level] = per_level.get(level, 0) + 1
            total += Decimal(policy.survey_level_points[level])
            satisfied += level in policy.satisfied_levels
    return SurveyTally(invited, respondents, answers, satisfied, total, per_level)


def check_answers(policy: AssessmentSection, items: Sequence[str], answers: Mapping[str, str]) -> None:
    """One answer per questionnaire item, each on one of the policy's levels."""
    missing = [i for i in items if i not in answers]
    if missing:
        raise Unprocessable("assessment.survey.answer_missing", f"no answer for items {missing[:5]}",
                            field=f"answers.{missing[0]}", rule="every item is answered")
    extra = sorted(set(answers) - set(items))
    if extra:
        raise Unprocessable("assessment.survey.answer_unknown", f"no such items {extra[:5]}",
                            field=f"answers.{extra[0]}", rule="items of the questionnaire")
    for item, level in answers.items():
        if level not in policy.survey_level_points:
            raise Unprocessable("assessment.survey.level", f"{item}: {level!r} is not one of "
                                f"{list(policy.survey_level_points)}", field=f"answers.{item}",
                                rule="assessment.survey_level_points (seed 002: 优/较好/一般/差)")


def respondent_hash(salt: str, respondent_id: str) -> str:
    """Respondents are kept only as a salted hash (one response each; never published)."""
    return hashlib.sha256(f"{salt}:{respondent_id.strip()}".encode()).hexdigest()


@dataclass(frozen=True)
class Scored:
    score: Decimal
    grade: str
    failing: bool
    band_grade: str  # the grade of the score before any veto
    veto: bool
    veto_reasons: tuple[str, ...]
    components: tuple[PartyScore, ...]
    deductions: dict[str, dict[str, Decimal]]  # party -> indicator -> capped deduction
    violations: tuple[str, ...]
    serious_violation: bool
    fraud: bool


def score_assessment(
    system: IndicatorSystem,
    weights: Mapping[str, Decimal],
    sheets: Mapping[str, Mapping[str, Decimal]],
    findings: Sequence[FindingFact],
    survey_score: Decimal | None,
    policy: AssessmentSection,
) -> Scored:
    """The composite of the weighted parties (purchaser and third party on the indicator sheet, the
    recipients by the survey), deductions applied with their caps, veto items capping the grade, the
    grade from the policy's bands."""
    components: list[PartyScore] = []
    deductions: dict[str, dict[str, Decimal]] = {}
    for party in PARTIES:
        w = Decimal(weights.get(party, ZERO))
        if w == 0:
            continue
        if party == "recipients":
            if survey_score is None:
                raise Unprocessable("assessment.survey.missing",
                                    "the recipients have a weight but there is no satisfaction survey for the period",
                                    field="survey_id", rule="recipients are scored by a survey")
            components.append(PartyScore(party, w, q2(survey_score)))
            continue
        if needs_sheet(system) and party not in sheets:
            raise Unprocessable("assessment.sheet.missing", f"no {party} score sheet for the period",
                                field=f"sheets.{party}", rule="each weighted party scores the indicators")
        score, lines = sheet_score(system, party, sheets.get(party), findings)
        components.append(PartyScore(party, w, score, lines))
        deductions[party] = {ln.code: ln.deducted for ln in lines if ln.deducted}
    total = composite(components)
    band = grade_for(total, policy.grade_bands)
    reasons: list[str] = []
    violations: list[str] = []
    serious = fraud = False
    for f in findings:
        ind = system.indicator(f.indicator_code)
        if ind is not None and ind.veto:
            reasons.append(f"veto item {ind.code}: {f.description}".strip())
        if f.serious_violation:
            serious = True
            reasons.append(f"serious violation: {f.description}".strip())
        if f.fraud:
            fraud = True
            reasons.append(f"fraud: {f.description}".strip())
        if f.serious_violation or f.fraud or (ind is not None and ind.dimension == "violations"):
            violations.append(f"{f.indicator_code}: {f.description}".strip())
    veto = bool(reasons)
    final = cap_grade(band, policy.veto_grade, policy.grade_bands) if veto else band
    return Scored(score=total, grade=final.grade, failing=final.failing, band_grade=band.grade, veto=veto,
                  veto_reasons=tuple(reasons), components=tuple(components), deductions=deductions,
                  violations=tuple(violations), serious_violation=serious, fraud=fraud)


# ---------------------------------------------------------------- the supplier's response window
def response_deadline(drafted_on: date, policy: AssessmentSection, calendar: BusinessCalendar) -> Deadline:
    """The last day the supplier may respond to a draft: `response_window_days` after the draft's
    business date (Asia/Shanghai), counted in Chinese working days (with make-up workdays) or in calendar
    days as the policy says (`response_window_kind`); the draft day itself is not counted."""
    days = policy.response_window_days
    if policy.response_window_kind == "calendar":
        return Deadline(due=drafted_on + timedelta(days=days), provisional=False)
    return calendar.add_workdays(drafted_on, days)


def window_open(today: date, due: date) -> bool:
    """The supplier may respond up to and including the due day."""
    return today <= due


def may_finalize(today: date, due: date, responded: bool) -> bool:
    """Final once the supplier has responded (and the response is decided) or the window has passed."""
    return responded or today > due


def check_decision(decision: str | None, disputed: Sequence[str], withdrawn: Sequence[str],
                   accepts: bool) -> None:
    """The decision on a supplier's response: accepted / partly_accepted / rejected, with a reason; only
    findings the supplier disputed may be withdrawn; a rejection withdraws none."""
    if accepts:
        if withdrawn:
            raise Unprocessable("assessment.decision.nothing_disputed",
                                "the supplier accepted the draft; there is nothing to withdraw",
                                field="withdrawn_findings", rule="only disputed findings are withdrawn")
        return
    if decision is None:
        raise Unprocessable("assessment.decision.missing",
                            "the supplier responded; the finalisation must decide on the response",
                            field="decision", rule=f"decision in {DECISIONS}")
    not_disputed = sorted(set(withdrawn) - set(disputed))
    if not_disputed:
        raise Unprocessable("assessment.decision.not_disputed",
                            f"findings {not_disputed} were not disputed by the supplier",
                            field="withdrawn_findings", rule="only disputed findings are withdrawn")
    if decision == "rejected" and withdrawn:
        raise Unprocessable("assessment.decision.rejected_withdraws",
                            "a rejected response withdraws no findings", field="withdrawn_findings",
                            rule="rejected: nothing withdrawn")
    if decision == "accepted" and set(withdrawn) != set(disputed):
        raise Unprocessable("assessment.decision.accepted_partly",
                            "an accepted response withdraws every disputed finding; use partly_accepted",
                            field="withdrawn_findings", rule="accepted: all disputed findings withdrawn")
