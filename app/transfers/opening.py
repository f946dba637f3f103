"""Opening a voluntary, paid transfer, exchange, lease, share-in or exit of a right, signed by its holder.

The guarantee (docs/rules.md §0): no transfer or exit may carry any link to a settlement, and every one carries
the holder's own signed, voluntary consent and is paid. What a transfer would move is held until it closes
(:mod:`app.holds`).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, lazyload

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, coded, county_row
from app.errors import DomainError, NotFound, RuleViolation
from app.holds import services as holds
from app.ledger import services as ledger
from app.parties.models import Household, Person
from app.parties.services import REGISTRY_WRITERS, require_role, visible_document
from app.rights.models import ID_SUFFIX, HouseDisposal, Right, RightParcel, RightShares
from app.rights.services import (
    check_no_new_land_after_return,
    find_right,
    open_contract,
    open_plan,
    recognised_members,
)
from app.transfers.contracts import contract_terms
from app.transfers.models import ManagementRightParcel, Transfer, TransferParcel
from app.transfers.views import iso_day, transfer_view

#: The exchange desk writes transfers; clerks and admins may too.
TRANSFER_WRITERS = REGISTRY_WRITERS | {"exchange"}


#: Which kinds move which rights: 互换 and 出租/入股 are for contract land (农村土地承包法 第三十三、三十六条);
#: a homestead and income shares are transferred within the collective or given back.
LAWFUL_KINDS = {("transfer", "contract"), ("exchange", "contract"), ("exit", "contract"), ("lease", "contract"),
             ("share_in", "contract"),
             ("transfer", "homestead"), ("exit", "homestead"), ("transfer", "income_share"), ("exit", "income_share")}


# Statements built once (building and keying one per request cost about 0.1 ms each).
_PLOT = select(RightParcel.parcel_code).where(RightParcel.right_id == bindparam("right"),
                                              RightParcel.valid_to.is_(None))
_UNDER = select(RightParcel.parcel_code, RightParcel.right_id).where(
    RightParcel.county_code == bindparam("county"), RightParcel.right_id.in_(bindparam("rights", expanding=True)),
    RightParcel.parcel_code.in_(bindparam("parcels", expanding=True)), RightParcel.valid_to.is_(None))
_SHARES_HELD = select(RightShares.shares).where(RightShares.right_id == bindparam("right"),
                                                RightShares.valid_to.is_(None))
_MANAGED = select(ManagementRightParcel.parcel_code, ManagementRightParcel.county_code,
                  ManagementRightParcel.management_right_id).where(
    ManagementRightParcel.parcel_code.in_(bindparam("parcels", expanding=True)),
    ManagementRightParcel.end >= bindparam("on"))


def create_transfer(uow: UnitOfWork, *, actor: Principal, **request) -> dict:
    """Open a voluntary, paid transfer of (part of) a right, signed by its holder (:func:`open_transfer`'s
    arguments), in a transaction of its own.

    Raises:
        as :func:`open_transfer`; Forbidden for a role that does not write transfers.
    """
    require_role(actor, TRANSFER_WRITERS)
    with uow:
        t, moving = open_transfer(uow.session, actor=actor, **request)
        view = transfer_view(uow.session, t, parcels=[code for code, _ in moving], payments=[],
                             management_right=None)
        uow.commit()
    return view


def open_transfer(s: Session, *, actor: Principal, kind: str, right: str, price: Decimal,
                  from_: str, consent: dict | None = None, to: str | dict | None = None,
                  counter_consent: dict | None = None,
                  parcels: list[str] | None = None,
                  shares: Decimal | None = None, counter_right: str | None = None, term_end: dt.date | None = None,
                  notice_given_on: dt.date | None = None, terms: dict[str, str] | None = None,
                  condition_of_settlement: bool | None = None,
                  settlement: int | None = None) -> tuple[Transfer, list[tuple[str, str]]]:
    """Open a transfer in the caller's transaction (an award of the exchange desk opens its own this way):
    the transfer, held and recorded, and (parcel, right) of what it moves.

    Raises:
        RuleViolation: NO_SURRENDER_CONDITION (any link to a settlement), CONSENT_REQUIRED, RIGHT_NOT_HELD,
            PARCEL_NOT_IN_RIGHT, SAME_COLLECTIVE_ONLY, PRICE_REQUIRED, CONTRACT_TERM_MISMATCH,
            NO_NEW_LAND_AFTER_RETURN (the recipient returned contract land in the term, 第三十条),
            RIGHT_IN_DISPUTE, RIGHT_BUSY (409: another open transfer or listing holds the right or a parcel),
            DATE_ORDER, TRANSFER_KIND_NOT_LAWFUL, RECIPIENT_IS_HOLDER, EXCHANGE_ONE_SIDED.
        NotFound: the right, a household, a person or the document is unknown or outside the scope.
    """
    check_guarantee(consent, condition_of_settlement=condition_of_settlement, settlement=settlement)
    assert consent is not None  # check_guarantee refuses a request without one
    if notice_given_on is not None and notice_given_on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="通知日期晚于今天", reason_en="notice_given_on is in the future")
    if price <= 0 and kind != "exchange":
        raise RuleViolation("PRICE_REQUIRED", details={"price": str(price)})
    held = held_right(s, actor, right, from_, kind)
    signer, document = holder_signature(s, actor, held, consent)
    party = to if isinstance(to, dict) else None
    if party is not None and kind not in ("lease", "share_in"):
        # 第三十三、三十四条: an exchange or a transfer stays in the collective; 第三十六条: a lease may go out.
        raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"kind": kind, "to": "outside party"},
                            errors={"to": ["a household code for this kind"]})
    recipient = None if isinstance(to, dict) else _recipient(s, actor, kind, held, to)
    counter = _counter_right(s, actor, kind, held, counter_right, recipient)
    counter_signed = _counter_consent(s, actor, counter, counter_consent)
    moving = moving_parcels(s, kind, held, counter, parcels)
    check_management_terms(s, kind, held, term_end, consent["signed_on"], [code for code, _ in moving])
    check_shares_movable(s, held, shares, recipient)
    if kind == "transfer":
        assert recipient is not None, "a transfer names a household: the schema requires `to`, a party is refused"
        check_recipient_may_hold(s, held, recipient.code, shares)
    holds.check_not_frozen(s, [held.code, *([counter.code] if counter else []), *(code for code, _ in moving)])
    holds.check_not_held(s, [held.id, *([counter.id] if counter else [])], [code for code, _ in moving])
    t = Transfer(kind=kind, right_id=held.id, county_code=held.county_code, collective_code=held.collective_code,
                 from_household=held.holder_code, to_household=recipient.code if recipient else None,
                 to_party=party,
                 counter_right_id=counter.id if counter else None, shares=shares, price=price,
                 term_end=term_end, contract_terms=contract_terms(kind, terms), notice_given_on=notice_given_on,
                 consent_person_id=signer.id, consent_signed_on=consent["signed_on"],
                 consent_document_id=document, counter_consent=counter_signed, status="pending",
                 created_by=actor.name, ledger_seq=0)
    s.add(t)
    s.flush()
    s.add_all(TransferParcel(transfer_id=t.id, county_code=t.county_code, parcel_code=code, right_id=right_id)
              for code, right_id in moving)
    holds.hold(s, t.id, [held.id, *([counter.id] if counter else [])], [code for code, _ in moving])
    # The county's log is locked last, so openings in one county queue only for the append and the commit.
    t.ledger_seq = ledger.append(s, county=t.county_code, kind="transfer.created", actor=actor,
                                 subjects=entry_subjects(t, moving), data=entry_data(t, moving))
    return t, moving


def check_guarantee(consent: dict | None, *, condition_of_settlement: bool | None = None,
                    settlement: int | None = None) -> None:
    """The settlement guarantee (docs/rules.md §0) on a request to move a right: no link to a settlement, and
    the holder's own signed, voluntary consent, signed no later than today.

    Raises:
        RuleViolation: NO_SURRENDER_CONDITION, CONSENT_REQUIRED, DATE_ORDER.
    """
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


def held_right(s: Session, actor: Principal, right: str, holder: str | None, kind: str) -> Right:
    """The right in force that ``holder`` holds (any holder when None), if ``kind`` may move it.

    Raises:
        NotFound: the right is unknown or outside the scope.
        RuleViolation: RIGHT_NOT_HELD, TRANSFER_KIND_NOT_LAWFUL.
    """
    held = find_right(s, actor, right)
    if held is None:
        raise NotFound("权利", "Right", right)
    if (holder is not None and held.holder_code != holder) or held.valid_to is not None:
        raise RuleViolation("RIGHT_NOT_HELD", details={"household": holder or held.holder_code, "right": right})
    if (kind, held.type) not in LAWFUL_KINDS:
        raise RuleViolation("TRANSFER_KIND_NOT_LAWFUL", details={"right_type": held.type, "kind": kind},
                            errors={"kind": [f"not a way to move a {held.type} right"]})
    return held


def holder_signature(s: Session, actor: Principal, held: Right, consent: dict) -> tuple[Person, int | None]:
    """The member of the holding household who signed, and the stored consent document (if any).

    Raises:
        RuleViolation: CONSENT_REQUIRED when someone else signed.
        NotFound: the document is unknown or outside the scope.
    """
    signer = county_row(s, Person, consent["signed_by_person_id"])
    if signer is None or signer.household_code != held.holder_code:
        # Only the holder decides (第二十七条): a cadre, a buyer or a settlement office cannot sign for it.
        raise RuleViolation("CONSENT_REQUIRED", details={"signed_by_person_id": consent["signed_by_person_id"].public,
                                                         "holder": held.holder_code})
    return signer, visible_document(s, actor, consent.get("document"), attach_to=held.holder_code)


def check_management_terms(s, kind: str, held: Right, term_end: dt.date | None, signed_on: dt.date,
                      parcels: list[str]) -> None:
    """Lease / share-in: a term within the contract's, land not already under a management right (第三十八条)."""
    if kind not in ("lease", "share_in"):  # the schema gives these a term, and only these
        return
    assert term_end is not None, "TransferCreateSchema requires a term of a lease or share-in"
    assert held.end is not None, "a lease or share-in is of a contract, whose term has an end"
    if term_end <= signed_on:
        raise RuleViolation("DATE_ORDER", reason_zh="经营期限在开始之前就已结束",
                            reason_en="the term ends before it starts")
    if term_end > held.end:
        raise RuleViolation("TERM_EXCEEDS_CONTRACT", details={"term_end": term_end.isoformat(),
                                                              "contract_end": held.end.isoformat()})
    check_not_managed(s, parcels, signed_on)


def check_not_managed(s, parcels: list[str], on: dt.date) -> None:
    """Refuse to move land a management right (a lease or share-in) still runs on at ``on`` (RIGHT_BUSY)."""
    taken = s.execute(_MANAGED, {"parcels": parcels, "on": on}).all()
    if taken:
        raise RuleViolation("RIGHT_BUSY", details={"management_rights": [
            {"parcel": p, "management_right": ids.public_id(county, m)} for p, county, m in taken]})


def _recipient(s, actor: Principal, kind: str, held: Right, to: str | None) -> Household | None:
    if to is None:  # an exit (TransferCreateSchema requires `to` of every other kind)
        return None
    household = coded(s, Household, to, options=[lazyload(Household.members)]) if actor.sees(to) else None
    if household is None:
        raise NotFound("受让农户", "Household", to)
    if household.code == held.holder_code:
        raise RuleViolation("RECIPIENT_IS_HOLDER", details={"household": household.code},
                            errors={"to": ["the holder itself"]})
    check_same_county(household, held.county_code, "to")
    if household.collective_code != held.collective_code and kind not in ("lease", "share_in"):
        # 第三十三、三十四条; a management right may go to anyone able to farm (第三十六条)
        raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"from": held.collective_code,
                                                             "to": household.collective_code})
    return household


def check_same_county(household: Household, county: str, field: str) -> None:
    """A household takes a right of its own county's register only (a county's rows refer to its own rows); one
    of another county that leases land (第三十六条: anyone able to farm) is named as an outside party.

    Raises:
        DomainError: 422 naming ``field``.
    """
    if household.county_code != county:
        raise DomainError("县外农户不能作为本县权利的受让方登记；请作为外部经营主体"
                          "（姓名与身份证号或统一社会信用代码）填写",
                          "a household of another county is not a party of this county's register: name it as an "
                          "outside party (name with id_number or credit_code)", status=422,
                          errors={field: [f"a household of county {county}, or an outside party"]},
                          details={"household": household.code, "county": county})


def _counter_right(s, actor: Principal, kind: str, held: Right, counter_right: str | None,
                   recipient: Household | None) -> Right | None:
    if kind != "exchange":  # TransferCreateSchema refuses a counter right of any other kind
        return None
    counter = find_right(s, actor, counter_right) if counter_right else None
    if counter is None:
        raise NotFound("对方权利", "Right", counter_right)
    assert recipient is not None, "an exchange names a household: the schema requires `to`, a party is refused"
    if counter.holder_code != recipient.code or counter.valid_to is not None or counter.type != held.type:
        raise RuleViolation("RIGHT_NOT_HELD", details={"household": recipient.code, "right": counter_right})
    return counter


def _counter_consent(s, actor: Principal, counter: Right | None, consent: dict | None) -> dict | None:
    """An exchange gives the other household's land away too: it signs for itself (第二十七、三十三条)."""
    if counter is None:  # not an exchange: TransferCreateSchema refuses a counter consent then
        return None
    signer = county_row(s, Person, consent["signed_by_person_id"]) \
        if consent and consent.get("signed_by_person_id") else None
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


def moving_parcels(s, kind: str, held: Right, counter: Right | None,
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
        plot = s.scalar(_PLOT, {"right": held.id})
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
    under = dict(s.execute(_UNDER, {"county": held.county_code, "rights": rights, "parcels": parcels}).all())
    outside = [p for p in parcels if p not in under]
    if outside:
        raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={"parcels": outside, "rights": rights})
    if counter is not None and len(set(under.values())) < 2:
        raise RuleViolation("EXCHANGE_ONE_SIDED", details={"rights": rights},
                            errors={"parcels": ["parcels of both rights"]})
    return [(p, under[p]) for p in parcels]


def check_shares_movable(s, held: Right, shares: Decimal | None, recipient: Household | None) -> None:
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
    if plan is not None and not plan.takes(shares):
        raise RuleViolation("SHARES_NOT_WHOLE", details={"shares": str(shares)})
    have = shares_held(s, held.id)
    if shares > have:
        raise RuleViolation("SHARES_EXCEED_HOLDING", details={"held": str(have), "shares": str(shares)})


def check_contract_recipient(s, held: Right, recipient: str, theirs: Right | None, on: dt.date | None = None) -> None:
    """What a household receiving contract land must meet; ``theirs`` is its contract in force, as the caller
    read it (a completion reads it once, locked, and joins the land to it)."""
    assert held.end is not None, "a contract's term has an end"
    # The land joins the recipient's one contract, which must run to the same end; a household without
    # one (never had one, or its last ended) takes a new contract for the rest of the giver's term
    # (第三十四条), unless it returned land in that term (第三十条).
    if theirs is not None and theirs.end != held.end:
        raise RuleViolation("CONTRACT_TERM_MISMATCH", details={
            "right": theirs.id, "end": iso_day(theirs.end), "transferred_end": held.end.isoformat()})
    check_no_new_land_after_return(s, recipient, max(held.start, on or dt.date.today()), held.end)


def check_recipient_may_hold(s, held: Right, recipient: str, shares: Decimal | None, on: dt.date | None = None) -> None:
    """What the receiving household must be able to hold once the transfer completes (``on``, today if None)."""
    if held.type == "contract":
        check_contract_recipient(s, held, recipient, open_contract(s, recipient), on)
        return
    theirs = coded(s, Right, recipient + ID_SUFFIX[held.type])
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
        assert shares is not None, "income shares move by a number (check_shares_movable requires it)"
        plan = open_plan(s, held.collective_code)
        after = (shares_held(s, theirs.id) if theirs is not None and theirs.valid_to is None else 0) + shares
        if plan is not None and not plan.allows_holding(after):
            raise RuleViolation("SHARE_HOLDING_CAP", details={"would_hold": str(after), "max_holding_per_household":
                                                              str(plan.max_holding_per_household)})
        if theirs is not None and theirs.valid_to is not None:
            raise RuleViolation("RIGHT_NOT_ACTIVE", details={"right": theirs.id})


def shares_held(s, right_id: str) -> Decimal:
    """The income shares a right holds now."""
    held = s.scalar(_SHARES_HELD, {"right": right_id})
    return Decimal(str(held or 0))


def entry_subjects(t: Transfer, moving: list[tuple[str, str]]) -> list[str]:
    """What a transfer's ledger entries are about: the transfer, its rights, households and parcels."""
    return [f"transfer:{t.id}", t.right_id, t.from_household, *([t.to_household] if t.to_household else []),
            *([t.counter_right_id] if t.counter_right_id else []), *(code for code, _ in moving)]


def entry_data(t: Transfer, moving: list[tuple[str, str]]) -> dict:
    """The facts a transfer's opening records in the ledger (the replay rebuilds the transfer from them)."""
    return {"transfer": t.id, "kind": t.kind, "right": t.right_id, "from": t.from_household, "to": t.to_household,
            "to_party": t.to_party,
            "counter_right": t.counter_right_id, "parcels": [{"code": c, "right": r} for c, r in moving],
            "shares": None if t.shares is None else str(t.shares), "price": str(t.price),
            "term_end": iso_day(t.term_end), "terms": t.contract_terms, "notice_given_on": iso_day(t.notice_given_on),
            "consent": {"signed_by_person_id": t.consent_person_id, "signed_on": t.consent_signed_on.isoformat(),
                        "document": t.consent_document_id, "voluntary": True},
            "counter_consent": t.counter_consent}
