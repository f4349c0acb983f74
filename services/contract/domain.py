"""Rules of the contract service (no I/O): purchase methods, award, contract terms and filing, performance-linked
settlement.

Everything here is pure: functions over dates, fen and the policy pack in force. The service layer loads and
stores; these functions decide and raise `Unprocessable`/`Conflict` with the field and the rule broken.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from services.chassis.errors import Conflict, Unprocessable
from services.chassis.money import apply_percent, fen_to_yuan, split_evenly
from services.chassis.policy import PURCHASE_METHODS, ContractSection, MethodBand, PolicyPack

METHOD_LABELS = {
    "public_tender": "公开招标",
    "invited_tender": "邀请招标",
    "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商",
    "single_source": "单一来源",
    "inquiry": "询价",
    "price_comparison": "比价 (micro items)",
    "designated": "定点",
}

# ---------------------------------------------------------------- states
DRAFT, AWARDED, SIGNED, PERFORMING, SUSPENDED, COMPLETED, TERMINATED = (
    "draft", "awarded", "signed", "performing", "suspended", "completed", "terminated",
)
STATES = (DRAFT, AWARDED, SIGNED, PERFORMING, SUSPENDED, COMPLETED, TERMINATED)
LIVE = (AWARDED, SIGNED, PERFORMING, SUSPENDED)  # funds reserved, supplier bound
SETTLEABLE = (SIGNED, PERFORMING, SUSPENDED)

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((SIGNED,), PERFORMING),
    "suspend": ((SIGNED, PERFORMING), SUSPENDED),
    "resume": ((SUSPENDED,), PERFORMING),
    "complete": ((PERFORMING,), COMPLETED),
    "terminate": ((DRAFT, AWARDED, SIGNED, PERFORMING, SUSPENDED), TERMINATED),
}
NEEDS_REASON = ("suspend", "terminate")


def next_state(current: str, action: str, *, reason: str | None = None) -> str:
    """The state an action leads to from `current`, or a 409 naming the states it may start from."""
    if action not in TRANSITIONS:
        raise Unprocessable("contract.action.unknown", f"unknown action {action!r}; known: {', '.join(TRANSITIONS)}",
                            field="action", rule="actions: " + ", ".join(TRANSITIONS))
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise Conflict("contract.state.invalid_transition",
                       f"cannot {action} a contract that is {current}; only from {', '.join(sources)}",
                       field="action", rule="draft → awarded → signed → performing → completed; suspended; terminated")
    if action in NEEDS_REASON and not (reason and reason.strip()):
        raise Unprocessable("contract.reason.required", f"{action} needs a reason", field="reason",
                            rule=f"a contract is {target} only with a recorded reason")
    return target


# ---------------------------------------------------------------- periods and the settlement schedule
SCHEDULE_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def period_label(day: date, schedule: str) -> str:
    """The label of the period holding `day`: "2025-03", "2025-Q1", "2025-H1", "2025" (CONTRIBUTING.md)."""
    if schedule == "monthly":
        return f"{day.year}-{day.month:02d}"
    if schedule == "quarterly":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if schedule == "half_yearly":
        return f"{day.year}-H{1 if day.month <= 6 else 2}"
    if schedule == "yearly":
        return f"{day.year}"
    raise Unprocessable("contract.schedule.unknown", f"unknown schedule {schedule!r}", field="schedule",
                        rule="schedule: " + ", ".join(SCHEDULE_MONTHS))


def period_bounds(day: date, schedule: str) -> tuple[date, date]:
    """First and last day of the calendar period holding `day`."""
    months = SCHEDULE_MONTHS[schedule]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    return start, add_months(start, months) - timedelta(days=1)


@dataclass(frozen=True)
class Instalment:
    seq: int
    period: str
    starts_on: date  # within the contract term
    ends_on: date
    amount_fen: int
    partial: bool = False  # the term covers only part of the calendar period


def _allocate(total_fen: int, weights: Sequence[Fraction]) -> list[int]:
    """Split `total_fen` in proportion to `weights`; the parts add up to the total to the fen
    (largest remainder; ties go to the earlier period)."""
    w_sum = sum(weights, Fraction(0))
    exact = [Fraction(total_fen) * w / w_sum for w in weights]
    parts = [int(e) for e in exact]  # floor: every value is non-negative
    rest = total_fen - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def build_schedule(amount_fen: int, starts_on: date, ends_on: date, schedule: str) -> list[Instalment]:
    """One instalment per calendar period the term covers. Whole periods share the amount evenly
    (`split_evenly`, remainder first); a period the term covers only in part gets its share by days."""
    if schedule not in SCHEDULE_MONTHS:
        period_label(starts_on, schedule)  # raises the clear problem
    if ends_on < starts_on:
        raise Unprocessable("contract.term.ends_before_start", "ends_on is before starts_on", field="ends_on",
                            rule="a contract term ends on or after it starts")
    spans: list[tuple[str, date, date, Fraction]] = []
    day = starts_on
    while day <= ends_on:
        p_start, p_end = period_bounds(day, schedule)
        s, e = max(p_start, starts_on), min(p_end, ends_on)
        weight = Fraction((e - s).days + 1, (p_end - p_start).days + 1)
        spans.append((period_label(day, schedule), s, e, weight))
        day = p_end + timedelta(days=1)
    if all(w == 1 for *_, w in spans):
        amounts = split_evenly(amount_fen, len(spans))
    else:
        amounts = _allocate(amount_fen, [w for *_, w in spans])
    return [Instalment(i + 1, label, s, e, a, partial=w != 1)
            for i, ((label, s, e, w), a) in enumerate(zip(spans, amounts, strict=True))]


# ---------------------------------------------------------------- terms
@dataclass(frozen=True)
class TermDecision:
    months: int  # whole months the term spans (rounded up)
    long_term: bool  # beyond the ordinary maximum: a stable, continuous service (flagged for review)
    max_months: int


def term_months(starts_on: date, ends_on: date) -> int:
    """Whole months the term spans, counting a started month as one: 2025-01-01..2025-12-31 → 12."""
    months = 0
    while add_months(starts_on, months) <= ends_on:
        months += 1
    return months


def check_term(section: ContractSection, *, starts_on: date, ends_on: date, continuous_service: bool,
               continuous_basis: str | None) -> TermDecision:
    """Seed 003 (one-year contracts) and DESIGN.md: one year at most; up to three years only for a stable,
    continuous service backed by budget, with the basis recorded and the contract flagged."""
    if ends_on < starts_on:
        raise Unprocessable("contract.term.ends_before_start", "ends_on is before starts_on", field="ends_on",
                            rule="a contract term ends on or after it starts")
    months = term_months(starts_on, ends_on)
    ordinary = section.max_term_months
    if months <= ordinary:
        return TermDecision(months, False, ordinary)
    if not continuous_service:
        raise Unprocessable(
            "contract.term.too_long",
            f"the term spans {months} months; at most {ordinary} unless the service is stable and continuous "
            f"(set continuous_service with its basis, up to {section.max_term_months_continuous} months)",
            field="ends_on", rule=f"contract.max_term_months = {ordinary}")
    if not (continuous_basis and continuous_basis.strip()):
        raise Unprocessable(
            "contract.term.basis_required",
            "a term beyond one year needs the basis: why the service is stable and continuous and how the "
            "budget backs every year", field="continuous_basis",
            rule="multi-year terms only for stable, continuous, budget-backed services")
    if months > section.max_term_months_continuous:
        raise Unprocessable(
            "contract.term.too_long",
            f"the term spans {months} months; a continuous service may run at most "
            f"{section.max_term_months_continuous}", field="ends_on",
            rule=f"contract.max_term_months_continuous = {section.max_term_months_continuous}")
    return TermDecision(months, True, section.max_term_months_continuous)


# ---------------------------------------------------------------- purchase method
@dataclass(frozen=True)
class MethodDecision:
    method: str
    cycle: str  # first | renewal
    allowed: tuple[str, ...]
    within_policy: bool
    band: str
    policy: str
    reasons: tuple[str, ...] = ()
    needs_renewal_confirmation: bool = False  # single source on renewal: registry must say the last cycle qualifies

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "cycle": self.cycle, "allowed": list(self.allowed),
                "within_policy": self.within_policy, "band": self.band, "policy": self.policy,
                "reasons": list(self.reasons), "needs_renewal_confirmation": self.needs_renewal_confirmation}


def _wan(fen: int) -> str:
    d = Decimal(fen) / 1_000_000
    return f"{d.normalize():f}万"


def band_label(band: MethodBand) -> str:
    lo = _wan(band.from_fen)
    hi = _wan(band.below_fen) if band.below_fen is not None else "∞"
    types = f" for {', '.join(band.service_types)}" if band.service_types else ""
    return f"[{lo}, {hi}){types}"


def find_band(section: ContractSection, amount_fen: int, service_type: str) -> MethodBand | None:
    """The band for this amount; a band naming the service type wins over a general one."""
    def covers(b: MethodBand) -> bool:
        return b.from_fen <= amount_fen and (b.below_fen is None or amount_fen < b.below_fen)

    specific = [b for b in section.method_bands if covers(b) and service_type in b.service_types]
    if specific:
        return specific[0]
    general = [b for b in section.method_bands if covers(b) and not b.service_types]
    return general[0] if general else None


def check_method(pack: PolicyPack, *, method: str, amount_fen: int, service_type: str, renewal: bool,
                 single_source_renewal: bool | None = None) -> MethodDecision:
    """Seed 002 (Changzhou): from 50万 public tender for the first cycle, single source for a renewal only when
    the last cycle performed well (the registry's `single_source_renewal`); under 50万 tender or designated;
    micro items by price comparison. Other packs map amount and service type to methods the same way.
    `single_source_renewal=None` means the registry has not been asked yet (a draft)."""
    if method not in PURCHASE_METHODS:
        raise Unprocessable("contract.method.unknown",
                            f"unknown purchase method {method!r}; known: {', '.join(PURCHASE_METHODS)}",
                            field="method", rule="purchase methods: " + ", ".join(PURCHASE_METHODS))
    cycle = "renewal" if renewal else "first"
    band = find_band(pack.contract, amount_fen, service_type)
    if band is None:
        return MethodDecision(method, cycle, tuple(PURCHASE_METHODS), True, "no band in policy", pack.ref,
                              ("the policy maps no band to this amount; every method is allowed",))
    allowed = tuple(band.renewal or band.first_cycle) if renewal else tuple(band.first_cycle)
    label = band_label(band)
    reasons: list[str] = []
    within = method in allowed
    needs_confirmation = False
    if not within:
        reasons.append(f"{method} ({METHOD_LABELS[method]}) is not allowed for {fen_to_yuan(amount_fen)} yuan "
                       f"({cycle} cycle, band {label}); allowed: {', '.join(allowed)}")
        if method == "single_source" and not renewal and "single_source" in band.renewal:
            reasons.append("single source is only for a renewal after a qualifying last cycle")
    elif method == "single_source" and renewal:
        if single_source_renewal is None:
            needs_confirmation = True
            reasons.append("single-source renewal: the registry must confirm at award that the last cycle qualifies")
        elif not single_source_renewal:
            within = False
            reasons.append("single-source renewal refused: the registry says the supplier's last cycle does not "
                           "qualify (single_source_renewal = false)")
        else:
            reasons.append("single-source renewal: the registry confirms the last cycle qualifies")
    return MethodDecision(method, cycle, allowed, within, label, pack.ref, tuple(reasons), needs_confirmation)


MIN_JUSTIFICATION = 10


def require_justification(decision: MethodDecision, justification: str | None) -> None:
    """A method outside policy needs a recorded justification (then it is listed for finance review)."""
    if decision.within_policy:
        return
    if justification is None or len(justification.strip()) < MIN_JUSTIFICATION:
        raise Unprocessable(
            "contract.method.outside_policy",
            "; ".join(decision.reasons) + f"; to use it anyway record a justification (at least {MIN_JUSTIFICATION}"
            " characters); the contract is then listed for finance review",
            field="method", rule=f"method bands of {decision.policy}", allowed=list(decision.allowed))


# ---------------------------------------------------------------- the performance-payment rule
@dataclass(frozen=True)
class PaymentRule:
    """Grade → share of the instalment paid; the rest is withheld pending remediation, and the share
    `remediation_release_percent` of it is paid once the remediation is verified. An optional reward for 优秀
    (seed 002: 10% in Changzhou)."""

    factors: Mapping[str, Decimal]
    reward_percent: Decimal
    reward_grade: str = "优秀"
    policy: str = ""
    remediation_release_percent: Decimal = Decimal(100)

    @classmethod
    def from_policy(cls, pack: PolicyPack) -> PaymentRule:
        return cls(dict(pack.contract.payment_factor_percent), pack.contract.excellent_reward_percent,
                   pack.contract.reward_grade, policy=pack.ref,
                   remediation_release_percent=pack.contract.remediation_release_percent)

    def as_dict(self) -> dict[str, Any]:
        return {"factors": {g: str(p) for g, p in self.factors.items()}, "reward_percent": str(self.reward_percent),
                "reward_grade": self.reward_grade, "policy": self.policy,
                "remediation_release_percent": str(self.remediation_release_percent)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PaymentRule:
        # Contracts made before the rule had a release share were made under "withheld pending remediation".
        return cls({g: Decimal(p) for g, p in d["factors"].items()}, Decimal(d["reward_percent"]),
                   d.get("reward_grade", "优秀"), d.get("policy", ""),
                   Decimal(d.get("remediation_release_percent", "100")))


@dataclass(frozen=True)
class Settlement:
    period: str
    grade: str
    instalment_fen: int
    factor_percent: Decimal
    amount_fen: int
    withheld_fen: int
    reward_fen: int
    withheld_reason: str | None


def settle(rule: PaymentRule, *, period: str, grade: str, instalment_fen: int) -> Settlement:
    """Seeds 000, 001, 004: results are applied at settlement. amount = instalment × factor (half-up to the fen);
    withheld = instalment − amount, recorded with its reason; a grade the rule does not know pays nothing
    automatically (everything withheld for review)."""
    if grade in rule.factors:
        factor = rule.factors[grade]
        amount = apply_percent(instalment_fen, factor)
        reason = (f"graded {grade}: {factor.normalize():f}% paid, the rest withheld pending remediation"
                  if amount < instalment_fen else None)
    else:
        factor = Decimal(0)
        amount = 0
        reason = f"grade {grade!r} is not in the payment rule ({', '.join(rule.factors)}); withheld for review"
    reward = apply_percent(instalment_fen, rule.reward_percent) if grade == rule.reward_grade else 0
    return Settlement(period, grade, instalment_fen, factor, amount, instalment_fen - amount, reward, reason)


@dataclass(frozen=True)
class WithheldRelease:
    amount_fen: int  # paid now
    kept_fen: int  # withheld for good
    percent: Decimal


def release_withheld(rule: PaymentRule, *, withheld_fen: int, released_before: bool, contract_status: str,
                     settled_on: date, verified_on: date, today: date, remediation: str) -> WithheldRelease:
    """A period's withheld amount after the purchaser verified the supplier's remediation (整改验收): the rule's
    share of it is paid, once, while the contract still holds its reservation. Seeds 000 and 001 tie payment to
    the quality of the service; what was withheld for poor service is paid once the service is put right, and
    what the rule does not release stays a deduction, returned to the budget line when the contract completes."""
    if withheld_fen <= 0:
        raise Unprocessable("contract.withheld.none", "this settlement withheld nothing", field="settlement_id",
                            rule="only a withheld amount is released after remediation")
    if released_before:
        raise Conflict("contract.withheld.already_released", "the withheld amount of this period was released "
                       "already", field="settlement_id", rule="a period's withheld amount is released once")
    if contract_status not in SETTLEABLE:
        raise Conflict("contract.withheld.contract_closed",
                       f"the contract is {contract_status}: what it withheld went back to the budget line",
                       field="contract_id", rule="withheld amounts are released while the contract is in force")
    if rule.remediation_release_percent <= 0:
        raise Unprocessable("contract.withheld.final", f"under {rule.policy or 'this contract'} amounts withheld "
                            "for poor service are deductions, not paid after remediation", field="settlement_id",
                            rule=f"remediation_release_percent of {rule.policy or 'the contract'} is 0")
    if len(remediation.strip()) < MIN_JUSTIFICATION:
        raise Unprocessable("contract.withheld.remediation_required",
                            f"say what was remediated and how it was verified (at least {MIN_JUSTIFICATION} "
                            "characters)", field="remediation", rule="a release records the verified remediation")
    if verified_on < settled_on:
        raise Unprocessable("contract.withheld.verified_before_settlement",
                            f"verified_on {verified_on} is before the settlement of {settled_on}",
                            field="verified_on", rule="remediation is verified after the period was settled")
    if verified_on > today:
        raise Unprocessable("contract.withheld.verified_in_future", f"verified_on {verified_on} is after today",
                            field="verified_on", rule="a remediation is recorded once verified")
    amount = apply_percent(withheld_fen, rule.remediation_release_percent)
    return WithheldRelease(amount, withheld_fen - amount, rule.remediation_release_percent)


# ---------------------------------------------------------------- filing (备案)
@dataclass(frozen=True)
class FilingDuty:
    required: bool
    due_on: date | None
    threshold_fen: int
    days: int


def filing_duty(section: ContractSection, *, amount_fen: int, signed_on: date,
                line_says_required: bool = False) -> FilingDuty:
    """Seed 004 (Zhengzhou): from 500万 the contract copy is filed with finance within 15 days of purchase."""
    required = amount_fen >= section.filing_from_fen or line_says_required
    due = signed_on + timedelta(days=section.filing_days) if required else None
    return FilingDuty(required, due, section.filing_from_fen, section.filing_days)


# ---------------------------------------------------------------- award
@dataclass(frozen=True)
class LineCheck:
    ok: bool
    code: str = ""
    detail: str = ""
    field: str = "line_id"


def check_line(line: Mapping[str, Any], *, department: str, amount_fen: int, service_type: str,
               finance_approval_from_fen: int) -> LineCheck:
    """Seed 004: budget first (先有预算、后购买服务); from 100万 finance approval before the purchase."""
    status = str(line.get("status", ""))
    if status != "approved":
        return LineCheck(False, "contract.line.not_approved",
                         f"budget line {line.get('line_id')} is {status or 'not approved'}; a purchase needs an "
                         "approved line (budget first, purchase after)")
    if line.get("department") != department:
        return LineCheck(False, "contract.line.other_department",
                         f"budget line {line.get('line_id')} belongs to department {line.get('department')}, "
                         f"not {department}")
    if line.get("service_type") and service_type and line.get("service_type") != service_type:
        return LineCheck(False, "contract.line.service_type_mismatch",
                         f"the line funds {line.get('service_type')}, the contract is for {service_type}")
    needs_finance = bool(line.get("finance_approval_required")) or amount_fen >= finance_approval_from_fen
    if needs_finance and not line.get("finance_approved"):
        return LineCheck(False, "contract.line.finance_approval_missing",
                         f"a purchase of {fen_to_yuan(amount_fen)} yuan needs the finance bureau's approval of the "
                         f"line (from {fen_to_yuan(finance_approval_from_fen)} yuan)")
    return LineCheck(True)


def eligibility_refusal(answer: Mapping[str, Any]) -> str | None:
    """None when the registry says the supplier is eligible now, else the reasons in one sentence."""
    if answer.get("eligible") is True:
        return None
    reasons = answer.get("reasons") or []
    parts = []
    for r in reasons:
        if isinstance(r, Mapping):
            until = f" (until {r['until']})" if r.get("until") else ""
            parts.append(f"{r.get('code', '?')}: {r.get('message', '')}{until}")
        else:
            parts.append(str(r))
    return "; ".join(parts) or "the registry says the supplier is not eligible"


@dataclass(frozen=True)
class BlacklistEntry:
    entry_id: str
    starts_on: date
    ends_on: date | None
    ended_on: date | None = None
    reason: str = ""


def active_entries(entries: Iterable[BlacklistEntry], on: date) -> list[BlacklistEntry]:
    """Blacklist entries in force on a day (one-vote veto, seed 002)."""
    return [e for e in entries
            if e.starts_on <= on and (e.ends_on is None or on <= e.ends_on)
            and (e.ended_on is None or on < e.ended_on)]


# ---------------------------------------------------------------- amendments
AMENDMENT_TYPES = ("content", "standards", "pricing", "obligations", "liability", "assessment_plan", "other")
AMENDABLE_FIELDS = {
    "content": ("content",),
    "standards": ("quantity_standard", "quality_standard"),
    "pricing": ("pricing_method",),
    "obligations": ("rights_obligations",),
    "liability": ("liability",),
    "assessment_plan": ("assessment_plan",),
    "other": ("content", "quantity_standard", "quality_standard", "pricing_method", "rights_obligations",
              "liability", "assessment_plan"),
}


def check_amendment(type_: str, changes: Mapping[str, Any], rationale: str) -> None:
    if type_ not in AMENDMENT_TYPES:
        raise Unprocessable("contract.amendment.type_unknown", f"unknown amendment type {type_!r}", field="type",
                            rule="amendment types: " + ", ".join(AMENDMENT_TYPES))
    if not rationale.strip():
        raise Unprocessable("contract.amendment.rationale_required", "an amendment needs its rationale",
                            field="rationale", rule="every change is recorded with its rationale")
    if not changes:
        raise Unprocessable("contract.amendment.empty", "an amendment changes at least one term", field="changes",
                            rule="an amendment changes terms")
    allowed = AMENDABLE_FIELDS[type_]
    for k in changes:
        if k not in allowed:
            raise Unprocessable(
                "contract.amendment.field_not_amendable",
                f"a {type_} amendment may change {', '.join(allowed)}, not {k} (amount, term and schedule stay as "
                "awarded and reserved; terminate and award again to change them)",
                field=f"changes.{k}", rule=f"{type_} amendments change {', '.join(allowed)}")


def check_amendment_order(seq: int, earlier_statuses: Sequence[str]) -> None:
    """Amendments are signed in order: all earlier ones signed or withdrawn first."""
    if any(s == "proposed" for s in earlier_statuses):
        raise Conflict("contract.amendment.out_of_order",
                       f"amendment {seq} cannot be signed while an earlier one is still unsigned",
                       field="seq", rule="amendments are signed in order")


# ---------------------------------------------------------------- assessment plan
@dataclass(frozen=True)
class AssessmentPlan:
    frequency: str
    indicators: list[str] = field(default_factory=list)
    assessor_org: str | None = None
    description: str = ""


def check_assessment_plan(plan: AssessmentPlan, schedule: str) -> None:
    """Payment follows each period's assessment (seeds 000, 001): the plan's frequency is the schedule's, so that
    `assessment.finalized.period` matches an instalment."""
    if plan.frequency != schedule:
        raise Unprocessable(
            "contract.assessment_plan.frequency_mismatch",
            f"the assessment plan runs {plan.frequency} but instalments are {schedule}; settlement pairs each "
            "period's assessment with its instalment, so they must match",
            field="assessment_plan.frequency", rule="assessment frequency = settlement schedule")
