"""Budget rules without I/O: two-up-two-down, thresholds, ledger, filings, periods, statistics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.budget import domain
from services.budget.domain import FilingKind, Funds, LineStatus, StatItem, Step
from services.chassis.errors import Conflict, Unprocessable
from services.chassis.money import wan_to_fen, yuan_to_fen
from services.chassis.policy import BudgetSection

POLICY = BudgetSection()


def test_two_up_two_down_order() -> None:
    """004_31a27ecd68c2f343.txt: the budget is submitted, checked and approved in 二上二下 order."""
    s = domain.transition(LineStatus.DRAFT, Step.SUBMIT)
    assert s is LineStatus.SUBMITTED
    s = domain.transition(s, Step.CONTROL)
    assert s is LineStatus.CONTROL_ISSUED
    s = domain.transition(s, Step.RESUBMIT)
    assert s is LineStatus.RESUBMITTED
    assert domain.transition(s, Step.APPROVE) is LineStatus.APPROVED


@pytest.mark.parametrize(("status", "step"), [
    (LineStatus.DRAFT, Step.APPROVE), (LineStatus.SUBMITTED, Step.APPROVE), (LineStatus.SUBMITTED, Step.RESUBMIT),
    (LineStatus.DRAFT, Step.CONTROL), (LineStatus.APPROVED, Step.REJECT), (LineStatus.REJECTED, Step.SUBMIT),
    (LineStatus.APPROVED, Step.ONE_OFF), (LineStatus.DRAFT, Step.ONE_OFF),
])
def test_steps_out_of_order_are_refused(status: LineStatus, step: Step) -> None:
    with pytest.raises(Conflict) as e:
        domain.transition(status, step)
    assert e.value.code == "budget.line.wrong_state"
    assert e.value.field == "status"


def test_one_off_outside_the_cycle() -> None:
    """001_5078ddae3d782c1e.txt: 突发性的临时服务事项, 通过一事一议 — approved from any submitted stage."""
    for s in (LineStatus.SUBMITTED, LineStatus.CONTROL_ISSUED, LineStatus.RESUBMITTED):
        assert domain.transition(s, Step.ONE_OFF) is LineStatus.APPROVED


def test_control_figure_and_resubmission_limits() -> None:
    """004: the resubmission (二上) stays within finance's control figure (一下)."""
    domain.check_control_figure(yuan_to_fen("100.00"), yuan_to_fen("80.00"))
    with pytest.raises(Unprocessable) as e:
        domain.check_control_figure(yuan_to_fen("100.00"), yuan_to_fen("100.01"))
    assert e.value.code == "budget.line.control_above_request"
    domain.check_within_control(yuan_to_fen("80.00"), yuan_to_fen("80.00"))
    with pytest.raises(Unprocessable) as e:
        domain.check_within_control(yuan_to_fen("80.00"), yuan_to_fen("80.01"))
    assert e.value.code == "budget.line.over_control_figure"
    assert e.value.field == "amount"
    with pytest.raises(Unprocessable):
        domain.check_within_control(yuan_to_fen("80.00"), 0)


def test_thresholds_from_policy() -> None:
    """004_31a27ecd68c2f343.txt: 100万元(含)以上 finance approval; 500万元(含)以上 filings and the ex-ante
    assessment. Boundaries are inclusive (含)."""
    below = domain.thresholds(wan_to_fen("99.99") + 99, POLICY)
    assert not below.finance_approval_required
    at100 = domain.thresholds(wan_to_fen("100"), POLICY)
    assert at100.finance_approval_required and not at100.filing_required and not at100.ex_ante_required
    just_below_500 = domain.thresholds(wan_to_fen("500") - 1, POLICY)
    assert not just_below_500.filing_required
    at500 = domain.thresholds(wan_to_fen("500"), POLICY)
    assert at500.finance_approval_required and at500.filing_required and at500.ex_ante_required


def test_thresholds_follow_the_pack() -> None:
    stricter = BudgetSection.model_validate({"finance_approval_from": "50万", "filing_from": "200万"})
    t = domain.thresholds(wan_to_fen("60"), stricter)
    assert t.finance_approval_required and not t.filing_required


def test_ex_ante_assessment_required_from_500_wan() -> None:
    """004: 事前绩效评估报告 for projects of 500万 and more."""
    domain.check_ex_ante(wan_to_fen("499"), None, POLICY, pack_ref="national@2020.1")
    with pytest.raises(Unprocessable) as e:
        domain.check_ex_ante(wan_to_fen("500"), "  ", POLICY, pack_ref="national@2020.1")
    assert e.value.field == "ex_ante_assessment"
    assert "national@2020.1" in (e.value.rule or "")
    domain.check_ex_ante(wan_to_fen("500"), "EA-2025-01", POLICY, pack_ref="national@2020.1")


def test_funds_never_below_zero() -> None:
    f = Funds(approved=10_000, reserved=0, paid=0)
    f = f.reserve(6_000)
    assert f.available == 4_000
    with pytest.raises(Unprocessable) as e:
        f.reserve(4_001)
    assert e.value.code == "budget.funds.insufficient"
    f = f.pay(2_500, from_reservation=6_000)
    assert (f.reserved, f.paid, f.available) == (3_500, 2_500, 4_000)
    f = f.release(3_500)
    assert (f.reserved, f.paid, f.available) == (0, 2_500, 7_500)


def test_payment_beyond_reservation_draws_on_available_only_if_there() -> None:
    f = Funds(approved=10_000, reserved=9_000, paid=0)
    g = f.pay(9_500, from_reservation=9_000)
    assert (g.reserved, g.paid, g.available) == (0, 9_500, 500)
    with pytest.raises(Unprocessable):
        f.pay(10_001, from_reservation=9_000)


def test_a_reward_is_paid_only_out_of_the_lines_free_funds() -> None:
    """002_88cf206893e82986.txt: 优秀 上浮10% — above the contract price, so not out of the reservation."""
    assert not domain.paid_from_reservation("reward")
    assert all(domain.paid_from_reservation(k) for k in ("settlement", "release", "entered"))


def test_reservation_outstanding() -> None:
    assert domain.reservation_outstanding(100, 30, 0) == 70
    assert domain.reservation_outstanding(100, 30, 70) == 0
    assert domain.reservation_outstanding(100, 120, 0) == 0


def test_filing_due_dates() -> None:
    """004_31a27ecd68c2f343.txt: 项目完成采购后15日内 the contract copy; the evaluation report after evaluation."""
    assert domain.filing_due(FilingKind.CONTRACT_COPY, date(2025, 3, 1), POLICY) == date(2025, 3, 16)
    assert domain.filing_due(FilingKind.EVALUATION_REPORT, date(2025, 3, 1), POLICY) == date(2025, 3, 31)
    assert not domain.is_overdue(date(2025, 3, 16), None, date(2025, 3, 16))
    assert domain.is_overdue(date(2025, 3, 16), None, date(2025, 3, 17))
    assert domain.is_overdue(date(2025, 3, 16), date(2025, 3, 17), date(2025, 3, 17))
    assert not domain.is_overdue(date(2025, 3, 16), date(2025, 3, 10), date(2025, 4, 1))


@pytest.mark.parametrize(("label", "first", "last"), [
    ("2024", date(2024, 1, 1), date(2024, 12, 31)),
    ("2024-H1", date(2024, 1, 1), date(2024, 6, 30)),
    ("2024-H2", date(2024, 7, 1), date(2024, 12, 31)),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
])
def test_period_labels(label: str, first: date, last: date) -> None:
    assert domain.period_bounds(label) == (first, last)


@pytest.mark.parametrize("label", ["2024-H3", "2024-13", "24", "2024-Q5", "last year"])
def test_bad_period_labels(label: str) -> None:
    with pytest.raises(Unprocessable) as e:
        domain.period_bounds(label)
    assert e.value.field == "period"


def test_january_and_july_reports() -> None:
    """004_31a27ecd68c2f343.txt: 每年1月及7月分两次报送 — January covers the second half of last year,
    July the first half of this year."""
    assert domain.report_period(2024, 1, POLICY) == "2023-H2"
    assert domain.report_period(2024, 7, POLICY) == "2024-H1"
    with pytest.raises(Unprocessable) as e:
        domain.report_period(2024, 3, POLICY)
    assert e.value.code == "budget.statistics.not_a_report_month"


def test_largest_remainder_shares_add_to_100() -> None:
    shares = domain.largest_remainder_shares([1, 1, 1])
    assert sum(shares) == Decimal("100.00")
    assert shares == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert domain.largest_remainder_shares([]) == []
    assert domain.largest_remainder_shares([0, 0]) == [Decimal("0.00"), Decimal("0.00")]
    odd = domain.largest_remainder_shares([7, 13, 29, 31, 101, 1])
    assert sum(odd) == Decimal("100.00")


def test_xian_2023_shares() -> None:
    """000_3596027388defe7e.txt: 8856.22万元; 8709.76万 = 98.35%, 143.76万 = 1.62%, 2.7万 = 0.03%
    (naive rounding gives the same here, and the three add up to 100.00)."""
    amounts = [wan_to_fen("8709.76"), wan_to_fen("143.76"), wan_to_fen("2.7")]
    assert [str(s) for s in domain.largest_remainder_shares(amounts)] == ["98.35", "1.62", "0.03"]


def test_statistics_groups() -> None:
    items = [
        StatItem("government_auxiliary", "property", "single_source", "D1", "R1", wan_to_fen("10")),
        StatItem("government_auxiliary", "catering", "public_tender", "D1", "R1", wan_to_fen("20")),
        StatItem("technical_services", "audit", "inquiry", "D2", "R1", wan_to_fen("10")),
    ]
    s = domain.statistics(items)
    assert s.count == 3 and s.amount == wan_to_fen("40")
    cls = {g.key: g for g in s.by["level1_class"]}
    assert cls["government_auxiliary"].count == 2
    assert cls["government_auxiliary"].share == Decimal("75.00")
    assert cls["technical_services"].share == Decimal("25.00")
    methods = {g.key: g for g in s.by["method"]}
    assert methods["single_source"].label == "单一来源"
    assert sum(g.count_share for g in s.by["department"]) == Decimal("100.00")


def test_results_summary_for_next_year() -> None:
    """004_31a27ecd68c2f343.txt: 以绩效评价结果作为…预算安排…的重要依据."""
    s = domain.summarise_results([domain.Result(Decimal("92.5"), "优秀", False),
                                  domain.Result(Decimal("55"), "不合格", True)])
    assert s.count == 2 and s.failing == 1 and s.average_score == Decimal("73.75")
    assert s.grades == {"优秀": 1, "不合格": 1}
