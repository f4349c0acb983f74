"""Working days count Chinese public holidays and make-up workdays (调休); unknown years are provisional."""

from __future__ import annotations

from datetime import date

from services.chassis.calendar import BusinessCalendar, YearTable


def test_national_day_2025_and_its_make_up_saturday() -> None:
    """004_31a27ecd68c2f343.txt: a catalogue is published within 10 working days of issue.
    Issued Fri 2025-09-26: Sun 9-28 is a make-up workday, Oct 1-8 are holidays, Sat 10-11 is a
    make-up workday, so the tenth working day is Thu 2025-10-16."""
    cal = BusinessCalendar()
    d = cal.add_workdays(date(2025, 9, 26), 10)
    assert d.due == date(2025, 10, 16)
    assert not d.provisional
    assert cal.is_workday(date(2025, 9, 28)) and cal.is_workday(date(2025, 10, 11))
    assert not cal.is_workday(date(2025, 10, 3))


def test_a_year_nobody_knows_counts_weekends_only_and_says_so() -> None:
    d = BusinessCalendar().add_workdays(date(2030, 1, 3), 2)
    assert d.provisional and d.years_unknown == (2030,)
    assert d.due == date(2030, 1, 7)  # Fri 4th, then Mon 7th


def test_a_policy_pack_table_fills_a_year() -> None:
    table = YearTable(holidays=frozenset({date(2030, 1, 4)}), workdays=frozenset({date(2030, 1, 5)}))
    d = BusinessCalendar({2030: table}).add_workdays(date(2030, 1, 3), 2)
    assert not d.provisional
    assert d.due == date(2030, 1, 7)  # the 4th is a holiday, Sat 5th a make-up workday, then Mon 7th
