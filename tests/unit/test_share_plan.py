"""A collective's share plan decides what it allows (app/rights/models.py), without a database."""
from __future__ import annotations

from decimal import Decimal

from app.rights.models import SharePlan


def plan(**over) -> SharePlan:
    return SharePlan(**{"total_shares": Decimal("1000"), "max_holding_per_household": Decimal("50"),
                        "whole_shares": True} | over)


def test_whole_shares_where_the_plan_says_so():
    assert plan().takes(Decimal("3")) and plan().takes(Decimal("3.0000"))
    assert not plan().takes(Decimal("2.5"))
    assert plan(whole_shares=False).takes(Decimal("2.5"))


def test_the_collectives_shares_stay_within_the_plans_total():
    assert plan().holds(Decimal("1000")) and not plan().holds(Decimal("1000.0001"))


def test_a_household_holds_no_more_than_the_cap_and_without_a_cap_any_number():
    assert plan().allows_holding(Decimal("50")) and not plan().allows_holding(Decimal("51"))
    assert plan(max_holding_per_household=None).allows_holding(Decimal("1000000"))
