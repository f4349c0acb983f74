"""Rules of the registry service (no I/O): suppliers, qualification review, blacklist, performance history and
next-cycle eligibility.

Sources: DESIGN.md "Registry"; seed 001 (supplier conditions, exit mechanism and blacklist for fraud, results
tied to the next contract cycle), 000 (qualification review, blacklist with joint punishment), 002 (one-vote veto,
single-source renewal on the last cycle's performance — Changzhou), 003 (supplier directory, survival of the
fittest).
"""

from __future__ import annotations

import calendar as _cal
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from services.chassis.errors import Unprocessable
from services.chassis.policy import (
    BLACKLIST_SOURCES,
    CREDIT_RECORD_KINDS,
    REVIEW_CONDITIONS,
    GradeBand,
    PolicyPack,
)

SUPPLIER_KINDS = ("enterprise", "social_organisation", "public_institution", "other")
SUPPLIER_KIND_LABELS = {
    "enterprise": "企业",
    "social_organisation": "社会组织",
    "public_institution": "可承接政府购买服务的事业单位",
    "other": "其他符合条件的主体",
}
REVIEW_CONDITION_LABELS = {
    "independent_civil_liability": "具有独立承担民事责任的能力",
    "governance_internal_control": "治理结构健全,内部管理和监督制度完善",
    "finance_accounting": "具有独立、健全的财务管理、会计核算和资产管理制度",
    "facilities_staff_expertise": "具备提供服务所必需的设施、人员和专业技术能力",
    "professional_qualifications": "符合相关专业资质要求",
    "tax_social_security": "具有依法缴纳税收和社会保障资金的良好记录",
    "no_major_violation": "前三年内无重大违法记录",
    "not_abnormal_or_dishonest": "未被列入经营异常名录或者严重违法失信主体名单",
}
CREDIT_RECORD_LABELS = {
    "false_materials": "提供虚假材料",
    "breach": "违约前科",
    "major_violation": "重大违法违规记录",
    "serious_dishonesty": "列入严重违法失信名单",
    "abnormal_operation": "列入经营异常名录",
    "fraud": "弄虚作假、冒领财政资金",
}
BLACKLIST_STATES = ("active", "removed", "overturned")
APPEAL_OUTCOMES = ("upheld", "overturned")
SINGLE_SOURCE = "single_source"
CENT = Decimal("0.01")

assert set(REVIEW_CONDITION_LABELS) == set(REVIEW_CONDITIONS)
assert set(CREDIT_RECORD_LABELS) == set(CREDIT_RECORD_KINDS)


# ----------------------------------------------------------------- credit code
def normalise_credit_code(raw: str, *, field_name: str = "credit_code") -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the last a check
    character. Returns the code in upper case, or refuses with the field and rule."""
    code = (raw or "").strip().upper()
    try:
        return str(uscc.validate(code))
    except StdnumError as exc:
        raise Unprocessable(
            "registry.credit_code.invalid",
            f"{raw!r} is not a valid unified social credit code: {exc}",
            field=field_name,
            rule="GB 32100-2015: 18 characters with a valid check character",
        ) from exc


def is_credit_code(raw: str) -> bool:
    try:
        uscc.validate((raw or "").strip().upper())
    except StdnumError:
        return False
    return True


# ----------------------------------------------------------------- dates and periods
def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    y = d.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(d.day, _cal.monthrange(y, m)[1]))


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])|H([12])))?$")


def period_bounds(label: str) -> tuple[date, date]:
    """First and last day of a period label: "2025-03", "2025-Q1", "2025-H1", "2025" (CONTRIBUTING)."""
    m = _PERIOD.match(label or "")
    if not m:
        raise ValueError(f"unknown period label {label!r}; use 2025-03, 2025-Q1, 2025-H1 or 2025")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"unknown month in period label {label!r}")
        first, months = month, 1
    elif m.group(3):
        first, months = (int(m.group(3)) - 1) * 3 + 1, 3
    elif m.group(4):
        first, months = (int(m.group(4)) - 1) * 6 + 1, 6
    else:
        first, months = 1, 12
    start = date(year, first, 1)
    return start, add_months(start, months) - timedelta(days=1)


# ----------------------------------------------------------------- qualification review
@dataclass(frozen=True)
class ReviewItem:
    condition: str
    passed: bool
    evidence: str
    reviewer: str
    note: str = ""


@dataclass(frozen=True)
class ReviewOutcome:
    qualified: bool
    reasons: list[str]


def conclude_review(items: Sequence[ReviewItem], pack: PolicyPack) -> ReviewOutcome:
    """A review covers every condition of the policy (DESIGN "Registry"; 001 supplier conditions), each
    with evidence and a reviewer; qualified only when every condition is met."""
    required = pack.registry.review_conditions
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.condition not in REVIEW_CONDITIONS:
            raise Unprocessable("registry.review.condition_unknown",
                                f"unknown condition {item.condition!r}; known: {', '.join(REVIEW_CONDITIONS)}",
                                field=f"items.{i}.condition", rule="the qualification review checklist")
        if item.condition in seen:
            raise Unprocessable("registry.review.condition_twice", f"condition {item.condition} appears twice",
                                field=f"items.{i}.condition", rule="each condition once")
        seen.add(item.condition)
        if not item.evidence.strip():
            raise Unprocessable("registry.review.evidence_missing",
                                f"condition {item.condition} needs its evidence",
                                field=f"items.{i}.evidence", rule="each checklist item names its evidence")
        if not item.reviewer.strip():
            raise Unprocessable("registry.review.reviewer_missing", f"condition {item.condition} needs a reviewer",
                                field=f"items.{i}.reviewer", rule="each checklist item names its reviewer")
    missing = [c for c in required if c not in seen]
    if missing:
        raise Unprocessable("registry.review.incomplete",
                            f"the checklist lacks {', '.join(missing)}", field="items",
                            rule=f"{pack.ref}: every condition of the qualification review",
                            missing=missing)
    reasons = [
        f"{it.condition}: {REVIEW_CONDITION_LABELS[it.condition]} — not met" + (f" ({it.note})" if it.note else "")
        for it in items if not it.passed and it.condition in required
    ]
    return ReviewOutcome(qualified=not reasons, reasons=reasons)


# ----------------------------------------------------------------- blacklist
@dataclass(frozen=True)
class BlacklistView:
    entry_id: str
    reason: str
    source: str
    starts_on: date
    ends_on: date | None  # last day on the list; None = indefinite
    state: str = "active"  # active | removed | overturned
    ended_on: date | None = None

    def in_force(self, on: date) -> bool:
        if self.state == "overturned":  # an appeal overturned it: void from the start
            return False
        if self.state == "removed":  # early removal: in force until the day it was removed
            return self.ended_on is not None and self.starts_on <= on < self.ended_on
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)

    def expired(self, on: date) -> bool:
        return self.state == "active" and self.ends_on is not None and self.ends_on < on

    def status(self, on: date) -> str:
        if self.state != "active":
            return self.state
        if self.starts_on > on:
            return "scheduled"
        return "expired" if self.expired(on) else "in_force"


def blacklist_end(starts_on: date, years: int | None) -> date | None:
    """The last day on the list: `years` after the start, less a day; None = indefinite."""
    return None if years is None else add_years(starts_on, years) - timedelta(days=1)


def check_blacklist_period(starts_on: date, ends_on: date | None, pack: PolicyPack) -> None:
    """Policy: from `blacklist_min_years` to `blacklist_max_years` (1 to 3), or indefinite where allowed."""
    sec = pack.registry
    if ends_on is None:
        if not sec.blacklist_indefinite_allowed:
            raise Unprocessable("registry.blacklist.indefinite_not_allowed",
                                "this policy does not allow an indefinite blacklisting", field="ends_on",
                                rule=f"{pack.ref}: registry.blacklist_indefinite_allowed")
        return
    shortest = blacklist_end(starts_on, sec.blacklist_min_years)
    longest = blacklist_end(starts_on, sec.blacklist_max_years)
    assert shortest is not None and longest is not None
    if not shortest <= ends_on <= longest:
        raise Unprocessable(
            "registry.blacklist.period_out_of_range",
            f"a blacklisting from {starts_on} must end between {shortest} and {longest} "
            f"({sec.blacklist_min_years} to {sec.blacklist_max_years} years), or be indefinite",
            field="ends_on", rule=f"{pack.ref}: registry.blacklist_min_years..blacklist_max_years")


def check_blacklist_source(source: str) -> None:
    if source not in BLACKLIST_SOURCES:
        raise Unprocessable("registry.blacklist.source_unknown",
                            f"unknown source {source!r}; known: {', '.join(BLACKLIST_SOURCES)}",
                            field="source", rule="blacklist sources")


# ----------------------------------------------------------------- performance history
@dataclass(frozen=True)
class PeriodResult:
    assessment_id: str
    contract_id: str
    service_type: str
    period: str
    period_index: int
    period_start: date
    period_end: date
    score: Decimal
    grade: str
    failing: bool
    recorded_on: date
    violations: tuple[str, ...] = ()
    serious_violation: bool = False
    fraud: bool = False


@dataclass(frozen=True)
class Cycle:
    """One contract cycle (合同周期) of a supplier for a service type: its assessed periods."""

    contract_id: str
    service_type: str
    starts_on: date
    ends_on: date
    periods: int
    average: Decimal
    grade: str
    failing: bool
    failing_periods: int


def grade_of(score: Decimal, bands: Sequence[GradeBand]) -> GradeBand:
    for b in bands:  # highest first (validated by the assessment section)
        if score >= b.min_score:
            return b
    return bands[-1]


def cycles_of(rows: Iterable[PeriodResult], bands: Sequence[GradeBand]) -> list[Cycle]:
    """Group period results by contract; a cycle's grade is the grade of its average score (policy grade
    bands), and it fails when that grade is a failing one. Oldest first."""
    by_contract: dict[str, list[PeriodResult]] = {}
    for r in rows:
        by_contract.setdefault(r.contract_id, []).append(r)
    out = []
    for cid, rs in by_contract.items():
        avg = (sum((r.score for r in rs), Decimal(0)) / len(rs)).quantize(CENT, ROUND_HALF_UP)
        band = grade_of(avg, bands)
        out.append(Cycle(contract_id=cid, service_type=rs[0].service_type,
                         starts_on=min(r.period_start for r in rs), ends_on=max(r.period_end for r in rs),
                         periods=len(rs), average=avg, grade=band.grade, failing=band.failing,
                         failing_periods=sum(1 for r in rs if r.failing)))
    out.sort(key=lambda c: (c.ends_on, c.starts_on, c.contract_id))
    return out


def recent_average(rows: Iterable[PeriodResult], n: int) -> Decimal | None:
    """The average score of the last `n` assessed periods (ranking in the supplier directory, 003)."""
    last = sorted(rows, key=lambda r: (r.period_end, r.period_index), reverse=True)[:n]
    if not last:
        return None
    return (sum((r.score for r in last), Decimal(0)) / len(last)).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class BlacklistDecision:
    rule: str
    source: str
    reason: str
    starts_on: date
    ends_on: date | None


def blacklist_triggers(new: PeriodResult, same_contract: Sequence[PeriodResult], *, on: date,
                       pack: PolicyPack) -> list[BlacklistDecision]:
    """Blacklisting from results (DESIGN flow 2; 001 exit mechanism): which policy rules this result fires.
    `same_contract` holds the contract's other period results (any order, maybe arriving late)."""
    out: list[BlacklistDecision] = []
    failing_idx = {r.period_index for r in same_contract if r.failing}
    for rule in pack.registry.blacklist_rules:
        why: str | None = None
        if rule.code == "consecutive_failing" and rule.consecutive_failing_periods and new.failing:
            n = rule.consecutive_failing_periods
            failing = failing_idx | {new.period_index}
            i = new.period_index
            # a run of n failing periods that contains this one
            for first in range(i - n + 1, i + 1):
                if all(k in failing for k in range(first, first + n)):
                    why = (f"{n} consecutive failing periods in contract {new.contract_id} "
                           f"(periods {first}..{first + n - 1}, last {new.period}: {new.grade})")
                    break
        elif rule.code == "serious_violation" and new.serious_violation:
            why = f"serious violation found in assessment of {new.period} (contract {new.contract_id})"
        elif rule.code == "fraud" and new.fraud:
            why = f"fraud found in assessment of {new.period} (contract {new.contract_id})"
        if why is None and rule.violations:
            hit = [v for v in new.violations if v in rule.violations]
            if hit:
                why = f"{', '.join(hit)} found in assessment of {new.period} (contract {new.contract_id})"
        if why is not None:
            label = f"{rule.label}: " if rule.label else ""
            out.append(BlacklistDecision(rule=rule.code, source=rule.source, reason=f"{label}{why}",
                                         starts_on=on, ends_on=blacklist_end(on, rule.years)))
    return out


def reads_contract_history(new: PeriodResult, pack: PolicyPack) -> bool:
    """Whether `blacklist_triggers` looks at the contract's other results for this one: only a failing result can
    complete a run of failing periods (so a batch reads the histories of only those contracts)."""
    return new.failing and any(rule.code == "consecutive_failing" and rule.consecutive_failing_periods
                               for rule in pack.registry.blacklist_rules)


def covered_by(decision: BlacklistDecision, entries: Iterable[BlacklistView]) -> bool:
    """An entry already in force through the decision's end makes a new one redundant."""
    for e in entries:
        if not e.in_force(decision.starts_on):
            continue
        if e.ends_on is None or (decision.ends_on is not None and e.ends_on >= decision.ends_on):
            return True
    return False


# ----------------------------------------------------------------- eligibility
@dataclass(frozen=True)
class SupplierFacts:
    code: str
    name: str
    service_types: tuple[str, ...]
    review_qualified: bool | None  # None: never reviewed
    review_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualificationView:
    qualification_id: str
    name: str
    service_types: tuple[str, ...]
    valid_from: date
    expires_on: date | None  # the last valid day; None = no expiry


@dataclass(frozen=True)
class CreditRecordView:
    record_id: str
    kind: str
    occurred_on: date
    description: str


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    until: date | None = None


@dataclass
class Eligibility:
    supplier_code: str
    service_type: str
    method: str | None
    as_of: date
    policy: str
    eligible: bool
    single_source_renewal: bool
    reasons: list[Reason] = field(default_factory=list)
    last_cycle: Cycle | None = None

    @property
    def reason_codes(self) -> list[str]:
        return sorted({r.code for r in self.reasons})


def history_window_start(as_of: date, pack: PolicyPack) -> date:
    return add_years(as_of, -pack.registry.history_window_years)


def violation_window_start(as_of: date, pack: PolicyPack) -> date:
    return add_years(as_of, -pack.registry.violation_lookback_years)


def evaluate(
    *,
    supplier: SupplierFacts | None,
    code: str,
    service_type: str,
    method: str | None,
    as_of: date,
    pack: PolicyPack,
    qualifications: Sequence[QualificationView] = (),
    blacklist: Sequence[BlacklistView] = (),
    credit_records: Sequence[CreditRecordView] = (),
    history: Sequence[PeriodResult] = (),
) -> Eligibility:
    """Next-cycle eligibility of a supplier for a service type on `as_of`, with every reason.

    One-vote veto (一票否决, 002): a blacklisting in force, false materials, a breach or other bad record
    within the lookback; the qualification review and a current professional qualification for the
    service type (001, 000); a failing last cycle excludes the supplier from the next cycle (001); a
    single-source renewal needs the last cycle's average at or above the policy threshold (002)."""
    sec = pack.registry
    reasons: list[Reason] = []
    result = Eligibility(supplier_code=code, service_type=service_type, method=method, as_of=as_of,
                         policy=pack.ref, eligible=False, single_source_renewal=False, reasons=reasons)
    if supplier is None:
        reasons.append(Reason("supplier_not_registered", f"{code} is not registered as a supplier (承接主体)"))
        return result

    # blacklist: every entry in force on as_of
    for e in sorted(blacklist, key=lambda e: e.starts_on):
        if e.in_force(as_of):
            until = e.ends_on if e.state == "active" else e.ended_on
            reasons.append(Reason(
                "blacklisted",
                f"on the blacklist (黑名单) since {e.starts_on}" + (f" until {until}" if until else ", indefinitely")
                + f": {e.reason} [{e.source}]",
                until))
    # one-vote veto for bad records within the lookback
    window = violation_window_start(as_of, pack)
    for r in sorted(credit_records, key=lambda r: r.occurred_on):
        if r.kind in sec.veto_record_kinds and window < r.occurred_on <= as_of:
            until = add_years(r.occurred_on, sec.violation_lookback_years)
            reasons.append(Reason(r.kind, f"one-vote veto (一票否决): {CREDIT_RECORD_LABELS[r.kind]} on "
                                          f"{r.occurred_on}: {r.description}", until))
    # qualification review
    if supplier.review_qualified is None:
        reasons.append(Reason("qualification_review_missing", "no qualification review has concluded"))
    elif not supplier.review_qualified:
        reasons.append(Reason("qualification_review_failed",
                              "the last qualification review found the supplier not qualified: "
                              + "; ".join(supplier.review_reasons)))
    # the service type
    if service_type not in supplier.service_types:
        reasons.append(Reason("service_type_not_offered", f"the supplier does not offer {service_type}"))
    if sec.qualification_required and service_type not in sec.qualification_exempt_service_types:
        for_type = [q for q in qualifications if service_type in q.service_types and q.valid_from <= as_of]
        current = [q for q in for_type if q.expires_on is None or as_of <= q.expires_on]
        if not current:
            if for_type:
                latest = max(for_type, key=lambda q: q.expires_on or date.max)
                reasons.append(Reason("qualification_expired",
                                      f"the professional qualification {latest.name} for {service_type} expired "
                                      f"after {latest.expires_on}", latest.expires_on))
            else:
                reasons.append(Reason("qualification_missing",
                                      f"no professional qualification for {service_type} is on record"))
    # the last cycle
    known = [h for h in history if h.service_type == service_type and h.recorded_on <= as_of]
    cycles = cycles_of(known, pack.assessment.grade_bands)
    last = cycles[-1] if cycles else None
    result.last_cycle = last
    if last is not None and last.failing and sec.failing_cycle_excludes_next:
        until = add_months(last.ends_on, sec.failing_cycle_exclusion_months)
        if as_of <= until:
            reasons.append(Reason("last_cycle_failing",
                                  f"the last cycle (contract {last.contract_id}, {last.starts_on}..{last.ends_on}) "
                                  f"averaged {last.average} ({last.grade}); a failing cycle excludes the "
                                  "supplier from the next cycle", until))
    eligible = not reasons
    renewal_ok = (last is not None and not last.failing and last.average >= sec.renewal_min_average
                  and last.periods >= sec.renewal_min_periods)
    result.single_source_renewal = eligible and renewal_ok
    if method == SINGLE_SOURCE and not renewal_ok:
        if last is None:
            reasons.append(Reason("single_source_no_last_cycle",
                                  f"a single-source renewal needs a last cycle for {service_type}; there is none"))
        else:
            reasons.append(Reason("single_source_renewal_not_qualified",
                                  f"a single-source renewal needs the last cycle's average at or above "
                                  f"{sec.renewal_min_average} over at least {sec.renewal_min_periods} period(s); "
                                  f"contract {last.contract_id} averaged {last.average} over {last.periods}"))
    result.eligible = not reasons
    return result
