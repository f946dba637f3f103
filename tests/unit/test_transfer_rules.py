"""Rules about one transfer (app/transfers/rules.py), without a database."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.transfers.rules import issuer_consent_given, issuer_silent_too_long, notice_in_time, status_after_payment


def test_six_months_notice_ends_on_the_months_last_day():
    assert notice_in_time(dt.date(2025, 8, 31), dt.date(2026, 2, 28))
    assert not notice_in_time(dt.date(2025, 8, 31), dt.date(2026, 2, 27))
    assert notice_in_time(dt.date(2027, 8, 31), dt.date(2028, 2, 29))  # leap year
    assert notice_in_time(dt.date(2025, 10, 15), dt.date(2026, 4, 15))  # across the year's end
    assert not notice_in_time(dt.date(2025, 10, 15), dt.date(2026, 4, 14))
    assert not notice_in_time(None, dt.date(2026, 1, 1))


@pytest.mark.parametrize("kind, decision, given", [
    ("transfer", None, False), ("transfer", "refused", False), ("transfer", "granted", True),
    ("transfer", "refused_without_grounds", True), ("transfer", "no_answer", True),
    ("exit", None, True), ("lease", None, True), ("exchange", None, True), ("share_in", None, True),
])
def test_only_a_transfer_needs_the_issuers_consent_and_has_it_unless_refused_on_grounds(kind, decision, given):
    assert issuer_consent_given(kind, decision) is given


def test_the_issuers_silence_stops_blocking_when_the_answer_period_runs_out():
    opened = dt.date(2026, 3, 1)
    assert not issuer_silent_too_long(opened, dt.date(2026, 3, 30), 30)
    assert issuer_silent_too_long(opened, dt.date(2026, 3, 31), 30)


@pytest.mark.parametrize("kind, decision, paid, status", [
    ("transfer", None, "0", "pending"),
    ("transfer", None, "100", "pending"),  # paid in full, but the issuer has not agreed
    ("transfer", "granted", "40", "consented"),
    ("transfer", "granted", "100", "paid"),
    ("transfer", "no_answer", "120", "paid"),
    ("exit", None, "40", "pending"),
    ("exit", None, "100", "paid"),
    ("lease", None, "0", "pending"),
])
def test_status_after_a_payment(kind, decision, paid, status):
    assert status_after_payment(kind, decision, Decimal("100"), Decimal(paid)) == status

