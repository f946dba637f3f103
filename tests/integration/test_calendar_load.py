"""Loading a year's official schedule for a year chinese-calendar does not know, on both engines."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from app.auth.services import SYSTEM, Principal
from app.cli import main
from app.errors import DomainError
from app.workdays.calendar import Due
from app.workdays.models import CalendarDay
from app.workdays.services import load_schedule, parse_schedule, work_calendar

D = dt.date.fromisoformat
#: A 2027 schedule as the State Council might publish it: New Year 1–3 January; Spring Festival 6–12
#: February with Saturday 13 February worked; the other dates are illustrative.
SCHEDULE_2027 = """date,workday,name
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,休,元旦
2027-02-06,0,春节
2027-02-07,0,春节
2027-02-08,0,春节
2027-02-09,0,春节
2027-02-10,0,春节
2027-02-11,0,春节
2027-02-12,0,春节
2027-02-13,1,春节
"""


@pytest.fixture
def run(app):
    def invoke(*args):
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)
    return invoke


def _calendar(uow_factory):
    with uow_factory(write=False) as uow:
        return work_calendar(uow.session)


def test_a_loaded_year_moves_deadlines_the_assumption_got_wrong(run, uow_factory, tmp_path):
    # assumed Monday–Friday, 5 working days from Wednesday 30 December 2026 end on Wednesday 6 January 2027
    assert _calendar(uow_factory).add_working_days(D("2026-12-30"), 5) == Due(D("2027-01-06"), frozenset({2027}))
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    out = run("calendar", "load", str(path))
    assert out.exit_code == 0 and "2027: 10 rest days, 1 adjusted working days loaded" in out.output
    calendar = _calendar(uow_factory)
    # Thu 31 December 1; 1–3 January rest; Mon 4 2, Tue 5 3, Wed 6 4, Thu 7 5 — and nothing assumed
    assert calendar.add_working_days(D("2026-12-30"), 5) == Due(D("2027-01-07"))
    # Friday 5 February + 2 working days: 6–12 rest, Saturday 13 worked, Monday 15
    assert calendar.add_working_days(D("2027-02-05"), 2) == Due(D("2027-02-15"))
    # loading the year again replaces it; a CSV Excel saved in GB 18030 reads as well
    path.write_bytes("2027-01-01,休,元旦\n".encode("gb18030"))
    assert run("calendar", "load", str(path)).exit_code == 0
    with uow_factory(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(CalendarDay)) == 1
    assert _calendar(uow_factory).add_working_days(D("2027-02-05"), 2) == Due(D("2027-02-09"))


@pytest.mark.parametrize("text, why", [
    ("2027-01-01,maybe\n", "line 1"),
    ("2027-13-01,0\n", "line 1"),
    ("2027-01-01\n", "line 1"),
    ("2027-01-01,0\n2027-01-01,1\n", "twice"),
    ("date,workday,name\n", "no days"),
])
def test_a_malformed_schedule_is_refused_naming_the_line(text, why):
    with pytest.raises(DomainError) as e:
        parse_schedule(text)
    assert e.value.status == 422 and why in str(e.value.errors)


def test_a_known_year_several_years_or_a_non_admin_are_refused_and_nothing_is_loaded(uow_factory, run, tmp_path):
    refusals = [
        (SYSTEM, [(D("2026-10-01"), False, "国庆节")], 422, "built in"),
        (SYSTEM, [(D("2027-01-01"), False, ""), (D("2028-01-01"), False, "")], 422, "one year"),
        (Principal(id=None, name="clerk", role="clerk", scope="210681"), [(D("2027-01-01"), False, "")], 403,
         "admin"),
    ]
    for actor, rows, status, words in refusals:
        with pytest.raises(DomainError) as e:
            load_schedule(uow_factory(), actor=actor, rows=rows)
        assert e.value.status == status and words in e.value.en
    with uow_factory(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(CalendarDay)) == 0
    path = tmp_path / "bad.csv"
    path.write_text("2026-10-01,0\n", encoding="utf-8")
    out = run("calendar", "load", str(path))
    assert out.exit_code != 0 and "已内置" in out.output
