"""The exchange desk's pages: the notice board, a listing with its bids, award and documents, and a transfer
with its workflow (issuer's consent, payments, completion). Forms are read by the API's own schemas, so a
value the API refuses the console refuses with the same words.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, redirect, request, url_for

from app.console.views import actor, bp, load, page
from app.errors import DomainError
from app.exchange import services as exchange
from app.exchange.routes import policy as exchange_policy
from app.exchange.schemas import BidCreateSchema, ListingCreateSchema, ListingStepSchema
from app.extensions import settings, unit_of_work
from app.parties import services as parties
from app.rights import services as rights
from app.transfers import services as transfers
from app.transfers.schemas import CompleteSchema, IssuerConsentSchema, PaymentSchema

KINDS = {"transfer": "转让", "lease": "出租（转包）", "share_in": "入股", "exchange": "互换", "exit": "自愿有偿退出"}
STATUSES = {"announced": "公告中", "awarded": "已成交", "withdrawn": "已撤牌", "pending": "待办",
            "consented": "发包方已同意", "paid": "已付款", "completed": "已办结", "refused": "发包方不同意",
            "voided": "已撤销"}
#: Who may act at the desk (the API's roles: app.exchange.services, app.transfers.opening).
DESK_ROLES = frozenset({"exchange", "admin"})
TRANSFER_ROLES = frozenset({"exchange", "admin", "clerk"})


def _number(text: str) -> int | str:
    """A form's whole number as the integer a JSON body would carry (anything else as typed, for the schema
    to refuse by name)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else text


def _today() -> str:
    return dt.date.today().isoformat()


@bp.route("/listings")
def listings():
    """The notice board of the user's scope, by status (default: announced)."""
    shown = request.args.get("status", "announced")
    board = exchange.list_listings(unit_of_work(write=False), actor=actor(), status=shown or None,
                                   cursor=request.args.get("cursor") or None, limit=50)
    return page("console/listings.html", board=board, shown=shown, kinds=KINDS, statuses=STATUSES)


@bp.route("/listings/new", methods=["GET", "POST"])
def new_listing():
    """List a right on the desk (``?right=``): what is offered, the asking price and term, the announcement's
    start, and the holder's own signed, voluntary consent (第二十七条; without it, CONSENT_REQUIRED)."""
    right_id = request.values.get("right", "")
    right = rights.get_right(unit_of_work(write=False), actor=actor(), right_id=right_id)
    error, status = None, 200
    if request.method == "POST":
        form = request.form
        body: dict[str, Any] = {
            "right": right["id"], "kind": form.get("kind", ""), "asking_price": form.get("asking_price", ""),
            "listed_on": form.get("listed_on", ""),
            "consent": {"signed_by_person_id": _number(form.get("signed_by_person_id", "")),
                        "signed_on": form.get("signed_on", ""), "voluntary": form.get("voluntary") == "true"}}
        if form.getlist("parcels"):
            body["parcels"] = form.getlist("parcels")
        for key in ("shares", "term_end"):
            if form.get(key):
                body[key] = form[key]
        if form.get("announcement_days"):
            body["announcement_days"] = _number(form["announcement_days"])
        if form.get("use"):
            body["terms"] = {"use": form["use"]}
        try:
            made = exchange.create_listing(unit_of_work(), actor=actor(), policy=exchange_policy(),
                                           **load(ListingCreateSchema(), body))
        except DomainError as e:
            error, status = e, e.status
        else:
            return redirect(url_for("console.listing", listing_id=made["id"], saved=1), code=303)
    return page("console/new_listing.html", status, right=right, error=error, kinds=KINDS, today=_today(),
                members=parties.get_household(unit_of_work(write=False), actor=actor(),
                                              code=right["holder"])["members"])


@bp.route("/listings/<int:listing_id>")
def listing(listing_id: int, error: DomainError | None = None, status: int = 200):
    found = exchange.get_listing(unit_of_work(write=False), actor=actor(), listing_id=listing_id)
    return page("console/listing.html", status, listing=found, error=error, kinds=KINDS, statuses=STATUSES,
                today=_today(), desk=actor().role in DESK_ROLES)


@bp.route("/listings/<int:listing_id>/bids", methods=["POST"])
def bid(listing_id: int):
    """A bid: a household code, or an outside party's name with its credit code or ID number."""
    form = request.form
    party = {"name": form.get("party_name", "").strip()} | {
        key: form.get(f"party_{key}", "").strip() for key in ("credit_code", "id_number")
        if form.get(f"party_{key}", "").strip()}
    bidder = form.get("household", "").strip() or party
    try:
        data = load(BidCreateSchema(), {"bidder": bidder, "amount": form.get("amount", ""),
                                        "bid_on": form.get("bid_on", "")})
        exchange.place_bid(unit_of_work(), actor=actor(), listing_id=listing_id, **data)
    except DomainError as e:
        return listing(listing_id, error=e, status=e.status)
    return redirect(url_for("console.listing", listing_id=listing_id, saved=1), code=303)


@bp.route("/listings/<int:listing_id>/<any(award, withdraw):step>", methods=["POST"])
def listing_step(listing_id: int, step: str):
    try:
        data = load(ListingStepSchema(), {"on": request.form.get("on", "")})
        act = exchange.award_listing if step == "award" else exchange.withdraw_listing
        act(unit_of_work(), actor=actor(), listing_id=listing_id, **data)
    except DomainError as e:
        return listing(listing_id, error=e, status=e.status)
    return redirect(url_for("console.listing", listing_id=listing_id, saved=1), code=303)


@bp.route("/listings/<int:listing_id>/<any(announcement, contract, certificate):document>.pdf")
def listing_pdf(listing_id: int, document: str):
    """The announcement (挂牌公告), the contract (流转合同) or the transaction certificate (交易鉴证书)."""
    uow = unit_of_work(write=False)
    if document == "announcement":
        pdf = exchange.announcement_pdf(uow, actor=actor(), listing_id=listing_id)
    elif document == "contract":
        pdf = exchange.contract_pdf(uow, actor=actor(), listing_id=listing_id,
                                    neighbour_tolerance_m=settings().neighbour_tolerance_m)
    else:
        pdf = exchange.certificate_pdf(uow, actor=actor(), listing_id=listing_id)
    return Response(pdf, mimetype="application/pdf")


@bp.route("/transfers/<int:transfer_id>")
def transfer(transfer_id: int, error: DomainError | None = None, status: int = 200):
    """A transfer as one page: its state, consent, the issuer's answer, payments, and the next step's form."""
    found = transfers.get_transfer(unit_of_work(write=False), actor=actor(), transfer_id=transfer_id)
    return page("console/transfer.html", status, transfer=found, error=error, kinds=KINDS, statuses=STATUSES,
                today=_today(), acts=actor().role in TRANSFER_ROLES)


@bp.route("/transfers/<int:transfer_id>/<any('issuer-consent', payments, complete):step>", methods=["POST"])
def transfer_step(transfer_id: int, step: str):
    form, uow = request.form, unit_of_work()
    try:
        if step == "issuer-consent":
            data = load(IssuerConsentSchema(), {k: v for k, v in form.items() if k in ("decision", "grounds",
                                                                                         "decided_on") and v})
            transfers.decide_issuer_consent(uow, actor=actor(), transfer_id=transfer_id, **data)
        elif step == "payments":
            data = load(PaymentSchema(), {k: form.get(k, "") for k in ("amount", "paid_on", "reference")})
            transfers.add_payment(uow, actor=actor(), transfer_id=transfer_id, **data)
        else:
            data = load(CompleteSchema(), {k: v for k, v in form.items() if k == "completed_on" and v})
            policy = transfers.TransferPolicy(issuer_answer_days=settings().issuer_answer_days)
            transfers.complete_transfer(uow, actor=actor(), policy=policy, transfer_id=transfer_id, **data)
    except DomainError as e:
        return transfer(transfer_id, error=e, status=e.status)
    return redirect(url_for("console.transfer", transfer_id=transfer_id, saved=1), code=303)

