"""Deadlines on China's official calendar, against days counted by hand from the State Council's notices.

National Day 2025 (国办发明电〔2024〕12号): rest 1–8 October; work Sunday 28 September and Saturday
11 October. Spring Festival 2026 (国办发明电〔2025〕7号): rest 15–23 February; work Saturday 14 February
and Saturday 28 February.
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.disputes.calendar import deadlines, hearing_notice_by, time_barred
from app.workdays.calendar import ASSUMED, LOADED, OFFICIAL, Due, WorkCalendar

D = dt.date.fromisoformat
OFFICIAL_ONLY = WorkCalendar()


@pytest.mark.parametrize("start, n, due", [
    # an ordinary week: Monday + 5 working days, the start day not counted
    ("2025-06-09", 5, "2025-06-16"),
    # Friday 26 September 2025: Sun 28 (adjusted working day) 1, Mon 29 2, Tue 30 3, 1–8 October rest, Thu 9 4, Fri 10 5
    ("2025-09-26", 5, "2025-10-10"),
    # received on the last day before the holiday: Thu 9, Fri 10, Sat 11 (adjusted), Mon 13, Tue 14
    ("2025-09-30", 5, "2025-10-14"),
    # 2 working days from a holiday: Thu 9, Fri 10
    ("2025-10-03", 2, "2025-10-10"),
    # Thursday 12 February 2026: Fri 13 1, Sat 14 (adjusted) 2, 15–23 rest, Tue 24 3, Wed 25 4, Thu 26 5
    ("2026-02-12", 5, "2026-02-26"),
    # 3 working days from Wednesday 25 February 2026: Thu 26, Fri 27, Sat 28 (adjusted)
    ("2026-02-25", 3, "2026-02-28"),
])
def test_working_days_skip_official_rest_days_and_count_adjusted_working_days(start, n, due):
    assert OFFICIAL_ONLY.add_working_days(D(start), n) == Due(D(due))


@pytest.mark.parametrize("start, n, due", [
    # 10 days from 25 September 2025 end on Sunday 5 October, a holiday: the next working day is Thursday 9
    ("2025-09-25", 10, "2025-10-09"),
    # 10 days from 18 September 2025 end on Sunday 28 September, an adjusted working day: it stands
    ("2025-09-18", 10, "2025-09-28"),
    # 30 days from 20 January 2026 end on Thursday 19 February, inside the Spring Festival: Tuesday 24
    ("2026-01-20", 30, "2026-02-24"),
    # an ordinary Saturday is a rest day too: 10 days from Wednesday 3 June 2026 → Saturday 13 → Monday 15
    ("2026-06-03", 10, "2026-06-15"),
    # 60 days from acceptance on 2 September 2025 end on Saturday 1 November: Monday 3 November
    ("2025-09-02", 60, "2025-11-03"),
])
def test_a_period_of_days_ending_on_a_rest_day_ends_on_the_next_working_day(start, n, due):
    assert OFFICIAL_ONLY.add_days(D(start), n) == Due(D(due))


def test_beyond_the_packages_years_monday_to_friday_is_assumed_and_said():
    # Wednesday 30 December 2026: Thu 31 (official) 1; 2027 unknown: Fri 1 January 2, Mon 4 3, Tue 5 4, Wed 6 5
    due = OFFICIAL_ONLY.add_working_days(D("2026-12-30"), 5)
    assert due == Due(D("2027-01-06"), frozenset({2027})) and due.assumed
    assert OFFICIAL_ONLY.day(D("2027-01-01")) == (True, ASSUMED)
    assert OFFICIAL_ONLY.day(D("2026-10-01")) == (False, OFFICIAL)
    # a period wholly inside the known years assumes nothing
    assert not OFFICIAL_ONLY.add_working_days(D("2026-12-01"), 5).assumed


def test_a_loaded_schedule_replaces_the_assumption_for_its_year():
    # as a schedule for 2027 might read: New Year rest 1 January, an adjusted working day Sunday 3 January
    loaded = WorkCalendar.of([(D("2027-01-01"), False), (D("2027-01-03"), True)])
    assert loaded.day(D("2027-01-01")) == (False, LOADED)
    assert loaded.day(D("2027-01-02")) == (False, LOADED)  # a Saturday the schedule does not name
    assert loaded.day(D("2027-01-03")) == (True, LOADED)
    # Thu 31 December 1; Sun 3 January 2; Mon 4 3; Tue 5 4; Wed 6 5
    assert loaded.add_working_days(D("2026-12-30"), 5) == Due(D("2027-01-06"))
    # 2 days from 30 December end on 1 January, a loaded holiday: the next working day is Sunday 3 January
    assert loaded.add_days(D("2026-12-30"), 2) == Due(D("2027-01-03"))
    # other years keep the package's data
    assert loaded.day(D("2025-10-01")) == (False, OFFICIAL)


def test_limitation_ends_on_the_corresponding_day_or_the_months_last_and_on_a_working_day():
    # knew of the harm on 10 March 2024: two years end on Tuesday 10 March 2026
    assert OFFICIAL_ONLY.add_years(D("2024-03-10"), 2) == Due(D("2026-03-10"))
    # 29 February 2024 has no corresponding day in 2026: the month's last, Saturday 28 February, an adjusted
    # working day of the Spring Festival
    assert OFFICIAL_ONLY.add_years(D("2024-02-29"), 2) == Due(D("2026-02-28"))
    # 3 October 2023 + 2 years is a National Day holiday: Thursday 9 October 2025
    assert OFFICIAL_ONLY.add_years(D("2023-10-03"), 2) == Due(D("2025-10-09"))


@pytest.mark.parametrize("n", [0, -3])
def test_a_period_is_at_least_one_day(n):
    with pytest.raises(ValueError):
        OFFICIAL_ONLY.add_working_days(D("2025-06-09"), n)
    with pytest.raises(ValueError):
        OFFICIAL_ONLY.add_days(D("2025-06-09"), n)


# --- the statutory periods of an arbitration ------------------------------------------------------------


def test_an_application_received_before_national_day_gets_every_deadline_of_its_steps():
    events = {"received": D("2025-09-26"), "accepted": D("2025-09-30"), "copy_served": D("2025-10-14")}
    due = {d.key: (d.due_on, d.basis) for d in deadlines(OFFICIAL_ONLY, events)}
    assert due == {
        # Fri 26 Sep + 5 working days (see above)
        "acceptance_decision": (D("2025-10-10"), "农村土地承包经营纠纷调解仲裁法 第二十三、二十四条"),
        # Tue 30 Sep + 5 working days: Thu 9, Fri 10, Sat 11 (adjusted), Mon 13, Tue 14
        "copy_to_respondent": (D("2025-10-14"), "农村土地承包经营纠纷调解仲裁法 第二十五条"),
        # 10 days from Tue 14 Oct: Fri 24 Oct
        "defence": (D("2025-10-24"), "农村土地承包经营纠纷调解仲裁法 第二十五条"),
        # 60 days from 30 Sep: Sat 29 Nov, so Monday 1 December
        "case_closed": (D("2025-12-01"), "农村土地承包经营纠纷调解仲裁法 第四十七条"),
    }
    # steps not reached have no deadline yet; the list runs earliest first
    assert [d.key for d in deadlines(OFFICIAL_ONLY, events)] == [
        "acceptance_decision", "copy_to_respondent", "defence", "case_closed"]


def test_the_one_extension_of_at_most_thirty_days_moves_the_close_of_the_case():
    events = {"accepted": D("2025-09-30")}
    closed = {d.key: d.due_on for d in deadlines(OFFICIAL_ONLY, events, extension_days=30)}["case_closed"]
    assert closed == D("2025-12-29")  # 90 days from 30 September: Monday 29 December
    with pytest.raises(ValueError):
        deadlines(OFFICIAL_ONLY, events, extension_days=31)


def test_the_award_is_served_within_three_working_days_and_binds_after_thirty_days():
    # award made Thursday 12 February 2026: Fri 13, Sat 14 (adjusted), then 15–23 rest: Tue 24
    # received Wednesday 25 February: 30 days end on Friday 27 March
    due = {d.key: d.due_on for d in deadlines(OFFICIAL_ONLY, {"award_made": D("2026-02-12"),
                                                              "award_served": D("2026-02-25")})}
    assert due == {"award_served": D("2026-02-24"), "lawsuit": D("2026-03-27")}


def test_a_hearing_is_notified_five_working_days_before_it():
    # hearing Monday 16 June 2025: Fri 13, Thu 12, Wed 11, Tue 10, Mon 9
    assert hearing_notice_by(OFFICIAL_ONLY, D("2025-06-16")) == Due(D("2025-06-09"))
    # hearing Thursday 16 October 2025: Wed 15, Tue 14, Mon 13, Sat 11 (adjusted), Fri 10
    assert hearing_notice_by(OFFICIAL_ONLY, D("2025-10-16")) == Due(D("2025-10-10"))


def test_an_application_after_two_years_is_time_barred_but_not_on_the_last_day():
    assert not time_barred(OFFICIAL_ONLY, D("2024-03-10"), D("2026-03-10"))
    assert time_barred(OFFICIAL_ONLY, D("2024-03-10"), D("2026-03-11"))
    # the last day, 3 October 2025, is a holiday: an application on Thursday 9 October is in time
    assert not time_barred(OFFICIAL_ONLY, D("2023-10-03"), D("2025-10-09"))
    assert time_barred(OFFICIAL_ONLY, D("2023-10-03"), D("2025-10-10"))
