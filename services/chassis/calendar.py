"""Chinese business days: public holidays and make-up workdays (调休).

`chinese_calendar` knows the State Council's tables up to the year it ships with and raises for later
years. A policy pack may add a year's table. For a year that neither knows, weekends alone count and
the result is marked provisional.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_date(at: datetime) -> date:
    """The calendar date in Asia/Shanghai of a UTC instant."""
    return at.astimezone(SHANGHAI).date()


def today() -> date:
    """Today's business date (Asia/Shanghai): deadlines, expiry and blacklist periods are business dates."""
    return business_date(utcnow())


@dataclass(frozen=True)
class YearTable:
    """A year's official holidays and make-up workdays, e.g. from a policy pack."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Deadline:
    due: date
    provisional: bool  # true when a year on the way was counted by weekends alone
    years_unknown: tuple[int, ...] = ()


@dataclass
class BusinessCalendar:
    extra_years: Mapping[int, YearTable] = field(default_factory=dict)

    def _known_by_library(self, day: date) -> bool:
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def is_known(self, day: date) -> bool:
        return day.year in self.extra_years or self._known_by_library(day)

    def is_workday(self, day: date) -> bool:
        table = self.extra_years.get(day.year)
        if table is not None:
            if day in table.workdays:
                return True
            if day in table.holidays:
                return False
            return day.weekday() < 5
        if self._known_by_library(day):
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def add_workdays(self, start: date, days: int) -> Deadline:
        """The date `days` working days after `start` (start itself not counted)."""
        if days < 0:
            raise ValueError("days must be non-negative")
        unknown: set[int] = set()
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if not self.is_known(day):
                unknown.add(day.year)
            if self.is_workday(day):
                counted += 1
        return Deadline(due=day, provisional=bool(unknown), years_unknown=tuple(sorted(unknown)))

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            n += self.is_workday(day)
        return n


def calendar_from_tables(tables: Mapping[int, tuple[Iterable[date], Iterable[date]]]) -> BusinessCalendar:
    return BusinessCalendar(
        {y: YearTable(frozenset(h), frozenset(w)) for y, (h, w) in tables.items()}
    )
