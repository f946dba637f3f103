"""The exit-campaign detector of the compliance report (pure: no database)."""
from __future__ import annotations

import datetime as dt

from app.reports.compliance import CompliancePolicy, _campaigns
from app.transfers.models import Transfer

DAY = dt.date(2026, 3, 1)


def exits(days, collective="21068110100101", kind="exit", status="pending"):
    return [Transfer(id=i + 1, county_code=collective[:6], kind=kind, status=status, collective_code=collective,
                     consent_signed_on=DAY + dt.timedelta(days=d)) for i, d in enumerate(days)]


def test_five_exits_within_thirty_days_are_a_campaign_four_are_not():
    policy = CompliancePolicy(campaign_exits=5, campaign_days=30)
    assert _campaigns(exits([0, 3, 10, 20, 30]), policy) == {("210681", n) for n in (1, 2, 3, 4, 5)}
    assert _campaigns(exits([0, 3, 10, 20, 31]), policy) == set()
    assert _campaigns(exits([0, 3, 10, 20]), policy) == set()


def test_only_exits_of_one_collective_that_still_stand_count():
    policy = CompliancePolicy(campaign_exits=3, campaign_days=30)
    assert _campaigns(exits([0, 1, 2], kind="transfer"), policy) == set()
    assert _campaigns(exits([0, 1, 2], status="withdrawn"), policy) == set()
    mixed = exits([0, 1]) + [Transfer(id=9, county_code="210681", kind="exit", status="pending",
                                      collective_code="21068110100102",
                                      consent_signed_on=DAY)]
    assert _campaigns(mixed, policy) == set()
