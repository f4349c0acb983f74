"""Rules of the budget service (no I/O): budget lines, two-up-two-down, thresholds and filings, the funds
ledger, disclosure and statistics.

Sources: 004_31a27ecd68c2f343.txt (Zhengzhou: budget first inside 二上二下, finance approval from 100万,
contract copy within 15 days and evaluation filings from 500万, statistics in January and July, annual plan
disclosure), 001_5078ddae3d782c1e.txt (Penglai: budget first, one-off items 一事一议),
000_3596027388defe7e.txt (Xi'an 2023 statistics table).
"""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.chassis.errors import Conflict, Unprocessable
from services.chassis.money import fen_to_wan, fen_to_yuan
from services.chassis.policy import PURCHASE_METHODS, BudgetSection

SEED_ZZ = "004_31a27ecd68c2f343.txt"
SEED_PL = "001_5078ddae3d782c1e.txt"
SEED_XA = "000_3596027388defe7e.txt"

METHOD_LABELS = {
    "public_tender": "公开招标",
    "invited_tender": "邀请招标",
    "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商",
    "single_source": "单一来源",
    "inquiry": "询价",
    "price_comparison": "比价",
    "designated": "定点",
}


# ---------------------------------------------------------------- two-up-two-down (二上二下)
class LineStatus(StrEnum):
    DRAFT = "draft"  # entered by the department, not yet sent
    SUBMITTED = "submitted"  # 一上: the department submitted its request
    CONTROL_ISSUED = "control_issued"  # 一下: finance returned a control figure
    RESUBMITTED = "resubmitted"  # 二上: the department resubmitted within the control figure
    APPROVED = "approved"  # 二下: finance approved (or 一事一议 outside the cycle)
    REJECTED = "rejected"  # finance refused, with a reason


class Step(StrEnum):
    SUBMIT = "submit"  # 一上
    CONTROL = "control"  # 一下
    RESUBMIT = "resubmit"  # 二上
    APPROVE = "approve"  # 二下
    REJECT = "reject"
    ONE_OFF = "one_off"  # 一事一议


STEP_LABELS = {
    Step.SUBMIT: "一上",
    Step.CONTROL: "一下",
    Step.RESUBMIT: "二上",
    Step.APPROVE: "二下",
    Step.REJECT: "退回",
    Step.ONE_OFF: "一事一议",
}

_FROM: dict[Step, frozenset[LineStatus]] = {
    Step.SUBMIT: frozenset({LineStatus.DRAFT}),
    Step.CONTROL: frozenset({LineStatus.SUBMITTED}),
    Step.RESUBMIT: frozenset({LineStatus.CONTROL_ISSUED}),
    Step.APPROVE: frozenset({LineStatus.RESUBMITTED}),
    Step.REJECT: frozenset({LineStatus.SUBMITTED, LineStatus.CONTROL_ISSUED, LineStatus.RESUBMITTED}),
    Step.ONE_OFF: frozenset({LineStatus.SUBMITTED, LineStatus.CONTROL_ISSUED, LineStatus.RESUBMITTED}),
}
_TO: dict[Step, LineStatus] = {
    Step.SUBMIT: LineStatus.SUBMITTED,
    Step.CONTROL: LineStatus.CONTROL_ISSUED,
    Step.RESUBMIT: LineStatus.RESUBMITTED,
    Step.APPROVE: LineStatus.APPROVED,
    Step.REJECT: LineStatus.REJECTED,
    Step.ONE_OFF: LineStatus.APPROVED,
}


def transition(status: str, step: Step) -> LineStatus:
    """The status after `step`, or 409 when the line is not at a stage where the step applies."""
    current = LineStatus(status)
    if current not in _FROM[step]:
        allowed = ", ".join(sorted(s.value for s in _FROM[step]))
        raise Conflict(
            "budget.line.wrong_state",
            f"{STEP_LABELS[step]} ({step.value}) is not possible on a line that is {current.value}; "
            f"it needs a line that is {allowed}",
            field="status",
            rule=f"two-up-two-down order 一上→一下→二上→二下 ({SEED_ZZ})",
            status_now=current.value,
        )
    return _TO[step]


def check_method(method: str) -> None:
    if method not in PURCHASE_METHODS:
        raise Unprocessable(
            "budget.line.method_unknown",
            f"unknown purchase method {method!r}; known: {', '.join(PURCHASE_METHODS)}",
            field="method",
            rule="purchase methods of the Government Procurement Law",
        )


def check_positive(amount_fen: int, field_name: str) -> None:
    if amount_fen <= 0:
        raise Unprocessable(
            "budget.amount.not_positive", f"{field_name} must be more than 0.00", field=field_name, rule="amount > 0"
        )


def check_control_figure(requested_fen: int, control_fen: int) -> None:
    """一下: finance's control figure is positive and does not exceed what was requested (一上)."""
    check_positive(control_fen, "amount")
    if control_fen > requested_fen:
        raise Unprocessable(
            "budget.line.control_above_request",
            f"the control figure {fen_to_yuan(control_fen)} is above the amount requested "
            f"{fen_to_yuan(requested_fen)}",
            field="amount",
            rule=f"一下 control figure ≤ 一上 request ({SEED_ZZ})",
        )


def check_within_control(control_fen: int, amount_fen: int) -> None:
    """二上: the department resubmits within the control figure."""
    check_positive(amount_fen, "amount")
    if amount_fen > control_fen:
        raise Unprocessable(
            "budget.line.over_control_figure",
            f"the resubmitted amount {fen_to_yuan(amount_fen)} is above the control figure "
            f"{fen_to_yuan(control_fen)}",
            field="amount",
            rule=f"二上 amount ≤ 一下 control figure ({SEED_ZZ})",
        )


def check_reason(reason: str | None, field_name: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise Unprocessable("budget.reason.missing", f"{field_name} must say why", field=field_name,
                            rule="a refusal or exception carries a reason")
    return text


# ---------------------------------------------------------------- thresholds (policy)
@dataclass(frozen=True)
class Thresholds:
    finance_approval_required: bool
    filing_required: bool
    ex_ante_required: bool


def thresholds(amount_fen: int, policy: BudgetSection) -> Thresholds:
    """From 100万 finance approves before any purchase; from 500万 filing duties and the ex-ante
    performance assessment (004_31a27ecd68c2f343.txt; figures from the policy pack)."""
    return Thresholds(
        finance_approval_required=amount_fen >= policy.finance_approval_from_fen,
        filing_required=amount_fen >= policy.filing_from_fen,
        ex_ante_required=amount_fen >= policy.ex_ante_assessment_from_fen,
    )


def check_ex_ante(amount_fen: int, ex_ante: str | None, policy: BudgetSection, *, pack_ref: str) -> None:
    if thresholds(amount_fen, policy).ex_ante_required and not (ex_ante or "").strip():
        raise Unprocessable(
            "budget.ex_ante_assessment.missing",
            f"a line of {fen_to_yuan(amount_fen)} needs an ex-ante performance assessment (事前绩效评估) "
            f"from {fen_to_wan(policy.ex_ante_assessment_from_fen)}万",
            field="ex_ante_assessment",
            rule=f"ex_ante_assessment_from {fen_to_wan(policy.ex_ante_assessment_from_fen)}万 ({pack_ref}; {SEED_ZZ})",
        )


# ---------------------------------------------------------------- funds ledger
@dataclass(frozen=True)
class Funds:
    """A line's money: available = approved − reserved − paid, never below zero."""

    approved: int
    reserved: int
    paid: int

    @property
    def available(self) -> int:
        return self.approved - self.reserved - self.paid

    def reserve(self, amount: int) -> Funds:
        check_positive(amount, "amount")
        if amount > self.available:
            raise Unprocessable(
                "budget.funds.insufficient",
                f"only {fen_to_yuan(self.available)} is available on the line; {fen_to_yuan(amount)} was asked",
                field="amount",
                rule="available = approved − reserved − paid, never below zero",
                available=fen_to_yuan(self.available),
            )
        return Funds(self.approved, self.reserved + amount, self.paid)

    def release(self, amount: int) -> Funds:
        if amount < 0 or amount > self.reserved:
            raise ValueError("release beyond what is reserved")
        return Funds(self.approved, self.reserved - amount, self.paid)

    def pay(self, amount: int, *, from_reservation: int) -> Funds:
        """Pay `amount`: up to `from_reservation` comes out of the reservation, any rest out of what is
        available (a reward above the instalment, for instance)."""
        check_positive(amount, "amount")
        take = min(amount, from_reservation)
        extra = amount - take
        if extra > self.available:
            raise Unprocessable(
                "budget.funds.insufficient",
                f"the payment of {fen_to_yuan(amount)} exceeds the reservation's unspent {fen_to_yuan(take)} "
                f"by {fen_to_yuan(extra)}, and only {fen_to_yuan(self.available)} is available on the line",
                field="amount",
                rule="available = approved − reserved − paid, never below zero",
            )
        return Funds(self.approved, self.reserved - take, self.paid + amount)


def reservation_outstanding(amount: int, paid: int, released: int) -> int:
    """What a reservation still holds: reserved, not yet paid out, not released."""
    return max(amount - paid - released, 0)


def paid_from_reservation(kind: str) -> bool:
    """Whether a payment of this kind is paid against its reservation (then the line's free funds cover only
    what the reservation no longer holds). A reward (seed 002: 优秀 上浮10%) is paid only out of what the line has
    free: the reservation backs the contract price, and with it what a period withheld until its remediation or
    the contract's completion."""
    return kind != "reward"


# ---------------------------------------------------------------- filings (备案)
class FilingKind(StrEnum):
    CONTRACT_COPY = "contract_copy"  # 合同副本, within N days of signing
    EVALUATION_REPORT = "evaluation_report"  # 评价报告 with the 事前绩效评估报告, after evaluation


def filing_due(kind: FilingKind, started_on: date, policy: BudgetSection) -> date:
    """Calendar days (15日内) from signing or from the evaluation (004_31a27ecd68c2f343.txt)."""
    if kind is FilingKind.CONTRACT_COPY:
        return started_on + timedelta(days=policy.contract_copy_filing_days)
    return started_on + timedelta(days=policy.evaluation_report_filing_days)


def is_overdue(due_on: date, filed_on: date | None, as_of: date) -> bool:
    """Not filed by the due date (as of a day), or filed after it."""
    if filed_on is not None:
        return filed_on > due_on
    return as_of > due_on


# ---------------------------------------------------------------- periods
_PERIOD = re.compile(r"^(?P<y>\d{4})(?:-(?:(?P<h>H[12])|(?P<q>Q[1-4])|(?P<m>\d{2})))?$")


def period_bounds(label: str) -> tuple[date, date]:
    """`2025`, `2025-H1`, `2025-Q1`, `2025-03` → first and last day (the labels used everywhere)."""
    m = _PERIOD.match(label.strip())
    if not m:
        raise Unprocessable("budget.period.invalid", f"{label!r} is not a period such as 2025, 2025-H1, 2025-Q1 "
                            "or 2025-03", field="period", rule="period labels YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM")
    year = int(m["y"])
    if not 2000 <= year <= 2100:
        raise Unprocessable("budget.period.invalid", f"{label!r}: the year must be between 2000 and 2100",
                            field="period", rule="period labels YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM")
    if m["h"]:
        first = 1 if m["h"] == "H1" else 7
        last = first + 5
    elif m["q"]:
        first = 3 * (int(m["q"][1]) - 1) + 1
        last = first + 2
    elif m["m"]:
        first = last = int(m["m"])
        if not 1 <= first <= 12:
            raise Unprocessable("budget.period.invalid", f"{label!r}: no such month", field="period",
                                rule="period labels YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM")
    else:
        first, last = 1, 12
    return date(year, first, 1), date(year, last, _calendar.monthrange(year, last)[1])


def check_report_window(period: str | None, date_from: date | None, date_to: date | None) -> None:
    """A statistics report covers one window: a period label, or from/to dates, not both."""
    if period and (date_from or date_to):
        raise Unprocessable("budget.period.ambiguous", "give either a period or from/to, not both", field="period",
                            rule="one period per report")


def report_period(year: int, month: int, policy: BudgetSection) -> str:
    """The half-year a January or July report covers (004: 每年1月及7月分两次报送): in January the
    second half of the previous year, in July the first half of this one; other months as the pack says."""
    if month not in policy.statistics_report_months:
        months = ", ".join(str(m) for m in policy.statistics_report_months)
        raise Unprocessable(
            "budget.statistics.not_a_report_month",
            f"statistics reports are due in months {months}, not in month {month}",
            field="month",
            rule=f"statistics_report_months {policy.statistics_report_months} ({SEED_ZZ})",
        )
    if month <= 6:
        return f"{year - 1}-H2"
    return f"{year}-H1"


# ---------------------------------------------------------------- statistics (信息统计上报)
DIMENSIONS = ("level1_class", "service_type", "item", "method", "department", "region")


def largest_remainder_shares(amounts: Sequence[int], places: int = 2) -> list[Decimal]:
    """Percent shares with `places` decimals that add up to exactly 100 (Hamilton's method): every share
    is rounded down, then the units left go to the largest remainders (ties: larger amount, then order)."""
    total = sum(amounts)
    if any(a < 0 for a in amounts):
        raise ValueError("amounts must not be negative")
    if total == 0:
        return [Decimal(0).quantize(Decimal(1).scaleb(-places)) for _ in amounts]
    units = 100 * 10**places
    floors = [a * units // total for a in amounts]
    remainders = [a * units % total for a in amounts]
    left = units - sum(floors)
    order = sorted(range(len(amounts)), key=lambda i: (-remainders[i], -amounts[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f).scaleb(-places) for f in floors]


@dataclass(frozen=True)
class StatItem:
    """One approved line as statistics see it."""

    level1_class: str
    service_type: str
    method: str
    department: str
    region: str
    amount: int
    item: str = ""  # the level-3 catalogue item (a department's project type)
    item_name: str = ""


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    count: int
    amount: int
    share: Decimal  # of the amount, percent
    count_share: Decimal  # of the count, percent


@dataclass(frozen=True)
class Statistics:
    count: int
    amount: int
    by: dict[str, list[Group]] = field(default_factory=dict)


def group_by(items: Sequence[StatItem], dimension: str) -> list[Group]:
    key: Callable[[StatItem], str] = {
        "level1_class": lambda i: i.level1_class,
        "service_type": lambda i: i.service_type,
        "item": lambda i: i.item,
        "method": lambda i: i.method,
        "department": lambda i: i.department,
        "region": lambda i: i.region,
    }[dimension]
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    labels: dict[str, str] = {}
    for it in items:
        k = key(it)
        counts[k] = counts.get(k, 0) + 1
        amounts[k] = amounts.get(k, 0) + it.amount
        if dimension == "item":
            labels[k] = it.item_name or k
        elif dimension == "method":
            labels[k] = METHOD_LABELS.get(k, k)
    keys = sorted(counts, key=lambda k: (-amounts[k], -counts[k], k))
    shares = largest_remainder_shares([amounts[k] for k in keys])
    count_shares = largest_remainder_shares([counts[k] for k in keys])
    return [Group(k, labels.get(k, k), counts[k], amounts[k], s, cs)
            for k, s, cs in zip(keys, shares, count_shares, strict=True)]


def statistics(items: Iterable[StatItem], dimensions: Sequence[str] = DIMENSIONS) -> Statistics:
    rows = list(items)
    return Statistics(
        count=len(rows),
        amount=sum(r.amount for r in rows),
        by={d: group_by(rows, d) for d in dimensions},
    )


def percent(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- performance results for next year
@dataclass(frozen=True)
class Result:
    score: Decimal
    grade: str
    failing: bool


@dataclass(frozen=True)
class ResultSummary:
    """Last year's assessment results of a department's item: an input for this year's budget
    (绩效评价结果作为预算安排依据, 004_31a27ecd68c2f343.txt)."""

    count: int
    average_score: Decimal | None
    failing: int
    grades: dict[str, int]


def summarise_results(results: Iterable[Result]) -> ResultSummary:
    rows = list(results)
    grades: dict[str, int] = {}
    for r in rows:
        grades[r.grade] = grades.get(r.grade, 0) + 1
    avg = (sum((r.score for r in rows), Decimal(0)) / len(rows)).quantize(Decimal("0.01"), ROUND_HALF_UP) \
        if rows else None
    return ResultSummary(count=len(rows), average_score=avg, failing=sum(r.failing for r in rows), grades=grades)
