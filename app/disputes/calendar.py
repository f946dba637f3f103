"""Statutory deadlines of an arbitration on China's official calendar (docs/rules.md §4; the calendar
itself is :mod:`app.workdays.calendar`)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from app.workdays.calendar import ASSUMED, Due, WorkCalendar

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
