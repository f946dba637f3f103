"""Statutory deadlines on China's official calendar (docs/rules.md §4).

A period runs from the day after its start (the start day is not counted).
Working days (工作日) skip the official rest days and count the adjusted
working days (调休上班) that the State Council publishes each year; the package
``chinese-calendar`` knows the years it ships. A period of calendar days whose
last day is an official rest day ends on the next working day (民事诉讼法
第八十五条, which the arbitration rules follow).

For a year the package does not know, an admin loads the year's official
schedule (``sanquan calendar load FILE``: the holidays and adjusted working
days as published); until then Monday–Friday is assumed, and every deadline
that leaned on the assumption says so (``assumed_years``).
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


# --- the statutory periods of an arbitration (农村土地承包经营纠纷调解仲裁法) ----------------------------------

LAW = "农村土地承包经营纠纷调解仲裁法"
#: Days the arbitration of a case may take (第四十七条), and the one extension the chair may approve.
CASE_DAYS, MAX_EXTENSION_DAYS = 60, 30
#: The limitation period, in years from when the applicant knew or should have known of the harm (第十八条).
LIMITATION_YEARS = 2


@dataclass(frozen=True)
class Period:
    """A period the law sets for one step, counted from an event of the case."""

    key: str  #: what falls due (the API's ``deadlines`` key)
    after: str  #: the event it runs from
    days: int
    working: bool  #: working days (工作日) rather than calendar days
    article: str
    zh: str  #: what must be done by then
    #: whose period it is: the committee's duty (overdue when missed), or a party's time (it lapses)
    by: str = "committee"

    @property
    def basis(self) -> str:
        return f"{LAW} {self.article}"


PERIODS = (
    Period("acceptance_decision", "received", 5, True, "第二十三、二十四条", "书面决定受理或者不予受理"),
    Period("copy_to_respondent", "accepted", 5, True, "第二十五条",
           "将受理通知书、仲裁规则、仲裁员名册和申请书副本送达被申请人"),
    Period("defence", "copy_served", 10, False, "第二十五条", "被申请人提交答辩书", by="respondent"),
    Period("tribunal_notice", "tribunal_formed", 2, True, "第二十七条", "将仲裁庭组成情况书面通知当事人"),
    Period("award_served", "award_made", 3, True, "第四十五条", "送达裁决书"),
    Period("case_closed", "accepted", CASE_DAYS, False, "第四十七条", "仲裁结案"),
    Period("lawsuit", "award_served", 30, False, "第四十八条",
           "不服裁决的，向人民法院起诉；逾期不起诉的，裁决书发生法律效力", by="parties"),
)


@dataclass(frozen=True)
class Deadline:
    key: str
    due_on: dt.date
    basis: str
    zh: str
    assumed_years: frozenset[int] = frozenset()
    by: str = "committee"


def deadlines(calendar: WorkCalendar, events: Mapping[str, dt.date], *, extension_days: int = 0) -> list[Deadline]:
    """Every statutory deadline whose starting event has happened, earliest first.

    Args:
        events: event → the day it happened (``received``, ``accepted``, ``copy_served``,
            ``tribunal_formed``, ``award_made``, ``award_served``: the day the award reached the parties).
        extension_days: the one extension of the case's 60 days the chair approved (0 to 30).

    Raises:
        ValueError: an extension outside 0–30 days (the service refuses it as DEADLINE_EXTENSION_EXCEEDED).
    """
    if not 0 <= extension_days <= MAX_EXTENSION_DAYS:
        raise ValueError(f"an extension of {extension_days} days")
    out = []
    for p in PERIODS:
        start = events.get(p.after)
        if start is None:
            continue
        days = p.days + (extension_days if p.key == "case_closed" else 0)
        due = calendar.add_working_days(start, days) if p.working else calendar.add_days(start, days)
        out.append(Deadline(p.key, due.due_on, p.basis, p.zh, due.assumed_years, p.by))
    return sorted(out, key=lambda d: (d.due_on, d.key))


def hearing_notice_by(calendar: WorkCalendar, hearing_on: dt.date) -> Due:
    """The last day the parties may be told of a hearing: five working days before it (第三十一条),
    the hearing day not counted."""
    d, n, assumed = hearing_on, 5, set()
    while n:
        d -= dt.timedelta(days=1)
        working, known = calendar.day(d)
        if known == ASSUMED:
            assumed.add(d.year)
        n -= working
    return Due(d, frozenset(assumed))


def time_barred(calendar: WorkCalendar, knew_of_harm_on: dt.date, applied_on: dt.date) -> bool:
    """Whether the application came after the two-year limitation period ran out (第十八条); the committee
    may still decide the case, so this is a flag, not a refusal."""
    return applied_on > calendar.add_years(knew_of_harm_on, LIMITATION_YEARS).due_on
