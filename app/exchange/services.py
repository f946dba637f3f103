"""The exchange desk's services: list a right, take bids, award it, or withdraw it (docs/rules.md §6).

A listing carries the same guarantee as a transfer (docs/rules.md §0): no link to a settlement, and the
holder's own signed, voluntary consent. While it is open it holds its right and parcels as an open transfer
does (``RIGHT_BUSY`` both ways); a freeze set meanwhile suspends it, no bid and no award until lifted. The
award opens the transfer (or the management right) in the same transaction, and that transfer then runs the
transfers' workflow: the issuer's consent where the law needs it, payments, completion.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, coded, county_row
from app.errors import Forbidden, NotFound, RuleViolation
from app.exchange.documents import (
    AnnouncementDocument,
    TransactionCertificate,
    render_announcement,
    render_transaction_certificate,
)
from app.exchange.models import Bid, Listing
from app.holds import services as holds
from app.ids import RowKey
from app.ledger import services as ledger
from app.ledger.models import LedgerEntry, LedgerSubject
from app.parcels.queries import ParcelRepository
from app.parcels.services import map_over_neighbours, parcel_rows
from app.parties.models import Household
from app.parties.services import household_label, party_label
from app.queries import after_row, code_prefix, county_order, county_prefix
from app.rights.models import Right
from app.transfers import opening
from app.transfers.contracts import CONTRACT_KINDS, contract_document, contract_terms
from app.transfers.documents import render_contract
from app.transfers.models import Transfer
from app.transfers.views import iso_day, transfer_view
from app.workdays.calendar import WorkCalendar
from app.workdays.services import work_calendar

#: Who runs the desk.
DESK = frozenset({"exchange", "admin"})
#: Who sees every bid on a listing (a bidder's household sees its own only through the desk).
SEE_BIDS = frozenset({"exchange", "admin", "auditor"})
#: 农村土地承包法 第三十八条: members of the collective have priority on equal terms.
PRIORITY_BASIS = "农村土地承包法 第三十八条"


@dataclass(frozen=True)
class ExchangePolicy:
    #: the least number of working days an announcement runs (setting SANQUAN_ANNOUNCEMENT_WORKING_DAYS).
    announcement_days: int = 10


def _require_desk(actor: Principal) -> None:
    if actor.role not in DESK:
        raise Forbidden("只有产权交易窗口可以办理挂牌、报价和成交",
                        "Only the exchange desk lists, takes bids and awards")


def _not_after_today(on: dt.date, what_zh: str, what_en: str) -> None:
    if on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh=f"{what_zh}晚于今天", reason_en=f"{what_en} is in the future")


def create_listing(uow: UnitOfWork, *, actor: Principal, policy: ExchangePolicy, right: str, kind: str,
                   asking_price: Decimal, listed_on: dt.date, consent: dict | None = None,
                   parcels: list[str] | None = None, shares: Decimal | None = None, term_end: dt.date | None = None,
                   announcement_days: int | None = None, terms: dict[str, str] | None = None,
                   condition_of_settlement: bool | None = None, settlement: int | None = None) -> dict:
    """List a right (some of its parcels, or its shares) on the desk and start its public announcement.

    Raises:
        RuleViolation: NO_SURRENDER_CONDITION, CONSENT_REQUIRED, ANNOUNCEMENT_TOO_SHORT, PRICE_REQUIRED,
            RIGHT_NOT_HELD, TRANSFER_KIND_NOT_LAWFUL, PARCEL_NOT_IN_RIGHT, TERM_EXCEEDS_CONTRACT,
            SHARES_EXCEED_HOLDING, SHARES_NOT_WHOLE, RIGHT_IN_DISPUTE, RIGHT_BUSY, DATE_ORDER.
        NotFound: the right, the signer or the document is unknown or outside the scope.
        Forbidden: the role is not the desk's.
    """
    _require_desk(actor)
    opening.check_guarantee(consent, condition_of_settlement=condition_of_settlement, settlement=settlement)
    assert consent is not None  # check_guarantee refuses a listing without one
    days = policy.announcement_days if announcement_days is None else announcement_days
    if days < policy.announcement_days:
        raise RuleViolation("ANNOUNCEMENT_TOO_SHORT", details={"least": policy.announcement_days,
                                                               "announcement_days": days})
    if asking_price <= 0:
        raise RuleViolation("PRICE_REQUIRED", details={"price": str(asking_price)})
    _not_after_today(listed_on, "挂牌日期", "listed_on")
    if consent["signed_on"] > listed_on:
        raise RuleViolation("DATE_ORDER", reason_zh="同意书晚于挂牌日期签署",
                            reason_en="the consent is signed after the listing day")
    with uow:
        s = uow.session
        held = opening.held_right(s, actor, right, None, kind)
        signer, document = opening.holder_signature(s, actor, held, consent)
        codes = [code for code, _ in opening.moving_parcels(s, kind, held, None, parcels)]
        opening.check_management_terms(s, kind, held, term_end, listed_on, codes)
        opening.check_shares_movable(s, held, shares, None)
        holds.check_not_frozen(s, [held.code, *codes])
        holds.check_not_held(s, [held.id], codes)
        listing = Listing(county_code=held.county_code, collective_code=held.collective_code, right_id=held.id,
                          holder_code=held.holder_code, kind=kind, parcels=codes, shares=shares,
                          asking_price=asking_price, term_end=term_end,
                          contract_terms=contract_terms(kind, terms), listed_on=listed_on, announcement_days=days,
                          consent_person_id=signer.id,
                          consent_signed_on=consent["signed_on"], consent_document_id=document, status="announced",
                          created_by=actor.name, ledger_seq=0)
        s.add(listing)
        s.flush()
        holds.hold(s, None, [held.id], codes, listing_id=listing.id)
        listing.ledger_seq = ledger.append(s, county=listing.county_code, kind="listing.created", actor=actor,
                                           subjects=_subjects(listing), data=listing_entry(listing))
        view = listing_view(s, listing, work_calendar(s), actor)
        uow.commit()
    return view


def withdraw_listing(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey, on: dt.date) -> dict:
    """The holder withdraws the listing before its award: the right and parcels are free again.

    Raises:
        RuleViolation: LISTING_CLOSED (awarded or withdrawn already), DATE_ORDER.
        NotFound: unknown, or outside the scope.
    """
    _require_desk(actor)
    with uow:
        s = uow.session
        listing = _open_listing(s, actor, listing_id, lock=True)
        _in_listing(listing, on, "撤牌日期", "on")
        listing.status, listing.withdrawn_on = "withdrawn", on
        holds.release(s, listing.county_code, listing_id=listing.id)
        ledger.append(s, county=listing.county_code, kind="listing.withdrawn", actor=actor,
                      subjects=_subjects(listing), data={"listing": listing.id, "on": on.isoformat()})
        view = listing_view(s, listing, work_calendar(s), actor)
        uow.commit()
    return view


def place_bid(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey, bidder: str | dict, amount: Decimal,
              bid_on: dt.date) -> dict:
    """Record a bid on the day it was made: a household's, or for a lease or share-in an outside party's.

    Raises:
        RuleViolation: LISTING_CLOSED, RIGHT_IN_DISPUTE (a freeze suspends the listing), BID_BELOW_ASKING,
            SAME_COLLECTIVE_ONLY (a 转让 goes to a household of the collective; an outside party takes only
            a lease or share-in), RECIPIENT_IS_HOLDER, DATE_ORDER.
        NotFound: the listing or the household is unknown or outside the scope.
    """
    _require_desk(actor)
    with uow:
        s = uow.session
        listing = _open_listing(s, actor, listing_id, lock=True)
        _not_suspended(s, listing)
        _in_listing(listing, bid_on, "报价日期", "bid_on")
        household = party = None
        if isinstance(bidder, dict):
            if listing.kind not in ("lease", "share_in"):
                raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"kind": listing.kind, "bidder": "outside party"},
                                    errors={"bidder": ["a household of the collective for a transfer"]})
            party = bidder
        else:
            household = coded(s, Household, bidder) if actor.sees(bidder) else None
            if household is None:
                raise NotFound("报价农户", "Household", bidder)
            if household.code == listing.holder_code:
                raise RuleViolation("RECIPIENT_IS_HOLDER", details={"household": household.code},
                                    errors={"bidder": ["the holder itself"]})
            opening.check_same_county(household, listing.county_code, "bidder")
            if listing.kind == "transfer" and household.collective_code != listing.collective_code:
                raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"from": listing.collective_code,
                                                                     "to": household.collective_code})
        if amount < listing.asking_price:
            raise RuleViolation("BID_BELOW_ASKING", details={"amount": str(amount),
                                                             "asking": str(listing.asking_price)})
        bid = Bid(listing_id=listing.id, county_code=listing.county_code,
                  bidder_household=household.code if household else None, bidder_party=party, amount=amount,
                  bid_on=bid_on, created_by=actor.name, ledger_seq=0)
        s.add(bid)
        s.flush()
        subjects = [f"listing:{listing.id}", *([household.code] if household else [])]
        bid.ledger_seq = ledger.append(s, county=listing.county_code, kind="listing.bid", actor=actor,
                                       subjects=subjects, data=bid_entry(bid))
        view = bid_view(bid)
        uow.commit()
    return view


def award_listing(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey, on: dt.date) -> dict:
    """Award the listing once its announcement is over: the highest bid wins; on equal terms a household of
    the collective that bid within the announcement wins over an outside party (第三十八条). The winning bid
    becomes a pending transfer, in this transaction.

    Raises:
        RuleViolation: LISTING_CLOSED, RIGHT_IN_DISPUTE, ANNOUNCEMENT_NOT_OVER, NO_QUALIFIED_BID, DATE_ORDER
            (before the last bid, or in the future), and whatever the transfer's opening refuses
            (CONTRACT_TERM_MISMATCH, NO_NEW_LAND_AFTER_RETURN …).
        NotFound: unknown, or outside the scope.
    """
    _require_desk(actor)
    with uow:
        s = uow.session
        listing = _open_listing(s, actor, listing_id, lock=True)
        _not_suspended(s, listing)
        calendar = work_calendar(s)
        ends = announcement_ends(calendar, listing)
        _not_after_today(on, "成交日期", "on")
        if on <= ends:
            raise RuleViolation("ANNOUNCEMENT_NOT_OVER",
                                details={"ends_on": ends.isoformat(), "on": on.isoformat()})
        bids = list(s.scalars(select(Bid).where(Bid.county_code == listing.county_code, Bid.listing_id == listing.id)
                              .order_by(Bid.id)))
        if not bids:
            raise RuleViolation("NO_QUALIFIED_BID", details={"listing": ids.of(listing)})
        last = max(b.bid_on for b in bids)
        if on < last:
            raise RuleViolation("DATE_ORDER", reason_zh="成交日期早于最后一次报价",
                                reason_en="on is before the last bid", details={"last_bid_on": last.isoformat()})
        winner, award = choose_winner(bids, listing.collective_code, ends, _members(s, bids, listing))
        holds.release(s, listing.county_code, listing_id=listing.id)
        transfer, _ = opening.open_transfer(
            s, actor=actor, kind=listing.kind, right=listing.right_id, price=winner.amount, from_=listing.holder_code,
            consent={"signed_by_person_id": RowKey(listing.county_code, listing.consent_person_id),
                     "signed_on": listing.consent_signed_on, "voluntary": True,
                     "document": None if listing.consent_document_id is None
                     else RowKey(listing.county_code, listing.consent_document_id)},
            to=winner.bidder_household or winner.bidder_party, parcels=listing.parcels or None,
            shares=listing.shares, term_end=listing.term_end, terms=listing.contract_terms)
        listing.status, listing.awarded_on, listing.winning_bid_id = "awarded", on, winner.id
        listing.award, listing.transfer_id = award, transfer.id
        ledger.append(s, county=listing.county_code, kind="listing.awarded", actor=actor,
                      subjects=[*_subjects(listing), f"transfer:{transfer.id}"],
                      data={"listing": listing.id, "on": on.isoformat(), "bid": winner.id, "transfer": transfer.id,
                            "award": award})
        view = listing_view(s, listing, calendar, actor) | {
            "winner": bidder_of(winner), "amount": winner.amount, "details": award,
            "transfer": transfer_view(s, transfer)}
        uow.commit()
    return view


def choose_winner(bids: list[Bid], collective: str, announcement_ends_on: dt.date,
                  members: frozenset[str]) -> tuple[Bid, dict[str, Any]]:
    """The winning bid and how it won.

    Each bidder's highest bid counts (its earliest, at equal amounts). The highest amount wins. On equal
    terms a member household, one of the listing's collective that bid within the announcement, wins over
    the others (第三十八条; a member told of the listing who let the announcement pass has no priority
    afterwards, 司法解释 第十一条); among equals the earliest bid. One bidder is a negotiated award (协议),
    more a bidding (竞价).
    """
    best: dict[str, Bid] = {}
    for b in bids:
        party = b.bidder_party or {}
        key = b.bidder_household or f"party:{party.get('id_number') or party.get('credit_code')}"
        if key not in best or b.amount > best[key].amount:
            best[key] = b

    def priority(b: Bid) -> bool:
        return b.bidder_household in members and b.bid_on <= announcement_ends_on

    top = max(b.amount for b in best.values())
    tied = sorted((b for b in best.values() if b.amount == top), key=lambda b: (not priority(b), b.id))
    winner = tied[0]
    award: dict[str, Any] = {"method": "negotiated" if len(best) == 1 else "bidding", "bidders": len(best),
                             "bids": len(bids), "collective": collective}
    if priority(winner) and any(not priority(b) for b in tied[1:]):
        award |= {"rule": "PRIORITY_RIGHT", "basis": PRIORITY_BASIS,
                  "over": [bidder_of(b) for b in tied[1:] if not priority(b)]}
    return winner, award


def _members(s: Session, bids: list[Bid], listing: Listing) -> frozenset[str]:
    """The bidding households of the listing's collective."""
    codes = {b.bidder_household for b in bids if b.bidder_household}
    if not codes:
        return frozenset()
    return frozenset(s.scalars(select(Household.code).where(Household.code.in_(codes),
                                                            Household.collective_code == listing.collective_code)))


def announcement_pdf(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey) -> bytes:
    """The listing's public announcement (挂牌公告) as PDF, with a map of the parcels offered.

    Raises:
        NotFound: unknown, or outside the scope.
    """
    with uow:
        s = uow.session
        listing = _visible_listing(s, actor, listing_id)
        right = coded(s, Right, listing.right_id)
        assert right is not None, "a listing's right exists (foreign key)"
        repo = ParcelRepository(s)
        versions = [v for v in (repo.current(c) for c in listing.parcels) if v is not None]
        due = work_calendar(s).add_working_days(listing.listed_on, listing.announcement_days)
        document = AnnouncementDocument(
            number=f"（{listing.listed_on.year}）{listing.county_code}农交挂字第{listing.id}号",
            holder=household_label(s, listing.holder_code), right=right.code, right_type=right.type,
            kind=listing.kind, parcels=parcel_rows(versions),
            shares=None if listing.shares is None else f"{listing.shares.normalize():f}",
            asking_price=f"{listing.asking_price:,.2f}", term_end=listing.term_end, listed_on=listing.listed_on,
            announcement_days=listing.announcement_days, ends_on=due.due_on,
            assumed_years=tuple(sorted(due.assumed_years)),
            map_png=map_over_neighbours(repo, [v.geom for v in versions], [v.parcel_code for v in versions],
                                        image_format="jpeg") if versions else None)
    return render_announcement(document)


def certificate_pdf(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey) -> bytes:
    """The transaction certificate (交易鉴证书) of a listing whose awarded transfer has completed, with a QR code
    that ``GET /certificates/check`` verifies against the award's ledger entry.

    Raises:
        RuleViolation: LISTING_NOT_COMPLETED before the awarded transfer completes.
        NotFound: unknown, or outside the scope.
    """
    with uow:
        s = uow.session
        listing = _visible_listing(s, actor, listing_id)
        transfer = county_row(s, Transfer, RowKey(listing.county_code, listing.transfer_id)) \
            if listing.transfer_id else None
        if transfer is None or transfer.status != "completed" or transfer.completed_on is None:
            raise RuleViolation("LISTING_NOT_COMPLETED", details={
                "status": listing.status, "transfer_status": transfer.status if transfer else None})
        subject = f"listing:{listing.id}"
        entry = s.scalar(select(LedgerEntry).where(
            LedgerEntry.log == listing.county_code, LedgerEntry.kind == "listing.awarded",
            LedgerEntry.seq.in_(select(LedgerSubject.seq).where(LedgerSubject.log == listing.county_code,
                                                                LedgerSubject.subject == subject))))
        assert entry is not None, "an awarded listing has its award's entry"
        awarded_on = listing.awarded_on
        assert awarded_on is not None, "a listing with a transfer was awarded"
        right = coded(s, Right, listing.right_id)
        assert right is not None, "a listing's right exists (foreign key)"
        repo = ParcelRepository(s)
        versions = [v for v in (repo.current(c) for c in listing.parcels) if v is not None]
        award = listing.award or {}
        document = TransactionCertificate(
            number=f"（{transfer.completed_on.year}）{listing.county_code}农交鉴字第{listing.id}号",
            seller=household_label(s, listing.holder_code),
            buyer=(household_label(s, transfer.to_household) if transfer.to_household
                   else party_label(transfer.to_party or {})),
            right=right.code, right_type=right.type, kind=listing.kind, parcels=parcel_rows(versions),
            shares=None if listing.shares is None else f"{listing.shares.normalize():f}",
            price=f"{transfer.price:,.2f}", method="协议" if award.get("method") == "negotiated" else "竞价",
            term_end=listing.term_end, listed_on=listing.listed_on,
            ends_on=announcement_ends(work_calendar(s), listing), awarded_on=awarded_on,
            completed_on=transfer.completed_on, priority=award.get("rule") == "PRIORITY_RIGHT",
            ledger_seq=entry.seq, ledger_hash=entry.leaf_hash,
            qr_payload=f"{subject}|{listing.county_code}|{entry.seq}|{entry.leaf_hash}",
            map_png=map_over_neighbours(repo, [v.geom for v in versions], [v.parcel_code for v in versions],
                                        image_format="jpeg") if versions else None)
    return render_transaction_certificate(document)


def contract_pdf(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey, neighbour_tolerance_m: float) -> bytes:
    """The written contract (流转合同) of an awarded lease or share-in: its transfer's, with the clauses the
    listing offered.

    Raises:
        RuleViolation: CONTRACT_NOT_APPLICABLE (a transfer listing); LISTING_NOT_AWARDED; TRANSFER_CLOSED (the
            awarded transfer was withdrawn, refused or voided).
        NotFound: unknown, or outside the scope.
    """
    with uow:
        s = uow.session
        listing = _visible_listing(s, actor, listing_id)
        if listing.kind not in CONTRACT_KINDS:
            raise RuleViolation("CONTRACT_NOT_APPLICABLE", details={"kind": listing.kind})
        transfer = county_row(s, Transfer, RowKey(listing.county_code, listing.transfer_id)) \
            if listing.transfer_id else None
        if transfer is None:
            raise RuleViolation("LISTING_NOT_AWARDED", details={"status": listing.status})
        document = contract_document(s, transfer, neighbour_tolerance_m)
    return render_contract(document)


def get_listing(uow: UnitOfWork, *, actor: Principal, listing_id: RowKey) -> dict:
    with uow:
        s = uow.session
        return listing_view(s, _visible_listing(s, actor, listing_id), work_calendar(s), actor)


def list_listings(uow: UnitOfWork, *, actor: Principal, status: str | None = None, within: str | None = None,
                  limit: int = 50, cursor: RowKey | None = None) -> dict:
    """The notice board of the actor's scope (or of ``within``, a narrower division), oldest first."""
    prefix = actor.scope if within is None else within
    if not (prefix.startswith(actor.scope) or actor.scope.startswith(prefix)):
        return {"items": [], "next_cursor": None}
    prefix = max(prefix, actor.scope, key=len)
    with uow:
        s = uow.session
        q = select(Listing).where(county_prefix(Listing.county_code, prefix), code_prefix(Listing.right_id, prefix))
        if status:
            q = q.where(Listing.status == status)
        if cursor:
            q = q.where(after_row(Listing, cursor))
        rows = list(s.scalars(q.order_by(*county_order(Listing)).limit(limit + 1)))
        page = rows[:limit]
        calendar = work_calendar(s)
        board = {(county, listing): (n, top) for county, listing, n, top in s.execute(
            select(Bid.county_code, Bid.listing_id, func.count(), func.max(Bid.amount))
            .where(tuple_(Bid.county_code, Bid.listing_id).in_([(x.county_code, x.id) for x in page]))
            .group_by(Bid.county_code, Bid.listing_id))} if page else {}
        subjects = {code for x in page for code in (x.right_id, *x.parcels)}
        frozen = holds.frozen_among(s, subjects)
        items = [listing_view(s, x, calendar, actor, board=board.get((x.county_code, x.id), (0, None)), frozen=frozen)
                 for x in page]
    return {"items": items, "next_cursor": str(ids.of(rows[limit - 1])) if len(rows) > limit else None}


# --- helpers ------------------------------------------------------------------------------------------

def announcement_ends(calendar: WorkCalendar, listing: Listing) -> dt.date:
    """The last day of the listing's announcement: ``announcement_days`` working days after it was listed."""
    return calendar.add_working_days(listing.listed_on, listing.announcement_days).due_on


def _visible_listing(s: Session, actor: Principal, listing_id: RowKey, lock: bool = False) -> Listing:
    listing = county_row(s, Listing, listing_id, lock=lock)
    if listing is None or not actor.sees(listing.right_id):
        raise NotFound("挂牌项目", "Listing", listing_id)
    return listing


def _open_listing(s: Session, actor: Principal, listing_id: RowKey, lock: bool = False) -> Listing:
    listing = _visible_listing(s, actor, listing_id, lock)
    if listing.status != "announced":
        raise RuleViolation("LISTING_CLOSED", details={"status": listing.status})
    return listing


def _not_suspended(s: Session, listing: Listing) -> None:
    """A freeze set while the listing is open suspends it: no bid and no award until it is lifted."""
    holds.check_not_frozen(s, [listing.right_id, *listing.parcels])


def _in_listing(listing: Listing, on: dt.date, what_zh: str, what_en: str) -> None:
    _not_after_today(on, what_zh, what_en)
    if on < listing.listed_on:
        raise RuleViolation("DATE_ORDER", reason_zh=f"{what_zh}早于挂牌日期",
                            reason_en=f"{what_en} is before the listing",
                            details={"listed_on": listing.listed_on.isoformat()})


def _subjects(listing: Listing) -> list[str]:
    return [f"listing:{listing.id}", listing.right_id, listing.holder_code, *listing.parcels]


def listing_entry(listing: Listing) -> dict[str, Any]:
    """The facts a listing's creation records in the ledger (the replay rebuilds the listing from them)."""
    return {"listing": listing.id, "kind": listing.kind, "right": listing.right_id, "holder": listing.holder_code,
            "parcels": list(listing.parcels), "shares": None if listing.shares is None else str(listing.shares),
            "asking_price": str(listing.asking_price), "term_end": iso_day(listing.term_end),
            "terms": listing.contract_terms,
            "listed_on": listing.listed_on.isoformat(), "announcement_days": listing.announcement_days,
            "consent": {"signed_by_person_id": listing.consent_person_id,
                        "signed_on": listing.consent_signed_on.isoformat(),
                        "document": listing.consent_document_id, "voluntary": True}}


def bid_entry(bid: Bid) -> dict[str, Any]:
    """The facts a bid records in the ledger."""
    return {"listing": bid.listing_id, "bid": bid.id, "household": bid.bidder_household, "party": bid.bidder_party,
            "amount": str(bid.amount), "bid_on": bid.bid_on.isoformat()}


def bidder_of(bid: Bid) -> dict[str, Any]:
    if bid.bidder_household:
        return {"household": bid.bidder_household}
    return {"party": bid.bidder_party}


def bid_view(bid: Bid) -> dict[str, Any]:
    return {"id": ids.of(bid), "listing": ids.public_id(bid.county_code, bid.listing_id), **bidder_of(bid),
            "amount": bid.amount, "bid_on": bid.bid_on, "ledger_seq": bid.ledger_seq}


def listing_view(s: Session, listing: Listing, calendar: WorkCalendar, actor: Principal, *,
                 board: tuple[int, Decimal | None] | None = None, frozen: set[str] | None = None) -> dict[str, Any]:
    """A listing as the desk shows it, with its bids to the desk and auditors only; or, given ``board`` (its
    bids' count and highest amount), as one line of the notice board, with the highest bid instead. A page
    passes ``board`` and the ``frozen`` subjects among its listings, read once for the page."""
    due = calendar.add_working_days(listing.listed_on, listing.announcement_days)
    subjects = [listing.right_id, *listing.parcels]
    if frozen is None:
        frozen = holds.frozen_among(s, subjects)
    bids: list[Bid] | None = None
    if board is None:
        bids = list(s.scalars(select(Bid).where(Bid.county_code == listing.county_code, Bid.listing_id == listing.id)
                              .order_by(Bid.id)))
        board = len(bids), max((b.amount for b in bids), default=None)
    count, highest = board
    view: dict[str, Any] = {
        "id": ids.of(listing), "status": listing.status,
        "suspended": listing.status == "announced" and any(x in frozen for x in subjects),
        "kind": listing.kind, "right": listing.right_id, "holder": listing.holder_code,
        "collective": listing.collective_code, "parcels": list(listing.parcels), "shares": listing.shares,
        "asking_price": listing.asking_price, "term_end": listing.term_end, "contract_terms": listing.contract_terms,
        "listed_on": listing.listed_on,
        "announcement_days": listing.announcement_days, "announcement_ends_on": due.due_on,
        "assumed_years": sorted(due.assumed_years), "bid_count": count,
        "withdrawn_on": listing.withdrawn_on, "awarded_on": listing.awarded_on, "award": listing.award,
        "transfer": ids.optional(listing.county_code, listing.transfer_id), "ledger_seq": listing.ledger_seq}
    if actor.role in SEE_BIDS:
        view["highest_bid"] = highest
        if bids is not None:
            view["bids"] = [bid_view(b) for b in bids]
    return view
