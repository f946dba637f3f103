"""Settlements, and voluntary paid transfers, exchanges and exits of rights within the collective.

The guarantee (RULES.md §0): recording a settlement changes, restricts and flags
nothing; no transfer or exit may carry any link to a settlement; every one
carries the holder's own signed, voluntary consent and is paid. Nothing in
this module ends a right or a membership because someone settled in a city:
rights move only when a transfer the holder signed is completed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork
from app.errors import DomainError, NotFound, RuleViolation
from app.holds import services as holds
from app.ledger import services as ledger
from app.ledger.models import LedgerEntry, LedgerSubject
from app.parties.models import Household, Membership, Person
from app.parties.services import REGISTRY_WRITERS, require_role, visible_document
from app.rights.models import CODE_LENGTH, ID_SUFFIX, HouseDisposal, Right, RightParcel, RightShares, right_code
from app.rights.services import (
    allocated_shares,
    check_no_new_land_after_return,
    find_right,
    next_right_id,
    open_contract,
    open_plan,
    recognised_members,
    right_view,
    rights_under,
)
from app.transfers import rules
from app.transfers.models import (
    OPEN_STATUSES,
    ManagementRight,
    ManagementRightParcel,
    Settlement,
    Transfer,
    TransferParcel,
    TransferPayment,
)

#: The exchange desk writes transfers; clerks and admins may too.
TRANSFER_WRITERS = REGISTRY_WRITERS | {"exchange"}
#: Which kinds move which rights: 互换 and 出租/入股 are for contract land (农村土地承包法 第三十三、三十六条);
#: a homestead and income shares are transferred within the collective or given back.
LAWFUL_KINDS = {("transfer", "contract"), ("exchange", "contract"), ("exit", "contract"), ("lease", "contract"),
             ("share_in", "contract"),
             ("transfer", "homestead"), ("exit", "homestead"), ("transfer", "income_share"), ("exit", "income_share")}
#: 农村土地承包法 第三十条: written notice half a year before the return.


@dataclass(frozen=True)
class TransferPolicy:
    #: days the issuer has to answer a transfer request before silence counts as no objection
    #: (司法解释 第十三条: no answer does not void the transfer).
    issuer_answer_days: int = 30


# --- settlements ----------------------------------------------------------------------------

def record_settlement(uow: UnitOfWork, *, actor: Principal, person_id: int, settled_on: dt.date, city_code: str,
                      hukou_ref: str | None = None) -> dict:
    """Record that a member settled in a city, and answer which rights the household keeps (all of them).

    Nothing else happens: no right, membership or share is ended, restricted or flagged
    (农村土地承包法 第二十七条; 土地管理法实施条例 第三十六条; 国发〔2014〕25号).

    Raises:
        NotFound: the person is unknown or outside the actor's scope.
        RuleViolation: DATE_ORDER for a settlement in the future.
    """
    require_role(actor, TRANSFER_WRITERS)
    if settled_on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="落户日期晚于今天", reason_en="settled_on is in the future")
    with uow:
        s = uow.session
        person = s.get(Person, person_id)
        if person is None or not actor.sees(person.household_code):
            raise NotFound("人员", "Person", person_id)
        settlement = Settlement(person_id=person.id, household_code=person.household_code,
                                county_code=person.county_code, settled_on=settled_on, city_code=city_code,
                                hukou_ref=hukou_ref, ledger_seq=0)
        s.add(settlement)
        s.flush()
        retained = _retained(s, actor, person)
        settlement.ledger_seq = ledger.append(
            s, county=person.county_code, kind="settlement.recorded", actor=actor,
            subjects=[person.household_code, f"settlement:{settlement.id}"],
            data={"settlement": settlement.id, "person": person.id, "household": person.household_code,
                  "settled_on": settled_on.isoformat(), "city_code": city_code, "hukou_ref": hukou_ref,
                  "rights_retained": [r["id"] for r in retained["rights"]],
                  "membership_retained": retained["membership"]})
        view = settlement_view(settlement) | {"rights_retained": retained["rights"],
                                               "membership_retained": retained["membership"]}
        uow.commit()
    return view


def _retained(s, actor: Principal, person: Person) -> dict:
    rights = s.scalars(select(Right).where(Right.holder_code == person.household_code, Right.valid_to.is_(None))
                       .order_by(Right.id)).all()
    member = s.scalar(select(func.count()).select_from(Membership).where(
        Membership.person_id == person.id, Membership.valid_to.is_(None))) > 0
    summary = [{"id": r.id, "type": r.type, "parcels": [p["code"] for p in v["parcels"]],
                "shares": v["shares"]} for r in rights for v in [right_view(s, r, actor, as_of=None)]]
    return {"rights": summary, "membership": member}


def settlement_view(x: Settlement) -> dict:
    return {"id": x.id, "person": x.person_id, "household": x.household_code, "settled_on": x.settled_on,
            "city_code": x.city_code, "hukou_ref": x.hukou_ref, "ledger_seq": x.ledger_seq}


# --- transfers ------------------------------------------------------------------------------

def create_transfer(uow: UnitOfWork, *, actor: Principal, kind: str, right: str, price: Decimal,
                    from_: str, consent: dict | None = None, to: str | dict | None = None,
                    counter_consent: dict | None = None,
                    parcels: list[str] | None = None,
                    shares: Decimal | None = None, counter_right: str | None = None, term_end: dt.date | None = None,
                    notice_given_on: dt.date | None = None, condition_of_settlement: bool | None = None,
                    settlement: int | None = None) -> dict:
    """Open a voluntary, paid transfer of (part of) a right, signed by its holder.

    Raises:
        RuleViolation: NO_SURRENDER_CONDITION (any link to a settlement), CONSENT_REQUIRED, RIGHT_NOT_HELD,
            PARCEL_NOT_IN_RIGHT, SAME_COLLECTIVE_ONLY, PRICE_REQUIRED, CONTRACT_TERM_MISMATCH,
            NO_NEW_LAND_AFTER_RETURN (the recipient returned contract land in the term, 第三十条),
            RIGHT_IN_DISPUTE, RIGHT_BUSY (409: another open transfer holds the right or a parcel), DATE_ORDER,
            TRANSFER_KIND_NOT_LAWFUL, RECIPIENT_IS_HOLDER, EXCHANGE_ONE_SIDED.
        NotFound: the right, a household, a person or the document is unknown or outside the scope.
    """
    require_role(actor, TRANSFER_WRITERS)
    if condition_of_settlement or settlement is not None:
        raise RuleViolation("NO_SURRENDER_CONDITION", details={
            "condition_of_settlement": condition_of_settlement, "settlement": settlement})
    if consent is None or consent.get("voluntary") is not True or consent.get("signed_by_person_id") is None:
        # 第二十七条; 土地管理法 第六十二条: the holder's own signed, voluntary consent, or nothing moves.
        missing = ["consent"] if consent is None else [
            k for k in ("signed_by_person_id", "voluntary") if consent.get(k) in (None, False)]
        raise RuleViolation("CONSENT_REQUIRED", details={"missing": missing})
    if consent["signed_on"] > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="同意书签署日期晚于今天",
                            reason_en="consent is dated in the future")
    if notice_given_on is not None and notice_given_on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="通知日期晚于今天", reason_en="notice_given_on is in the future")
    if price <= 0 and kind != "exchange":
        raise RuleViolation("PRICE_REQUIRED", details={"price": str(price)})
    with uow:
        s = uow.session
        held = find_right(s, actor, right)
        if held is None:
            raise NotFound("权利", "Right", right)
        if held.holder_code != from_ or held.valid_to is not None:
            raise RuleViolation("RIGHT_NOT_HELD", details={"household": from_, "right": right})
        if (kind, held.type) not in LAWFUL_KINDS:
            raise RuleViolation("TRANSFER_KIND_NOT_LAWFUL", details={"right_type": held.type, "kind": kind},
                                errors={"kind": [f"not a way to move a {held.type} right"]})
        signer = s.get(Person, consent["signed_by_person_id"])
        if signer is None or signer.household_code != held.holder_code:
            # Only the holder decides (第二十七条): a cadre, a buyer or a settlement office cannot sign for it.
            raise RuleViolation("CONSENT_REQUIRED", details={"signed_by_person_id": consent["signed_by_person_id"],
                                                             "holder": held.holder_code})
        document = visible_document(s, actor, consent.get("document"), attach_to=held.holder_code)
        party = to if isinstance(to, dict) else None
        if party is not None and kind not in ("lease", "share_in"):
            # 第三十三、三十四条: an exchange or a transfer stays in the collective; 第三十六条: a lease may go out.
            raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"kind": kind, "to": "outside party"},
                                errors={"to": ["a household code for this kind"]})
        recipient = None if party else _recipient(s, actor, kind, held, to)
        counter = _counter_right(s, actor, kind, held, counter_right, recipient)
        counter_signed = _counter_consent(s, actor, counter, counter_consent)
        moving = _moving_parcels(s, kind, held, counter, parcels)
        _management_terms(s, kind, held, term_end, consent["signed_on"], [code for code, _ in moving], party)
        _shares_movable(s, held, shares, recipient)
        if kind == "transfer":
            _recipient_may_hold(s, held, recipient.code, shares)
        holds.check_not_frozen(s, [held.code, *([counter.code] if counter else []), *(code for code, _ in moving)])
        holds.check_not_held(s, [held.id, *([counter.id] if counter else [])], [code for code, _ in moving])
        t = Transfer(kind=kind, right_id=held.id, county_code=held.county_code, collective_code=held.collective_code,
                     from_household=held.holder_code, to_household=recipient.code if recipient else None,
                     to_party=party,
                     counter_right_id=counter.id if counter else None, shares=shares, price=price,
                     term_end=term_end, notice_given_on=notice_given_on,
                     consent_person_id=signer.id, consent_signed_on=consent["signed_on"],
                     consent_document_id=document, counter_consent=counter_signed, status="pending",
                     created_by=actor.name, ledger_seq=0)
        s.add(t)
        s.flush()
        s.add_all(TransferParcel(transfer_id=t.id, parcel_code=code, right_id=right_id) for code, right_id in moving)
        holds.hold(s, t.id, [held.id, *([counter.id] if counter else [])], [code for code, _ in moving])
        # The county's log is locked last, so openings in one county queue only for the append and the commit.
        t.ledger_seq = ledger.append(s, county=t.county_code, kind="transfer.created", actor=actor,
                                     subjects=_subjects(t, moving), data=_entry(t, moving))
        view = transfer_view(s, t, parcels=[code for code, _ in moving], payments=[], management_right=None)
        uow.commit()
    return view


def _management_terms(s, kind: str, held: Right, term_end: dt.date | None, signed_on: dt.date,
                      parcels: list[str], party: dict | None) -> None:
    """Lease / share-in: a term within the contract's, land not already under a management right (第三十八条)."""
    if kind not in ("lease", "share_in"):
        if term_end is not None or party is not None:
            raise DomainError("经营期限和外部受让方只用于出租、入股", "term_end and an outside party are for lease and "
                              "share_in only", status=422, errors={"term_end": ["only for lease and share_in"]})
        return
    if term_end is None:
        raise DomainError("请给出经营权期限", "give the management right's term_end", status=422,
                          errors={"term_end": ["required for lease and share_in"]})
    if term_end <= signed_on:
        raise RuleViolation("DATE_ORDER", reason_zh="经营期限在开始之前就已结束",
                            reason_en="the term ends before it starts")
    if term_end > held.end:
        raise RuleViolation("TERM_EXCEEDS_CONTRACT", details={"term_end": term_end.isoformat(),
                                                              "contract_end": held.end.isoformat()})
    _not_managed(s, parcels, signed_on)


def _not_managed(s, parcels: list[str], on: dt.date) -> None:
    taken = s.execute(select(ManagementRightParcel.parcel_code, ManagementRightParcel.management_right_id).where(
        ManagementRightParcel.parcel_code.in_(parcels), ManagementRightParcel.end >= on)).all()
    if taken:
        raise RuleViolation("RIGHT_BUSY", details={"management_rights": [{"parcel": p, "management_right": m}
                                                                          for p, m in taken]})


def _recipient(s, actor: Principal, kind: str, held: Right, to: str | None) -> Household | None:
    if kind == "exit":
        if to is not None:
            raise DomainError("退出时权利交回集体，不填受让方",
                              "an exit returns the right to the collective: omit `to`",
                              status=422, errors={"to": ["must be omitted for an exit"]})
        return None
    if to is None:
        raise DomainError("请填写受让农户", "give the receiving household (`to`)", status=422,
                          errors={"to": ["required for this kind"]})
    household = s.get(Household, to) if actor.sees(to) else None
    if household is None:
        raise NotFound("受让农户", "Household", to)
    if household.code == held.holder_code:
        raise RuleViolation("RECIPIENT_IS_HOLDER", details={"household": household.code},
                            errors={"to": ["the holder itself"]})
    if household.collective_code != held.collective_code and kind not in ("lease", "share_in"):
        # 第三十三、三十四条; a management right may go to anyone able to farm (第三十六条)
        raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"from": held.collective_code,
                                                             "to": household.collective_code})
    return household


def _counter_right(s, actor: Principal, kind: str, held: Right, counter_right: str | None,
                   recipient: Household | None) -> Right | None:
    if kind != "exchange":
        if counter_right is not None:
            raise DomainError("只有互换才有对方权利", "counter_right is for exchanges only", status=422,
                              errors={"counter_right": ["only for kind exchange"]})
        return None
    counter = find_right(s, actor, counter_right) if counter_right else None
    if counter is None:
        raise NotFound("对方权利", "Right", counter_right)
    if counter.holder_code != recipient.code or counter.valid_to is not None or counter.type != held.type:
        raise RuleViolation("RIGHT_NOT_HELD", details={"household": recipient.code, "right": counter_right})
    return counter


def _counter_consent(s, actor: Principal, counter: Right | None, consent: dict | None) -> dict | None:
    """An exchange gives the other household's land away too: it signs for itself (第二十七、三十三条)."""
    if counter is None:
        if consent is not None:
            raise DomainError("只有互换需要对方同意书", "counter_consent is for exchanges only", status=422,
                              errors={"counter_consent": ["only for kind exchange"]})
        return None
    signer = s.get(Person, consent["signed_by_person_id"]) if consent and consent.get("signed_by_person_id") else None
    if consent is None or consent.get("voluntary") is not True or signer is None \
            or signer.household_code != counter.holder_code:
        raise RuleViolation("CONSENT_REQUIRED", details={"counter_right": counter.id,
                                                         "holder": counter.holder_code})
    if consent["signed_on"] > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="对方同意书签署日期晚于今天",
                            reason_en="the counterpart's consent is dated in the future")
    return {"signed_by_person_id": signer.id, "signed_on": consent["signed_on"].isoformat(),
            "document": visible_document(s, actor, consent.get("document"), attach_to=counter.holder_code),
            "voluntary": True}


def _moving_parcels(s, kind: str, held: Right, counter: Right | None,
                    parcels: list[str] | None) -> list[tuple[str, str]]:
    """(parcel, the right it is under now) for every parcel the transfer moves.

    Contract land: the parcels listed. A homestead moves whole, with its plot. Income shares have no land.
    """
    if held.type == "income_share":
        if parcels:
            raise DomainError("收益分配权没有地块", "income shares have no parcels", status=422,
                              errors={"parcels": ["not for income shares"]})
        return []
    if held.type == "homestead":
        plot = s.scalar(select(RightParcel.parcel_code).where(RightParcel.right_id == held.id,
                                                              RightParcel.valid_to.is_(None)))
        if parcels and parcels != [plot]:
            raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={"parcels": parcels, "rights": [held.id]})
        return [(plot, held.id)]
    if not parcels:
        raise DomainError("请列出流转的地块", "list the parcels that move", status=422,
                          errors={"parcels": ["at least one parcel"]})
    if len(set(parcels)) != len(parcels):
        raise DomainError("同一地块在请求中出现两次", "the same parcel appears twice", status=422,
                          errors={"parcels": ["duplicate codes"]})
    rights = [held.id, *([counter.id] if counter else [])]
    under = dict(s.execute(select(RightParcel.parcel_code, RightParcel.right_id).where(
        RightParcel.right_id.in_(rights), RightParcel.parcel_code.in_(parcels), RightParcel.valid_to.is_(None))).all())
    outside = [p for p in parcels if p not in under]
    if outside:
        raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={"parcels": outside, "rights": rights})
    if counter is not None and len(set(under.values())) < 2:
        raise RuleViolation("EXCHANGE_ONE_SIDED", details={"rights": rights},
                            errors={"parcels": ["parcels of both rights"]})
    return [(p, under[p]) for p in parcels]


def _shares_movable(s, held: Right, shares: Decimal | None, recipient: Household | None) -> None:
    """Income shares: a positive number, whole where the plan says so, no more than are held."""
    if held.type != "income_share":
        if shares is not None:
            raise DomainError("只有收益分配权按份额流转", "shares are for income-share rights only", status=422,
                              errors={"shares": ["only for income shares"]})
        return
    if shares is None:
        raise DomainError("请给出流转的份额", "give the shares that move", status=422,
                          errors={"shares": ["required for income shares"]})
    plan = open_plan(s, held.collective_code)
    if plan is not None and plan.whole_shares and shares != shares.to_integral_value():
        raise RuleViolation("SHARES_NOT_WHOLE", details={"shares": str(shares)})
    have = _holding(s, held.id)
    if shares > have:
        raise RuleViolation("SHARES_EXCEED_HOLDING", details={"held": str(have), "shares": str(shares)})


def _recipient_may_hold(s, held: Right, recipient: str, shares: Decimal | None, on: dt.date | None = None) -> None:
    """What the receiving household must be able to hold once the transfer completes (``on``, today if None)."""
    if held.type == "contract":
        # The land joins the recipient's one contract, which must run to the same end; a household without
        # one (never had one, or its last ended) takes a new contract for the rest of the giver's term
        # (第三十四条), unless it returned land in that term (第三十条).
        theirs = open_contract(s, recipient)
        if theirs is not None and theirs.end != held.end:
            raise RuleViolation("CONTRACT_TERM_MISMATCH", details={
                "right": theirs.id, "end": theirs.end.isoformat(), "transferred_end": held.end.isoformat()})
        check_no_new_land_after_return(s, recipient, max(held.start, on or dt.date.today()), held.end)
        return
    theirs = s.get(Right, recipient + ID_SUFFIX[held.type])
    if held.type == "homestead":
        # 实施条例 第三十五条: only to a household of the collective that has no homestead (第六十二条).
        if theirs is not None and theirs.valid_to is None:
            raise RuleViolation("ONE_HOMESTEAD_PER_HOUSEHOLD", details={"right": theirs.id})
        barred = theirs is not None or s.scalar(select(func.count()).select_from(HouseDisposal).where(
            HouseDisposal.household_code == recipient))
        if barred:
            raise RuleViolation("HOMESTEAD_REAPPLICATION_BARRED", details={"household": recipient})
    else:
        if not recognised_members(s, recipient):
            raise RuleViolation("NOT_A_MEMBER", details={"holder": recipient,
                                                         "reason": "no recognised member in the household"})
        plan = open_plan(s, held.collective_code)
        cap = None if plan is None else plan.max_holding_per_household
        after = (_holding(s, theirs.id) if theirs is not None and theirs.valid_to is None else 0) + shares
        if cap is not None and after > Decimal(str(cap)):
            raise RuleViolation("SHARE_HOLDING_CAP", details={"would_hold": str(after),
                                                              "max_holding_per_household": str(cap)})
        if theirs is not None and theirs.valid_to is not None:
            raise RuleViolation("RIGHT_NOT_ACTIVE", details={"right": theirs.id})


def _holding(s, right_id: str) -> Decimal:
    held = s.scalar(select(RightShares.shares).where(RightShares.right_id == right_id, RightShares.valid_to.is_(None)))
    return Decimal(str(held or 0))


def _subjects(t: Transfer, moving: list[tuple[str, str]]) -> list[str]:
    return [f"transfer:{t.id}", t.right_id, t.from_household, *([t.to_household] if t.to_household else []),
            *([t.counter_right_id] if t.counter_right_id else []), *(code for code, _ in moving)]


def _entry(t: Transfer, moving: list[tuple[str, str]]) -> dict:
    return {"transfer": t.id, "kind": t.kind, "right": t.right_id, "from": t.from_household, "to": t.to_household,
            "to_party": t.to_party,
            "counter_right": t.counter_right_id, "parcels": [{"code": c, "right": r} for c, r in moving],
            "shares": None if t.shares is None else str(t.shares), "price": str(t.price),
            "term_end": _iso(t.term_end), "notice_given_on": _iso(t.notice_given_on),
            "consent": {"signed_by_person_id": t.consent_person_id, "signed_on": t.consent_signed_on.isoformat(),
                        "document": t.consent_document_id, "voluntary": True},
            "counter_consent": t.counter_consent}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def decide_issuer_consent(uow: UnitOfWork, *, actor: Principal, transfer_id: int, decision: str,
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
        t = _open_transfer(s, actor, transfer_id)
        if t.kind != "transfer":
            raise RuleViolation("ISSUER_CONSENT_NOT_REQUIRED", details={"kind": t.kind},
                                errors={"decision": [f"not for kind {t.kind}"]})
        if decided_on > dt.date.today() or decided_on < t.created_at.date():
            raise RuleViolation("DATE_ORDER", reason_zh="决定日期不在申请之后、今天之前",
                                reason_en="the decision must fall between the request and today")
        t.issuer_decision = decision if decision == "granted" or grounds else "refused_without_grounds"
        t.issuer_decided_on, t.issuer_grounds = decided_on, grounds
        if t.issuer_decision == "refused":
            t.status = "refused"
            holds.release(s, t.id)
        else:
            t.status = rules.status_after_payment(t.kind, t.issuer_decision, t.price, _paid(s, t))
        ledger.append(s, county=t.county_code, kind="transfer.issuer_decided", actor=actor,
                      subjects=[f"transfer:{t.id}", t.right_id],
                      data={"transfer": t.id, "decision": t.issuer_decision, "grounds": grounds,
                            "decided_on": decided_on.isoformat()})
        view = transfer_view(s, t)
        uow.commit()
    return view


def add_payment(uow: UnitOfWork, *, actor: Principal, transfer_id: int, amount: Decimal, paid_on: dt.date,
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
        t = _open_transfer(s, actor, transfer_id, lock=True)
        if paid_on < t.consent_signed_on:
            raise RuleViolation("DATE_ORDER", reason_zh=f"付款日期早于权利人签署同意之日 {t.consent_signed_on}",
                                reason_en=f"paid_on is before the holder consented on {t.consent_signed_on}",
                                details={"paid_on": paid_on.isoformat(),
                                         "consent_signed_on": t.consent_signed_on.isoformat()})
        total = _paid(s, t) + amount
        if total > t.price:
            raise RuleViolation("PAYMENT_EXCEEDS_PRICE", details={"total": str(total), "price": str(t.price)})
        head = ledger.lock_log(s, t.county_code)
        s.add(TransferPayment(transfer_id=t.id, amount=amount, paid_on=paid_on, reference=reference,
                              ledger_seq=head.size + 1))  # the entry appended below
        ledger.append(s, county=t.county_code, kind="transfer.payment_recorded", actor=actor,
                      subjects=[f"transfer:{t.id}", t.right_id],
                      data={"transfer": t.id, "amount": str(amount), "paid_on": paid_on.isoformat(),
                            "reference": reference, "total_paid": str(total), "price": str(t.price)}, head=head)
        t.status = rules.status_after_payment(t.kind, t.issuer_decision, t.price, total)
        view = transfer_view(s, t)
        uow.commit()
    return view


def withdraw_transfer(uow: UnitOfWork, *, actor: Principal, transfer_id: int) -> dict:
    """Withdraw an open transfer: it ends, the right and parcels are free again, nothing moved.

    Raises:
        RuleViolation: TRANSFER_CLOSED.
    """
    require_role(actor, TRANSFER_WRITERS)
    with uow:
        s = uow.session
        t = _open_transfer(s, actor, transfer_id)
        t.status = "withdrawn"
        holds.release(s, t.id)
        ledger.append(s, county=t.county_code, kind="transfer.withdrawn", actor=actor,
                      subjects=[f"transfer:{t.id}", t.right_id], data={"transfer": t.id})
        view = transfer_view(s, t)
        uow.commit()
    return view


def complete_transfer(uow: UnitOfWork, *, actor: Principal, policy: TransferPolicy, transfer_id: int,
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
        moving = [(p.parcel_code, p.right_id) for p in s.scalars(
            select(TransferParcel).where(TransferParcel.transfer_id == t.id).order_by(TransferParcel.id))]
        if t.consent_signed_on > on:
            raise RuleViolation("DATE_ORDER", reason_zh="同意书签署日期晚于完成日期",
                                reason_en="the consent is dated after the completion")
        held = s.get(Right, t.right_id)
        if on < held.start or (held.end is not None and on > held.end):
            raise RuleViolation("DATE_ORDER", reason_zh="完成日期不在承包期内", reason_en="completion lies outside the "
                                "contract term", details={"start": held.start.isoformat(), "end": held.end.isoformat()})
        if t.kind == "transfer":
            _issuer_consent_given(t, policy, on)
            _recipient_may_hold(s, held, t.to_household, None if t.shares is None else Decimal(str(t.shares)), on)
        if held.type == "income_share":
            _shares_movable(s, held, Decimal(str(t.shares)), None)
        paid = _paid(s, t)
        if paid < t.price:
            raise RuleViolation("PAYMENT_REQUIRED", details={"paid": str(paid), "price": str(t.price)})
        if t.kind == "exit" and held.type == "contract" and not rules.notice_in_time(t.notice_given_on, on):
            raise RuleViolation("EXIT_NOTICE_PERIOD", details={"notice_given_on": _iso(t.notice_given_on),
                                                               "completed_on": on.isoformat()})
        holds.check_not_frozen(s, [held.code, *([right_code(t.counter_right_id)] if t.counter_right_id else []),
                        *(code for code, _ in moving)])
        # 转让 of land: the contract the parcels join, named in the entry (a new one may be the household's n-th);
        # read under the county log's lock, so two completions for one recipient agree on it
        receiving = None
        if t.kind == "transfer" and held.type == "contract":
            ledger.lock_log(s, t.county_code)
            receiving = _receiving_contract_id(s, t)
        seq = ledger.append(s, county=t.county_code, kind="transfer.completed", actor=actor,
                            subjects=_subjects(t, moving) + ([receiving] if receiving else []),
                            data=_entry(t, moving) | {"completed_on": on.isoformat(), "paid": str(paid),
                                                      "issuer_decision": t.issuer_decision}
                            | ({"to_right": receiving} if receiving else {}))
        _move(s, t, moving, on, seq)
        t.status, t.completed_on = "completed", on
        holds.release(s, t.id)
        s.flush()
        view = transfer_view(s, t, parcels=[code for code, _ in moving])
        uow.commit()
    return view


def _issuer_consent_given(t: Transfer, policy: TransferPolicy, on: dt.date) -> None:
    if rules.issuer_consent_given(t.kind, t.issuer_decision):
        return
    if rules.issuer_silent_too_long(t.created_at.date(), on, policy.issuer_answer_days):
        t.issuer_decision = "no_answer"  # silence past the period does not block (司法解释 第十三条)
        return
    raise RuleViolation("ISSUER_CONSENT_REQUIRED", details={"answer_within_days": policy.issuer_answer_days})


def _move(s, t: Transfer, moving: list[tuple[str, str]], on: dt.date, seq: int) -> None:
    """Make the transfer's legal effect: land, a homestead or shares change hands or go back."""
    giver = s.get(Right, t.right_id)
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
    links = {link.parcel_code: link for link in s.scalars(select(RightParcel).where(
        RightParcel.parcel_code.in_(codes), RightParcel.valid_to.is_(None)).with_for_update())}
    for link in links.values():
        link.valid_to, link.end_ledger_seq = on, seq
    s.flush()  # the partial unique index allows one open link per parcel: close before opening
    if t.kind == "transfer":
        target = _receiving_contract(s, t, on, seq)
        s.add_all(RightParcel(right_id=target.id, parcel_code=c, county_code=t.county_code, valid_from=on,
                              contract_area_m2=links[c].contract_area_m2, ledger_seq=seq) for c in codes)
    elif t.kind == "exchange":
        other = {t.right_id: t.counter_right_id, t.counter_right_id: t.right_id}
        s.add_all(RightParcel(right_id=other[r], parcel_code=c, county_code=t.county_code, valid_from=on,
                              contract_area_m2=links[c].contract_area_m2, ledger_seq=seq) for c, r in moving)
    s.flush()
    if t.kind in ("transfer", "exit"):
        left = s.scalar(select(func.count()).select_from(RightParcel).where(
            RightParcel.right_id == giver.id, RightParcel.valid_to.is_(None)))
        if not left:  # 第三十四条: the giver's contract for that land ends with it
            giver.valid_to = on


def _grant_management(s, t: Transfer, parcels: list[str], on: dt.date, seq: int) -> None:
    """The household keeps its contract; the recipient gains the management right for the term."""
    if t.term_end < on:
        raise RuleViolation("DATE_ORDER", reason_zh="经营期限在完成日之前已结束", reason_en="the term ended before "
                            "completion")
    _not_managed(s, parcels, on)
    household = s.get(Household, t.to_household) if t.to_household else None
    head = household.members[0] if household and household.members else None
    party = t.to_party or {}
    right = ManagementRight(transfer_id=t.id, contract_right_id=t.right_id, county_code=t.county_code, kind=t.kind,
                            holder_household=t.to_household, holder_name=party.get("name") or (head and head.name) or
                            t.to_household, holder_id_number=party.get("id_number"),
                            holder_credit_code=party.get("credit_code"), start=on, end=t.term_end, ledger_seq=seq)
    s.add(right)
    s.flush()
    s.add_all(ManagementRightParcel(management_right_id=right.id, parcel_code=p, end=t.term_end) for p in parcels)


def _move_homestead(s, t: Transfer, giver: Right, plot: str, on: dt.date, seq: int) -> None:
    """The homestead and its plot go to the recipient, or (exit) back to the collective for its members."""
    link = s.scalar(select(RightParcel).where(RightParcel.right_id == giver.id, RightParcel.valid_to.is_(None))
                    .with_for_update())
    link.valid_to, link.end_ledger_seq = on, seq
    giver.valid_to = on  # the household has given its homestead up: 第六十二条 bars a new one
    s.flush()
    if t.kind == "transfer":
        household = s.get(Household, t.to_household)
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
    left = _rehold(s, giver, _holding(s, giver.id) - moving, on, seq)
    if not left:
        giver.valid_to = on
    if t.kind == "transfer":
        household = s.get(Household, t.to_household)
        theirs = s.get(Right, household.code + ID_SUFFIX["income_share"])
        if theirs is None:
            theirs = Right(id=household.code + ID_SUFFIX["income_share"], type="income_share",
                           holder_code=household.code, collective_code=household.collective_code,
                           county_code=household.county_code, start=on, acquisition="transfer", valid_from=on,
                           ledger_seq=seq)
            s.add(theirs)
            s.flush()
        _rehold(s, theirs, _holding(s, theirs.id) + moving, on, seq)


def _rehold(s, right: Right, shares: Decimal, on: dt.date, seq: int) -> Decimal:
    """Close the right's current holding and open one of ``shares`` (none when zero)."""
    current = s.scalar(select(RightShares).where(RightShares.right_id == right.id, RightShares.valid_to.is_(None))
                       .with_for_update())
    if current is not None:
        current.valid_to = on
    if shares > 0:
        s.add(RightShares(right_id=right.id, county_code=right.county_code, shares=shares, valid_from=on,
                          ledger_seq=seq))
    s.flush()
    return shares


def _receiving_contract_id(s, t: Transfer) -> str:
    """The id of the contract a 转让's parcels join: the recipient's contract in force, else its next one."""
    theirs = open_contract(s, t.to_household)
    return theirs.id if theirs is not None else next_right_id(s, t.to_household + ID_SUFFIX["contract"])


def _receiving_contract(s, t: Transfer, on: dt.date, seq: int) -> Right:
    giver = s.get(Right, t.right_id)
    theirs = open_contract(s, t.to_household, lock=True)
    if theirs is not None:
        if theirs.end != giver.end:
            raise RuleViolation("CONTRACT_TERM_MISMATCH", details={"right": theirs.id})
        return theirs
    household = s.get(Household, t.to_household)
    right = Right(id=next_right_id(s, household.code + ID_SUFFIX["contract"]), type="contract",
                  holder_code=household.code,
                  collective_code=household.collective_code, county_code=household.county_code, start=on,
                  end=giver.end, acquisition="transfer", valid_from=on, ledger_seq=seq)
    s.add(right)
    s.flush()
    return right


# --- voiding: a transfer an award found made under duress -----------------------------------

def void_transfer(s: Session, *, actor: Principal, transfer_id: int, on: dt.date, grounds: str, cause: dict) -> int:
    """Void a transfer an award found made under duress (民法典 第一百五十条): as if it had never been made.

    Runs inside the caller's transaction (no commit): the dispute that ordered it checks the role,
    commits, and has frozen the subjects, so no freeze is checked here. An open transfer ends and frees
    its right and parcels, as a withdrawal does. A completed one is undone as of ``on``, the exact
    inverse of its completion: 转让 and 交回 of land: the parcels leave the recipient's contract (or the
    collective) and rejoin the giver's, which reopens if it had ended; a contract the transfer created
    and that is left without land ends. 互换: the parcels swap back. 出租/入股: the management right's
    last day becomes the day before ``on``. Income shares go back from the recipient's holding (or the
    collective's unallocated pool) to the giver's. A homestead: the giver's right reopens with its plot
    and the recipient's (created by the transfer) ends. Nothing changes when anything is refused.

    Args:
        s: the caller's session; its transaction commits or rolls back the void with the ledger entry.
        actor: who voids; the transfer's right must be inside the actor's scope.
        transfer_id: the transfer.
        on: the day the void takes effect (links close and reopen on it); not before completion, not in the future.
        grounds: the award's findings, as recorded in the entry.
        cause: JSON-ready reference to what ordered it (the dispute, the award), recorded in the entry.

    Returns:
        The ``seq`` of the ``transfer.voided`` ledger entry.

    Raises:
        NotFound: the transfer is unknown or outside the actor's scope.
        RuleViolation: TRANSFER_CLOSED (withdrawn, refused or voided already); DATE_ORDER (``on`` in the
            future, before the completion, or before a holding it would close began);
            PARCEL_NOT_IN_RIGHT (the registry moved on: a parcel was transferred again, returned, or is
            under another right, or the giver's contract ended and the household holds a later one);
            SHARES_EXCEED_HOLDING (the recipient, or for an exit the collective's unallocated pool, no
            longer holds the shares); RIGHT_BUSY (an open transfer, or a management
            right granted since, holds a parcel that would go back).
    """
    t = s.get(Transfer, transfer_id, with_for_update=True)
    if t is None or not actor.sees(t.right_id):
        raise NotFound("流转", "Transfer", transfer_id)
    if t.status not in (*OPEN_STATUSES, "completed"):
        raise RuleViolation("TRANSFER_CLOSED", details={"status": t.status})
    if on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="撤销日期晚于今天", reason_en="the void is dated in the future")
    moving = [(p.parcel_code, p.right_id) for p in s.scalars(
        select(TransferParcel).where(TransferParcel.transfer_id == t.id).order_by(TransferParcel.id))]
    was = t.status
    undo = _Undo()
    if was == "completed":
        if on < t.completed_on:
            raise RuleViolation("DATE_ORDER", reason_zh="撤销日期早于流转完成日期", reason_en="the void is dated "
                                "before the completion", details={"completed_on": t.completed_on.isoformat()})
        undo = _undo_plan(s, t, moving, on)
    seq = ledger.append(s, county=t.county_code, kind="transfer.voided", actor=actor, subjects=_subjects(t, moving),
                        data={"transfer": t.id, "kind": t.kind, "right": t.right_id, "from": t.from_household,
                              "to": t.to_household, "counter_right": t.counter_right_id,
                              "shares": None if t.shares is None else str(t.shares), "status_before": was,
                              "completed_on": _iso(t.completed_on), "on": on.isoformat(), "grounds": grounds,
                              "cause": cause, **undo.entry()})
    if was == "completed":
        _unmove(s, t, undo, on, seq)
    else:
        holds.release(s, t.id)
    t.status = "voided"
    s.flush()
    return seq


@dataclass
class _Undo:
    """What voiding a completed transfer changes, worked out and checked before anything changes."""

    #: (parcel, the open link it leaves or None, the right it returns to, its contract area)
    links: list[tuple[str, RightParcel | None, str, float | None]] = field(default_factory=list)
    #: (income-share right, the holding it will have)
    holdings: list[tuple[Right, Decimal]] = field(default_factory=list)
    reopen: list[Right] = field(default_factory=list)
    end: list[Right] = field(default_factory=list)
    management: ManagementRight | None = None

    def entry(self) -> dict:
        """The facts the ledger entry records, so the replay redoes exactly this."""
        return {"links": [{"parcel": c, "from": left.right_id if left else None, "to": back}
                          for c, left, back, _ in self.links],
                "holdings": [{"right": r.id, "shares": str(n)} for r, n in self.holdings],
                "reopened": [r.id for r in self.reopen], "ended": [r.id for r in self.end],
                "management_right": self.management.id if self.management else None}


def _completion_seq(s, t: Transfer) -> int:
    """The ``seq`` of the entry that completed ``t``: the rows its completion wrote carry it."""
    return s.scalar(select(LedgerEntry.seq).join(LedgerSubject, and_(
        LedgerSubject.log == LedgerEntry.log, LedgerSubject.seq == LedgerEntry.seq)).where(
        LedgerSubject.log == t.county_code, LedgerSubject.subject == f"transfer:{t.id}",
        LedgerEntry.kind == "transfer.completed"))


def _undo_plan(s, t: Transfer, moving: list[tuple[str, str]], on: dt.date) -> _Undo:
    """The inverse of :func:`_move` for ``t``, refused if the registry has moved on since the completion."""
    done = _completion_seq(s, t)
    giver = s.get(Right, t.right_id)
    if giver.type == "income_share":
        return _undo_shares(s, t, giver, on, done)
    if t.kind in ("lease", "share_in"):
        return _Undo(management=s.scalar(select(ManagementRight).where(ManagementRight.transfer_id == t.id)
                                         .with_for_update()))
    codes = [code for code, _ in moving]
    # Where the completion put each parcel: the recipient's right, the other side of an exchange, or nowhere.
    if t.kind == "transfer":  # the contract the completion's links joined (the recipient's n-th, maybe)
        went = dict.fromkeys(codes, s.scalar(select(RightParcel.right_id).where(
            RightParcel.county_code == t.county_code, RightParcel.ledger_seq == done,
            RightParcel.parcel_code.in_(codes)).limit(1)) or t.to_household + ID_SUFFIX[giver.type])
    elif t.kind == "exchange":
        other = {t.right_id: t.counter_right_id, t.counter_right_id: t.right_id}
        went = {code: other[right] for code, right in moving}
    else:
        went = dict.fromkeys(codes)
    now = {link.parcel_code: link for link in s.scalars(select(RightParcel).where(
        RightParcel.parcel_code.in_(codes), RightParcel.valid_to.is_(None)).with_for_update())}
    # Each parcel must still be where the completion put it, by the link it wrote (not a later one).
    found = {c: (link.right_id, link.ledger_seq) for c, link in now.items()}
    moved_on = [c for c in codes if found.get(c) != (None if went[c] is None else (went[c], done))]
    if moved_on:
        raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={
            "parcels": moved_on, "rights": sorted({r for r in went.values() if r}),
            "now_under": {c: now[c].right_id if c in now else None for c in moved_on}})
    holds.check_not_held(s, [], codes)
    losing = sorted({r for r in went.values() if r})
    granted = s.execute(select(ManagementRightParcel.parcel_code, ManagementRightParcel.management_right_id).join(
        ManagementRight, ManagementRight.id == ManagementRightParcel.management_right_id).where(
        ManagementRightParcel.parcel_code.in_(codes), ManagementRightParcel.end >= on,
        ManagementRight.contract_right_id.in_(losing))).all() if losing else []
    if granted:
        raise RuleViolation("RIGHT_BUSY", details={"management_rights": [{"parcel": p, "management_right": m}
                                                                          for p, m in granted]})
    area = dict(s.execute(select(RightParcel.parcel_code, RightParcel.contract_area_m2).where(
        RightParcel.parcel_code.in_(codes), RightParcel.end_ledger_seq == done)).all())
    undo = _Undo(links=[(code, now.get(code), right, area.get(code)) for code, right in moving])
    undo.reopen = [r for r in (s.get(Right, x) for x in dict.fromkeys(right for _, right in moving))
                   if r.valid_to is not None]
    for right in undo.reopen:
        later = open_contract(s, right.holder_code) if right.type == "contract" else None
        if later is not None:  # the household took a later contract since: the ended one cannot reopen
            raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={
                "parcels": [c for c, r in moving if r == right.id], "rights": [right.id],
                "reason": "the contract ended and the household holds a later one", "later_right": later.id})
    for right_id in losing:
        right = s.get(Right, right_id)
        keeps = s.scalar(select(func.count()).select_from(RightParcel).where(
            RightParcel.right_id == right_id, RightParcel.valid_to.is_(None), RightParcel.parcel_code.not_in(codes)))
        if right.ledger_seq == done and not keeps:  # created by the completion and left without land
            undo.end.append(right)
    return undo


def _undo_shares(s, t: Transfer, giver: Right, on: dt.date, done: int) -> _Undo:
    """The shares go back to the giver from the recipient's holding, or (exit) the collective's unallocated pool."""
    shares = Decimal(str(t.shares))
    undo = _Undo()
    if t.kind == "transfer":
        theirs = s.get(Right, t.to_household + ID_SUFFIX["income_share"])
        held = _holding(s, theirs.id) if theirs.valid_to is None else Decimal(0)
        if held < shares:
            raise RuleViolation("SHARES_EXCEED_HOLDING", details={"held": str(held), "shares": str(shares),
                                                                  "right": theirs.id})
        undo.holdings.append((theirs, held - shares))
        if held == shares and theirs.ledger_seq == done:  # created by the completion and left without shares
            undo.end.append(theirs)
    else:
        plan = open_plan(s, giver.collective_code)
        free = None if plan is None else Decimal(str(plan.total_shares)) - allocated_shares(s, giver.collective_code)
        if free is not None and free < shares:
            raise RuleViolation("SHARES_EXCEED_HOLDING", details={"held": str(free), "shares": str(shares),
                                                                  "collective": giver.collective_code})
    undo.holdings.append((giver, _holding(s, giver.id) + shares))
    if giver.valid_to is not None:
        undo.reopen.append(giver)
    began = s.execute(select(RightShares.right_id, RightShares.valid_from).where(
        RightShares.right_id.in_([r.id for r, _ in undo.holdings]), RightShares.valid_to.is_(None),
        RightShares.valid_from > on)).all()
    if began:
        raise RuleViolation("DATE_ORDER", reason_zh="撤销日期早于现有份额的起始日期", reason_en="the void is dated "
                            "before a current holding began", details={r: d.isoformat() for r, d in began})
    return undo


def _unmove(s, t: Transfer, undo: _Undo, on: dt.date, seq: int) -> None:
    """Apply a checked :class:`_Undo` as of ``on``."""
    for _, leaving, _, _ in undo.links:
        if leaving is not None:
            leaving.valid_to, leaving.end_ledger_seq = on, seq
    s.flush()  # one open link per parcel: close before opening
    s.add_all(RightParcel(right_id=back, parcel_code=code, county_code=t.county_code, valid_from=on,
                          contract_area_m2=area, ledger_seq=seq) for code, _, back, area in undo.links)
    for right, shares in undo.holdings:
        _rehold(s, right, shares, on, seq)
    for right in undo.reopen:
        right.valid_to = None
    for right in undo.end:
        right.valid_to = on
    if undo.management is not None:
        # ``end`` is inclusive, so a right that stops as of ``on`` last ran the day before (as a link
        # closed on ``on`` last held the parcel the day before); land is free for a new lease from ``on``.
        last = on - dt.timedelta(days=1)
        undo.management.end = min(undo.management.end, last)
        for p in s.scalars(select(ManagementRightParcel).where(
                ManagementRightParcel.management_right_id == undo.management.id)):
            p.end = min(p.end, last)
    s.flush()


def _paid(s, t: Transfer) -> Decimal:
    return Decimal(str(s.scalar(select(func.coalesce(func.sum(TransferPayment.amount), 0)).where(
        TransferPayment.transfer_id == t.id)))).quantize(Decimal("0.01"))


def _open_transfer(s, actor: Principal, transfer_id: int, lock: bool = False) -> Transfer:
    t = s.get(Transfer, transfer_id, with_for_update=lock)
    if t is None or not actor.sees(t.right_id):
        raise NotFound("流转", "Transfer", transfer_id)
    if t.status not in OPEN_STATUSES:
        raise RuleViolation("TRANSFER_CLOSED", details={"status": t.status})
    return t


def get_transfer(uow: UnitOfWork, *, actor: Principal, transfer_id: int) -> dict:
    with uow:
        t = uow.session.get(Transfer, transfer_id)
        if t is None or not actor.sees(t.right_id):
            raise NotFound("流转", "Transfer", transfer_id)
        return transfer_view(uow.session, t)


def list_transfers(uow: UnitOfWork, *, actor: Principal, right: str | None = None, household: str | None = None,
                   status: str | None = None, limit: int = 50, cursor: str | None = None) -> dict:
    with uow:
        s = uow.session
        q = select(Transfer).where(Transfer.right_id >= actor.scope, Transfer.right_id < actor.scope + ":")
        if right:  # a code names every contract of the household under it (``<code>-<n>``)
            ids = [right] + ([r.id for r in rights_under(s, right)] if len(right) == CODE_LENGTH else [])
            q = q.where(Transfer.right_id.in_(ids) | Transfer.counter_right_id.in_(ids))
        if household:
            q = q.where((Transfer.from_household == household) | (Transfer.to_household == household))
        if status:
            q = q.where(Transfer.status == status)
        if cursor:
            q = q.where(Transfer.id > int(cursor))
        rows = s.scalars(q.order_by(Transfer.id).limit(limit + 1)).all()
        items = [transfer_view(s, t) for t in rows[:limit]]
    return {"items": items, "next_cursor": str(rows[limit - 1].id) if len(rows) > limit else None}


_UNKNOWN = object()


def transfer_view(s, t: Transfer, *, parcels=None, payments=None, management_right=_UNKNOWN) -> dict:
    """A transfer as the API shows it; what the caller already holds is not read again."""
    if payments is None:
        payments = s.scalars(select(TransferPayment).where(TransferPayment.transfer_id == t.id)
                             .order_by(TransferPayment.id)).all()
    if parcels is None:
        parcels = s.scalars(select(TransferParcel.parcel_code).where(TransferParcel.transfer_id == t.id)
                            .order_by(TransferParcel.id)).all()
    if management_right is _UNKNOWN:  # only a completed (or since voided) lease or share-in has one
        granted = t.status in ("completed", "voided") and t.kind in ("lease", "share_in")
        management_right = s.scalar(select(ManagementRight.id).where(ManagementRight.transfer_id == t.id)) \
            if granted else None
    return {"id": t.id, "kind": t.kind, "status": t.status, "right": t.right_id, "from": t.from_household,
            "to": t.to_household, "counter_right": t.counter_right_id, "parcels": list(parcels),
            "shares": None if t.shares is None else str(t.shares), "price": str(t.price),
            "paid": str(sum((Decimal(str(p.amount)) for p in payments), Decimal("0.00"))),
            "payments": [{"amount": str(p.amount), "paid_on": p.paid_on, "reference": p.reference,
                          "ledger_seq": p.ledger_seq} for p in payments],
            "term_end": t.term_end, "notice_given_on": t.notice_given_on,
            "consent": {"signed_by_person_id": t.consent_person_id, "signed_on": t.consent_signed_on,
                        "document": t.consent_document_id, "voluntary": True},
            "counter_consent": t.counter_consent,
            "issuer": {"decision": t.issuer_decision, "decided_on": t.issuer_decided_on, "grounds": t.issuer_grounds},
            "to_party": t.to_party,
            "management_right": management_right,
            "completed_on": t.completed_on, "created_at": t.created_at, "ledger_seq": t.ledger_seq}
