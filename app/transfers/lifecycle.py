"""An open transfer's life: the issuer's answer, payments, withdrawal, and the completion that moves the right.

Rights move only when a transfer the holder signed is completed; nothing here ends a right or a membership
because someone settled in a city.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, select, update

from app.auth.services import Principal
from app.db import UnitOfWork, coded, county_row, new_number
from app.errors import NotFound, RuleViolation
from app.holds import services as holds
from app.ids import RowKey
from app.ledger import services as ledger
from app.parties.models import Household
from app.parties.services import require_role
from app.rights.models import ID_SUFFIX, Right, RightParcel, RightShares, right_code
from app.rights.services import (
    next_right_id,
    open_contract,
)
from app.transfers import rules
from app.transfers.models import (
    OPEN_STATUSES,
    ManagementRight,
    ManagementRightParcel,
    Transfer,
    TransferParcel,
    TransferPayment,
)
from app.transfers.opening import (
    TRANSFER_WRITERS,
    check_contract_recipient,
    check_not_managed,
    check_recipient_may_hold,
    check_shares_movable,
    entry_data,
    entry_subjects,
    shares_held,
)
from app.transfers.views import iso_day, paid_total, payments_of, transfer_view


@dataclass(frozen=True)
class TransferPolicy:
    #: days the issuer has to answer a transfer request before silence counts as no objection
    #: (司法解释 第十三条: no answer does not void the transfer).
    issuer_answer_days: int = 30


def decide_issuer_consent(uow: UnitOfWork, *, actor: Principal, transfer_id: RowKey, decision: str,
                          grounds: str | None = None, decided_on: dt.date | None = None) -> dict:
    """Record the issuer's answer to a 转让.

    A refusal that names its legal grounds ends the transfer; one without grounds is recorded as
    such and does not stop it (司法解释 第十三条).

    Raises:
        RuleViolation: TRANSFER_CLOSED; DATE_ORDER (a decision in the future or before the request).
        RuleViolation: ISSUER_CONSENT_NOT_REQUIRED when the kind needs no consent (exchange: 备案; lease:
            filing; exit: notice).
    """
    require_role(actor, TRANSFER_WRITERS)
    decided_on = decided_on or dt.date.today()
    with uow:
        s = uow.session
        # locked: a payment recorded meanwhile changes the status this answer writes (each would otherwise
        # compute it from what it read, and the later write would undo the earlier)
        t = _open_transfer_row(s, actor, transfer_id, lock=True)
        if t.kind != "transfer":
            raise RuleViolation("ISSUER_CONSENT_NOT_REQUIRED", details={"kind": t.kind},
                                errors={"decision": [f"not for kind {t.kind}"]})
        if decided_on > dt.date.today() or decided_on < t.created_at.date():
            raise RuleViolation("DATE_ORDER", reason_zh="决定日期不在申请之后、今天之前",
                                reason_en="the decision must fall between the request and today")
        payments = payments_of(s, t)
        t.issuer_decision = decision if decision == "granted" or grounds else "refused_without_grounds"
        t.issuer_decided_on, t.issuer_grounds = decided_on, grounds
        if t.issuer_decision == "refused":
            t.status = "refused"
            holds.release(s, t.county_code, t.id)
        else:
            t.status = rules.status_after_payment(t.kind, t.issuer_decision, t.price, paid_total(payments))
        _save_transfer(s, t, "issuer_decision", "issuer_decided_on", "issuer_grounds", "status")
        ledger.append(s, county=t.county_code, kind="transfer.issuer_decided", actor=actor,
                      subjects=[f"transfer:{t.id}", t.right_id],
                      data={"transfer": t.id, "decision": t.issuer_decision, "grounds": grounds,
                            "decided_on": decided_on.isoformat()})
        view = transfer_view(s, t, payments=payments)
        uow.commit()
    return view


def add_payment(uow: UnitOfWork, *, actor: Principal, transfer_id: RowKey, amount: Decimal, paid_on: dt.date,
                reference: str) -> dict:
    """Record a payment (partial payments add up to the price, never beyond it).

    Raises:
        RuleViolation: TRANSFER_CLOSED; PAYMENT_EXCEEDS_PRICE; PRICE_REQUIRED for a non-positive amount;
            DATE_ORDER for a payment in the future or before the holder's consent.
    """
    require_role(actor, TRANSFER_WRITERS)
    if amount <= 0:
        raise RuleViolation("PRICE_REQUIRED", details={"amount": str(amount)})
    if paid_on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="付款日期晚于今天", reason_en="paid_on is in the future")
    with uow:
        s = uow.session
        t = _open_transfer_row(s, actor, transfer_id, lock=True)
        if paid_on < t.consent_signed_on:
            raise RuleViolation("DATE_ORDER", reason_zh=f"付款日期早于权利人签署同意之日 {t.consent_signed_on}",
                                reason_en=f"paid_on is before the holder consented on {t.consent_signed_on}",
                                details={"paid_on": paid_on.isoformat(),
                                         "consent_signed_on": t.consent_signed_on.isoformat()})
        payments = payments_of(s, t)
        total = paid_total(payments) + amount
        if total > t.price:
            raise RuleViolation("PAYMENT_EXCEEDS_PRICE", details={"total": str(total), "price": str(t.price)})
        seq = ledger.append(s, county=t.county_code, kind="transfer.payment_recorded", actor=actor,
                            subjects=[f"transfer:{t.id}", t.right_id],
                            data={"transfer": t.id, "amount": str(amount), "paid_on": paid_on.isoformat(),
                                  "reference": reference, "total_paid": str(total), "price": str(t.price)})
        payment = {"transfer_id": t.id, "county_code": t.county_code, "amount": amount, "paid_on": paid_on,
                   "reference": reference, "ledger_seq": seq} | new_number(s, TransferPayment, t.county_code)
        s.connection().execute(_ADD_PAYMENT, payment)
        t.status = rules.status_after_payment(t.kind, t.issuer_decision, t.price, total)
        _save_transfer(s, t, "status")
        view = transfer_view(s, t, payments=[*payments, SimpleNamespace(**payment)])
        uow.commit()
    return view


def withdraw_transfer(uow: UnitOfWork, *, actor: Principal, transfer_id: RowKey) -> dict:
    """Withdraw an open transfer: it ends, the right and parcels are free again, nothing moved.

    Raises:
        RuleViolation: TRANSFER_CLOSED.
    """
    require_role(actor, TRANSFER_WRITERS)
    with uow:
        s = uow.session
        t = _open_transfer(s, actor, transfer_id)
        t.status = "withdrawn"
        holds.release(s, t.county_code, t.id)
        ledger.append(s, county=t.county_code, kind="transfer.withdrawn", actor=actor,
                      subjects=[f"transfer:{t.id}", t.right_id], data={"transfer": t.id})
        view = transfer_view(s, t)
        uow.commit()
    return view


def complete_transfer(uow: UnitOfWork, *, actor: Principal, policy: TransferPolicy, transfer_id: RowKey,
                      completed_on: dt.date | None = None) -> dict:
    """Complete a transfer: the right (or its parcels) moves exactly as the law says.

    转让: the giver's links to the parcels end; the recipient's contract in force gains them (a new
    contract for the remaining term if it has none, its id ``<code>-<n>`` when an earlier one ended)
    (第三十四条). 互换: the parcels swap contracts (第三十三条).
    交回: the parcels return to the collective; a contract left without land ends (第三十条).

    Raises:
        RuleViolation: TRANSFER_CLOSED (also for the losers of a race to complete), ISSUER_CONSENT_REQUIRED,
            PAYMENT_REQUIRED, EXIT_NOTICE_PERIOD, RIGHT_IN_DISPUTE, DATE_ORDER (consent signed after completion),
            NO_NEW_LAND_AFTER_RETURN (the recipient returned contract land in the term since it opened).
    """
    require_role(actor, TRANSFER_WRITERS)
    on = completed_on or dt.date.today()
    if on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="完成日期晚于今天", reason_en="completed_on is in the future")
    with uow:
        s = uow.session
        t = _open_transfer(s, actor, transfer_id, lock=True)
        moving = [(code, right) for code, right in s.execute(_MOVING, {"county": t.county_code, "id": t.id})]
        if t.consent_signed_on > on:
            raise RuleViolation("DATE_ORDER", reason_zh="同意书签署日期晚于完成日期",
                                reason_en="the consent is dated after the completion")
        held = coded(s, Right, t.right_id)
        assert held is not None, "a transfer's right_id is a foreign key to rights"
        if on < held.start or (held.end is not None and on > held.end):
            raise RuleViolation("DATE_ORDER", reason_zh="完成日期不在承包期内", reason_en="completion lies outside the "
                                "contract term", details={"start": held.start.isoformat(), "end": iso_day(held.end)})
        receiving = None
        if t.kind == "transfer":
            _issuer_consent_given(t, policy, on)
            assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
            if held.type == "contract":
                receiving = _receiving_contract(s, t)
                check_contract_recipient(s, held, t.to_household, receiving.contract, on)
            else:
                check_recipient_may_hold(s, held, t.to_household, None if t.shares is None else Decimal(str(t.shares)),
                                         on)
        if held.type == "income_share":
            check_shares_movable(s, held, Decimal(str(t.shares)), None)
        payments = payments_of(s, t)
        paid = paid_total(payments)
        if paid < t.price:
            raise RuleViolation("PAYMENT_REQUIRED", details={"paid": str(paid), "price": str(t.price)})
        if t.kind == "exit" and held.type == "contract" and not rules.notice_in_time(t.notice_given_on, on):
            raise RuleViolation("EXIT_NOTICE_PERIOD", details={"notice_given_on": iso_day(t.notice_given_on),
                                                               "completed_on": on.isoformat()})
        holds.check_not_frozen(s, [held.code, *([right_code(t.counter_right_id)] if t.counter_right_id else []),
                        *(code for code, _ in moving)])
        seq = ledger.append(s, county=t.county_code, kind="transfer.completed", actor=actor,
                            subjects=entry_subjects(t, moving) + ([receiving.id] if receiving else []),
                            data=entry_data(t, moving) | {"completed_on": on.isoformat(), "paid": str(paid),
                                                      "issuer_decision": t.issuer_decision}
                            | ({"to_right": receiving.id} if receiving else {}))
        move_rights(s, t, moving, on, seq, receiving)
        t.status, t.completed_on = "completed", on
        holds.release(s, t.county_code, t.id)
        s.flush()
        view = transfer_view(s, t, parcels=[code for code, _ in moving], payments=payments)
        uow.commit()
    return view


def _issuer_consent_given(t: Transfer, policy: TransferPolicy, on: dt.date) -> None:
    if rules.issuer_consent_given(t.kind, t.issuer_decision):
        return
    if rules.issuer_silent_too_long(t.created_at.date(), on, policy.issuer_answer_days):
        t.issuer_decision = "no_answer"  # silence past the period does not block (司法解释 第十三条)
        return
    raise RuleViolation("ISSUER_CONSENT_REQUIRED", details={"answer_within_days": policy.issuer_answer_days})


def move_rights(s, t: Transfer, moving: list[tuple[str, str]], on: dt.date, seq: int,
                receiving: Receiving | None = None) -> None:
    """Make the transfer's legal effect: land, a homestead or shares change hands or go back (a 转让 of land
    to ``receiving``)."""
    giver = coded(s, Right, t.right_id)
    if giver.type == "income_share":
        _move_shares(s, t, giver, on, seq)
        return
    if giver.type == "homestead":
        _move_homestead(s, t, giver, moving[0][0], on, seq)
        return
    codes = [code for code, _ in moving]
    if t.kind in ("lease", "share_in"):
        _grant_management(s, t, codes, on, seq)
        return
    links = {link.parcel_code: link
             for link in s.scalars(_OPEN_LINKS, {"county": t.county_code, "parcels": codes})}
    for link in links.values():
        link.valid_to, link.end_ledger_seq = on, seq
    s.flush()  # the partial unique index allows one open link per parcel: close before opening
    if t.kind == "transfer":
        assert receiving is not None, "a 转让 of land joins the contract complete_transfer read"
        target = _join(s, t, giver, receiving, on, seq)
        s.add_all(RightParcel(right_id=target.id, parcel_code=c, county_code=t.county_code, valid_from=on,
                              contract_area_m2=links[c].contract_area_m2, ledger_seq=seq) for c in codes)
    elif t.kind == "exchange":
        other = {t.right_id: t.counter_right_id, t.counter_right_id: t.right_id}
        s.add_all(RightParcel(right_id=other[r], parcel_code=c, county_code=t.county_code, valid_from=on,
                              contract_area_m2=links[c].contract_area_m2, ledger_seq=seq) for c, r in moving)
    s.flush()
    if t.kind in ("transfer", "exit"):
        left = s.scalar(_LINKS_LEFT, {"county": t.county_code, "right": giver.id})
        if not left:  # 第三十四条: the giver's contract for that land ends with it
            giver.valid_to = on


def _grant_management(s, t: Transfer, parcels: list[str], on: dt.date, seq: int) -> None:
    """The household keeps its contract; the recipient gains the management right for the term."""
    assert t.term_end is not None, "a lease or share-in has a term (TransferCreateSchema requires it)"
    if t.term_end < on:
        raise RuleViolation("DATE_ORDER", reason_zh="经营期限在完成日之前已结束", reason_en="the term ended before "
                            "completion")
    check_not_managed(s, parcels, on)
    household = coded(s, Household, t.to_household) if t.to_household else None
    head = household.members[0] if household and household.members else None
    party = t.to_party or {}
    right = ManagementRight(transfer_id=t.id, contract_right_id=t.right_id, county_code=t.county_code, kind=t.kind,
                            holder_household=t.to_household, holder_name=party.get("name") or (head and head.name) or
                            t.to_household, holder_id_number=party.get("id_number"),
                            holder_credit_code=party.get("credit_code"), start=on, end=t.term_end, ledger_seq=seq)
    s.add(right)
    s.flush()
    s.add_all(ManagementRightParcel(management_right_id=right.id, county_code=t.county_code, parcel_code=p,
                                    end=t.term_end) for p in parcels)


def _move_homestead(s, t: Transfer, giver: Right, plot: str, on: dt.date, seq: int) -> None:
    """The homestead and its plot go to the recipient, or (exit) back to the collective for its members."""
    link = s.scalar(select(RightParcel).where(RightParcel.county_code == giver.county_code,
                                              RightParcel.right_id == giver.id, RightParcel.valid_to.is_(None))
                    .with_for_update(key_share=True))
    link.valid_to, link.end_ledger_seq = on, seq
    giver.valid_to = on  # the household has given its homestead up: 第六十二条 bars a new one
    s.flush()
    if t.kind == "transfer":
        assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
        household = coded(s, Household, t.to_household)
        right = Right(id=household.code + ID_SUFFIX["homestead"], type="homestead", holder_code=household.code,
                      collective_code=household.collective_code, county_code=household.county_code, start=on,
                      acquisition="transfer", valid_from=on, ledger_seq=seq)
        s.add(right)
        s.flush()
        s.add(RightParcel(right_id=right.id, parcel_code=plot, county_code=t.county_code, valid_from=on,
                          ledger_seq=seq))


def _move_shares(s, t: Transfer, giver: Right, on: dt.date, seq: int) -> None:
    """Shares leave the giver's holding for the recipient's (exit: back to the collective, unallocated)."""
    moving = Decimal(str(t.shares))
    left = rehold_shares(s, giver, shares_held(s, giver.id) - moving, on, seq)
    if not left:
        giver.valid_to = on
    if t.kind == "transfer":
        assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
        household = coded(s, Household, t.to_household)
        theirs = coded(s, Right, household.code + ID_SUFFIX["income_share"])
        if theirs is None:
            theirs = Right(id=household.code + ID_SUFFIX["income_share"], type="income_share",
                           holder_code=household.code, collective_code=household.collective_code,
                           county_code=household.county_code, start=on, acquisition="transfer", valid_from=on,
                           ledger_seq=seq)
            s.add(theirs)
            s.flush()
        rehold_shares(s, theirs, shares_held(s, theirs.id) + moving, on, seq)


def rehold_shares(s, right: Right, shares: Decimal, on: dt.date, seq: int) -> Decimal:
    """Close the right's current holding and open one of ``shares`` (none when zero)."""
    current = s.scalar(select(RightShares).where(RightShares.county_code == right.county_code,
                                                 RightShares.right_id == right.id, RightShares.valid_to.is_(None))
                       .with_for_update(key_share=True))
    if current is not None:
        current.valid_to = on
    if shares > 0:
        s.add(RightShares(right_id=right.id, county_code=right.county_code, shares=shares, valid_from=on,
                          ledger_seq=seq))
    s.flush()
    return shares


class Receiving(NamedTuple):
    """The contract a 转让's land joins: the recipient's contract in force, or None and the id of its next."""

    contract: Right | None
    id: str


def _receiving_contract(s, t: Transfer) -> Receiving:
    """The contract a 转让's parcels join, named in the completion's entry (a new one may be the household's
    n-th): read once, locked, under the county log's lock, so two completions for one recipient agree on it."""
    assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
    ledger.lock_log(s, t.county_code)
    theirs = open_contract(s, t.to_household, lock=True)
    if theirs is not None:
        return Receiving(theirs, theirs.id)
    return Receiving(None, next_right_id(s, t.to_household + ID_SUFFIX["contract"]))


def _join(s, t: Transfer, giver: Right, receiving: Receiving, on: dt.date, seq: int) -> Right:
    """The receiving contract, opened for the rest of the giver's term when the recipient has none in force
    (check_contract_recipient has compared the terms of one it has). A 转让 stays in the giver's collective
    (SAME_COLLECTIVE_ONLY), whose code is the transfer's."""
    if receiving.contract is not None:
        return receiving.contract
    assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
    right = Right(id=receiving.id, type="contract", holder_code=t.to_household, collective_code=t.collective_code,
                  county_code=t.county_code, start=on, end=giver.end, acquisition="transfer", valid_from=on,
                  ledger_seq=seq)
    s.add(right)
    s.flush()
    return right


#: The issuer's answer and a payment read and write the transfer as rows: statements built once, no ORM unit of
#: work (they were half of these requests' time).
_TRANSFERS = Transfer.__table__
_TRANSFER_ROW = select(_TRANSFERS).where(_TRANSFERS.c.county_code == bindparam("county_code"),
                                         _TRANSFERS.c.id == bindparam("id"))
_TRANSFER_ROW_LOCKED = _TRANSFER_ROW.with_for_update(key_share=True)
_ADD_PAYMENT = insert(TransferPayment)
#: The completion's own reads, built once as well.
_MOVING = select(TransferParcel.parcel_code, TransferParcel.right_id).where(
    TransferParcel.county_code == bindparam("county"), TransferParcel.transfer_id == bindparam("id"),
).order_by(TransferParcel.id)
_OPEN_LINKS = select(RightParcel).where(RightParcel.county_code == bindparam("county"),
                                        RightParcel.parcel_code.in_(bindparam("parcels", expanding=True)),
                                        RightParcel.valid_to.is_(None)).with_for_update(key_share=True)
_LINKS_LEFT = select(func.count()).select_from(RightParcel).where(RightParcel.county_code == bindparam("county"),
                                                                  RightParcel.right_id == bindparam("right"),
                                                                  RightParcel.valid_to.is_(None))
_SET_TRANSFER = update(Transfer).where(Transfer.county_code == bindparam("county"),
                                       Transfer.id == bindparam("transfer"))


def _open_transfer_row(s, actor: Principal, transfer_id: RowKey, lock: bool = False) -> SimpleNamespace:
    """The open transfer as a row whose fields the step may change and then save (:func:`_save_transfer`)."""
    row = s.connection().execute(_TRANSFER_ROW_LOCKED if lock else _TRANSFER_ROW, transfer_id._asdict()).first()
    return _open(actor, transfer_id, row and SimpleNamespace(**row._mapping))


def _save_transfer(s, t: SimpleNamespace, *fields: str) -> None:
    s.connection().execute(_SET_TRANSFER, {"county": t.county_code, "transfer": t.id}
                           | {f: getattr(t, f) for f in fields})


def _open(actor: Principal, transfer_id: RowKey, t):
    if t is None or not actor.sees(t.right_id):
        raise NotFound("流转", "Transfer", transfer_id)
    if t.status not in OPEN_STATUSES:
        raise RuleViolation("TRANSFER_CLOSED", details={"status": t.status})
    return t


def _open_transfer(s, actor: Principal, transfer_id: RowKey, lock: bool = False) -> Transfer:
    return _open(actor, transfer_id, county_row(s, Transfer, transfer_id, lock=lock))
