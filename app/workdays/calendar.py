"""China's official working days, and periods counted on them (docs/rules.md §4).

A period runs from the day after its start (the start day is not counted).
Working days (工作日) skip the official rest days and count the adjusted
working days (调休上班) that the State Council publishes each year; the package
``chinese-calendar`` knows the years it ships. A period of calendar days whose
last day is an official rest day ends on the next working day (民事诉讼法
第八十五条, which the arbitration rules follow).

For a year the package does not know, an admin loads the year's official
schedule (``sanquan calendar load FILE``: the holidays and adjusted working
days as published); until then Monday–Friday is assumed, and every deadline
that leaned on the assumption says so (``assumed_years``). The disputes' statutory deadlines
(:mod:`app.disputes.calendar`) and the exchange desk's announcements are counted on it.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import chinese_calendar

#: How the day was known: the package's official data, a schedule an admin loaded, or Monday–Friday.
OFFICIAL, LOADED, ASSUMED = "official", "loaded", "assumed"


@functools.lru_cache(maxsize=16384)
def _official(d: dt.date) -> bool | None:
    """Whether ``d`` is an official working day, None for a year the package does not ship. Cached: the
    package scans its whole table to validate every date it is asked about."""
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class Due:
    """A deadline: the day it falls on, and the years whose schedule had to be assumed to reach it."""

    due_on: dt.date
    assumed_years: frozenset[int] = frozenset()

    @property
    def assumed(self) -> bool:
        return bool(self.assumed_years)


@dataclass
class WorkCalendar:
    """China's working days: the package's years, then loaded schedules, then Monday–Friday.

    Args:
        loaded: days of loaded schedules, ``date → True`` (a working day) or ``False`` (a rest day);
            a loaded year is complete, so its other days follow Monday–Friday as published.
        loaded_years: the years whose schedules were loaded.
    """

    loaded: Mapping[dt.date, bool] = field(default_factory=dict)
    loaded_years: frozenset[int] = frozenset()

    @classmethod
    def of(cls, days: Iterable[tuple[dt.date, bool]]) -> WorkCalendar:
        loaded = dict(days)
        return cls(loaded=loaded, loaded_years=frozenset(d.year for d in loaded))

    def day(self, d: dt.date) -> tuple[bool, str]:
        """(whether ``d`` is a working day, how that is known)."""
        if d.year in self.loaded_years:
            return self.loaded.get(d, d.weekday() < 5), LOADED
        official = _official(d)
        if official is None:  # a year the package does not ship
            return d.weekday() < 5, ASSUMED
        return official, OFFICIAL

    def add_working_days(self, start: dt.date, n: int) -> Due:
        """The ``n``-th working day after ``start`` (``n`` ≥ 1; the start day is not counted)."""
        if n < 1:
            raise ValueError("a period of working days is at least one day")
        d, assumed = start, set()
        while n:
            d += dt.timedelta(days=1)
            working, known = self.day(d)
            if known == ASSUMED:
                assumed.add(d.year)
            n -= working
        return Due(d, frozenset(assumed))

    def add_days(self, start: dt.date, n: int) -> Due:
        """``n`` calendar days after ``start``, moved to the next working day when it is an official rest day."""
        if n < 1:
            raise ValueError("a period of days is at least one day")
        return self._on_working_day(start + dt.timedelta(days=n))

    def add_years(self, start: dt.date, years: int) -> Due:
        """The same day ``years`` later, or the month's last day when there is none (29 February), moved to
        the next working day when it is an official rest day (民法典 第二百零二、二百零三条): the last day of
        a limitation period."""
        try:
            last = start.replace(year=start.year + years)
        except ValueError:
            last = start.replace(year=start.year + years, day=28)
        return self._on_working_day(last)

    def _on_working_day(self, d: dt.date) -> Due:
        working, known = self.day(d)
        assumed = frozenset({d.year}) if known == ASSUMED else frozenset()
        if working:
            return Due(d, assumed)
        moved = self.add_working_days(d, 1)
        return Due(moved.due_on, assumed | moved.assumed_years)
