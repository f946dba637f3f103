"""The working-day calendar as the registry keeps it: the package's years and the schedules an admin loaded."""
from __future__ import annotations

import csv
import datetime as dt
import io

import chinese_calendar
from sqlalchemy import delete, extract, select
from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork, utcnow
from app.errors import DomainError, Forbidden
from app.workdays.calendar import WorkCalendar
from app.workdays.models import CalendarDay

#: Words a schedule file may use for a working day and for a rest day (besides 1 and 0).
_WORK = {"1", "true", "work", "workday", "班", "上班", "工作日"}
_REST = {"0", "false", "rest", "holiday", "休", "休息", "放假", "休息日"}


def work_calendar(s: Session) -> WorkCalendar:
    """The calendar deadlines are counted on: the package's years and every schedule loaded."""
    return WorkCalendar.of(s.execute(select(CalendarDay.day, CalendarDay.workday)).all())


def parse_schedule(text: str) -> list[tuple[dt.date, bool, str]]:
    """Rows ``date,workday[,name]`` of a CSV schedule (a header row is allowed): each holiday as a rest
    day (``0``, ``休``) and each adjusted working day (``1``, ``班``), as the State Council publishes them.

    Raises:
        DomainError 422: a row that is not a date and a working-day flag, or a date given twice.
    """
    rows, seen, errors = [], set(), {}
    for n, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#") or cells[0].lower() == "date":
            continue
        try:
            day = dt.date.fromisoformat(cells[0])
            flag = cells[1].lower()
            if flag not in _WORK | _REST:
                raise ValueError(flag)
        except (ValueError, IndexError):
            errors[f"line {n}"] = ["date,workday[,name]: an ISO date, then 1/班 for a working day or 0/休 for a "
                                   "rest day"]
            continue
        if day in seen:
            errors[f"line {n}"] = [f"{day} is given twice"]
        seen.add(day)
        rows.append((day, flag in _WORK, cells[2] if len(cells) > 2 else ""))
    if errors or not rows:
        raise DomainError("日历文件格式错误：每行为 日期,是否上班[,名称]",
                          "the schedule is malformed: date,workday[,name] a row",
                          status=422, errors=errors or {"file": ["no days"]})
    return rows


def load_schedule(uow: UnitOfWork, *, actor: Principal, rows: list[tuple[dt.date, bool, str]]) -> dict:
    """Load one year's official schedule (its holidays and adjusted working days), replacing any loaded before.

    Raises:
        Forbidden: only an admin loads a calendar.
        DomainError 422: the days span more than one year, or the year is one chinese-calendar knows
            (its official data stands).
    """
    if actor.role != "admin":
        raise Forbidden("只有管理员可以载入工作日日历", "Only an admin may load a working-day calendar")
    years = {day.year for day, _, _ in rows}
    if len(years) != 1:
        raise DomainError("一个日历文件只载入一年的安排", "a schedule file loads one year",
                          status=422, errors={"file": [f"years {sorted(years)}"]})
    year = years.pop()
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        pass
    else:
        raise DomainError(f"{year} 年的官方安排已内置，无需载入", f"the official schedule of {year} is built in",
                          status=422, errors={"file": [f"{year} is known to chinese-calendar"]})
    with uow:
        s = uow.session
        s.execute(delete(CalendarDay).where(extract("year", CalendarDay.day) == year))
        at = utcnow()
        s.add_all(CalendarDay(day=day, workday=workday, name=name[:50], loaded_by=actor.name, loaded_at=at)
                  for day, workday, name in rows)
        uow.commit()
    return {"year": year, "rest_days": sorted(d.isoformat() for d, w, _ in rows if not w),
            "working_days": sorted(d.isoformat() for d, w, _ in rows if w), "loaded_by": actor.name}
