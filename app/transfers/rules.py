"""Rules about one transfer, as plain functions of its facts: no session, no request.

The services and the ledger replay (:mod:`app.audit.replay`) both decide with these, so a transfer's
status means the same in the tables and in the log.
"""
from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

#: The issuer's answers under which a 转让 may go on: granted, or refused without legal grounds or not
#: answered in time, neither of which makes the transfer void (司法解释 第十三条).
CONSENT_GIVEN = ("granted", "refused_without_grounds", "no_answer")
#: Written notice of an exit of contract land comes this many months ahead (农村土地承包法 第三十条).
EXIT_NOTICE_MONTHS = 6


def issuer_consent_given(kind: str, decision: str | None) -> bool:
    """Whether the issuer's consent is given or deemed given: only a 转让 needs it (第三十四条)."""
    return kind != "transfer" or decision in CONSENT_GIVEN


def issuer_silent_too_long(opened_on: dt.date, on: dt.date, answer_days: int) -> bool:
    """Whether an issuer that has not answered by ``on`` let the answer period run out (its silence then does
    not block the transfer: 司法解释 第十三条)."""
    return (on - opened_on).days >= answer_days


def status_after_payment(kind: str, decision: str | None, price: Decimal, paid: Decimal) -> str:
    """An open transfer's status once ``paid`` of ``price`` is paid: ``paid`` when consented and paid in full,
    else ``consented`` (a 转让 the issuer agreed to) or ``pending``."""
    consented = issuer_consent_given(kind, decision)
    if consented and paid >= price:
        return "paid"
    return "consented" if consented and kind == "transfer" else "pending"


def notice_in_time(notice: dt.date | None, on: dt.date) -> bool:
    """Written notice at least six months before ``on`` (a notice on 31 August allows 28/29 February)."""
    if notice is None:
        return False
    month = notice.month - 1 + EXIT_NOTICE_MONTHS
    year, month = notice.year + month // 12, month % 12 + 1
    return on >= dt.date(year, month, min(notice.day, calendar.monthrange(year, month)[1]))
