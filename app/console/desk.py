"""The exchange desk's pages: the notice board, a listing with its bids, award and documents, and a transfer
with its workflow (issuer's consent, payments, completion). Forms are read by the API's own schemas, so a
value the API refuses the console refuses with the same words.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, g, redirect, request, url_for

from app.console.views import actor, bp, cursor_arg, household, load, page
from app.errors import DomainError
from app.exchange import services as exchange
from app.exchange.routes import policy as exchange_policy
from app.exchange.schemas import BidCreateSchema, ListingCreateSchema, ListingStepSchema
from app.extensions import settings, unit_of_work
from app.ids import RowKey
from app.parties import services as parties
from app.rights import services as rights
from app.transfers import services as transfers
from app.transfers.schemas import (
    CompleteSchema,
    IssuerConsentSchema,
    PaymentSchema,
    SettlementCreateSchema,
    TransferCreateSchema,
)

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
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 16 else text


def _today() -> str:
    return dt.date.today().isoformat()


def _consent(form, right_id: str, prefix: str = "") -> dict[str, Any]:
    """A household's signed consent as the API's body carries it (``prefix="counter_"``: the other side's, in
    an exchange), with the holder's scan stored by :func:`_document`."""
    consent: dict[str, Any] = {"signed_by_person_id": _number(form.get(f"{prefix}signed_by_person_id", "")),
                               "signed_on": form.get(f"{prefix}signed_on", ""),
                               "voluntary": form.get(f"{prefix}voluntary") == "true"}
    if not prefix and (document := _document(form, title=f"书面同意书 {right_id}")):
        consent["document"] = document
    return consent


def _document(form, *, title: str) -> int | None:
    """The signed consent's scan: a file uploaded with the form is stored as it arrives (``document.stored``, a
    record of what the desk received); a form shown again after a refusal carries its id, so a correction does
    not upload it twice."""
    kept = form.get("consent_document", "")
    if kept.isascii() and kept.isdigit():
        return int(kept)
    upload = request.files.get("consent_file")
    if upload is None or not upload.filename:
        return None
    stored = parties.store_document(unit_of_work(), actor=actor(), stream=upload.stream, filename=upload.filename,
                                    content_type=upload.mimetype or "application/octet-stream", kind="consent",
                                    title=title, storage=settings().documents_path,
                                    max_bytes=settings().max_document_bytes)
    g.consent_document = stored
    return stored["id"]


@bp.route("/listings")
def listings():
    """The notice board of the user's scope, by status (default: announced)."""
    shown = request.args.get("status", "announced")
    board = exchange.list_listings(unit_of_work(write=False), actor=actor(), status=shown or None,
                                   cursor=cursor_arg(), limit=50)
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
        try:
            made = exchange.create_listing(unit_of_work(), actor=actor(), policy=exchange_policy(),
                                           **load(ListingCreateSchema(), _listing_body(form, right["id"])))
        except DomainError as e:
            error, status = e, e.status
        else:
            return redirect(url_for("console.listing", listing_id=made["id"], saved=1), code=303)
    return page("console/new_listing.html", status, right=right, error=error, kinds=KINDS, today=_today(),
                document=g.get("consent_document"),
                members=parties.get_household(unit_of_work(write=False), actor=actor(),
                                              code=right["holder"])["members"])


def _listing_body(form, right_id: str) -> dict[str, Any]:
    """The new-listing form as the API's body."""
    body: dict[str, Any] = {"right": right_id, "kind": form.get("kind", ""),
                            "asking_price": form.get("asking_price", ""), "listed_on": form.get("listed_on", ""),
                            "consent": _consent(form, right_id)}
    if form.getlist("parcels"):
        body["parcels"] = form.getlist("parcels")
    for key in ("shares", "term_end"):
        if form.get(key):
            body[key] = form[key]
    if form.get("announcement_days"):
        body["announcement_days"] = _number(form["announcement_days"])
    if form.get("use"):
        body["terms"] = {"use": form["use"]}
    return body


@bp.route("/listings/<row:listing_id>")
def listing(listing_id: RowKey, error: DomainError | None = None, status: int = 200):
    found = exchange.get_listing(unit_of_work(write=False), actor=actor(), listing_id=listing_id)
    return page("console/listing.html", status, listing=found, error=error, kinds=KINDS, statuses=STATUSES,
                today=_today(), desk=actor().role in DESK_ROLES)


@bp.route("/listings/<row:listing_id>/bids", methods=["POST"])
def bid(listing_id: RowKey):
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


@bp.route("/listings/<row:listing_id>/<any(award, withdraw):step>", methods=["POST"])
def listing_step(listing_id: RowKey, step: str):
    try:
        data = load(ListingStepSchema(), {"on": request.form.get("on", "")})
        act = exchange.award_listing if step == "award" else exchange.withdraw_listing
        act(unit_of_work(), actor=actor(), listing_id=listing_id, **data)
    except DomainError as e:
        return listing(listing_id, error=e, status=e.status)
    return redirect(url_for("console.listing", listing_id=listing_id, saved=1), code=303)


@bp.route("/listings/<row:listing_id>/<any(announcement, contract, certificate):document>.pdf")
def listing_pdf(listing_id: RowKey, document: str):
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


@bp.route("/transfers/new", methods=["GET", "POST"])
def new_transfer():
    """Open a transfer of a right (``?right=``) between households of its collective, a lease or share-in
    (also to an outside party), an exchange, or a voluntary exit back to the collective: always with the
    holder's own signed, voluntary consent (第二十七条; CONSENT_REQUIRED) and its scan, if any."""
    right = rights.get_right(unit_of_work(write=False), actor=actor(), right_id=request.values.get("right", ""))
    error, status = None, 200
    if request.method == "POST":
        try:
            data = load(TransferCreateSchema(), _transfer_body(request.form, right))
            data["from_"] = data.pop("from_")
            made = transfers.create_transfer(unit_of_work(), actor=actor(), **data)
        except DomainError as e:
            error, status = e, e.status
        else:
            return redirect(url_for("console.transfer", transfer_id=made["id"], saved=1), code=303)
    return page("console/new_transfer.html", status, right=right, error=error, kinds=KINDS, today=_today(),
                document=g.get("consent_document"),
                members=parties.get_household(unit_of_work(write=False), actor=actor(),
                                              code=right["holder"])["members"])


def _transfer_body(form, right: dict) -> dict[str, Any]:
    """The new-transfer form as the API's body: a household code as the recipient, or an outside party by its
    name and credit code or ID number; the fields of other kinds left out for the schema to check."""
    kind = form.get("kind", "")
    body: dict[str, Any] = {"kind": kind, "right": right["id"], "from": right["holder"],
                            "price": form.get("price", ""), "consent": _consent(form, right["id"])}
    party = {key: form.get(f"party_{key}", "").strip() for key in ("name", "credit_code", "id_number")}
    if form.get("to", "").strip():
        body["to"] = form["to"].strip()
    elif party["name"]:
        body["to"] = {key: value for key, value in party.items() if value}
    if form.getlist("parcels"):
        body["parcels"] = form.getlist("parcels")
    for key in ("shares", "term_end", "notice_given_on", "counter_right"):
        if form.get(key, "").strip():
            body[key] = form[key].strip()
    if form.get("use", "").strip():
        body["terms"] = {"use": form["use"].strip()}
    if kind == "exchange":
        body["counter_consent"] = _consent(form, right["id"], prefix="counter_")
    return body


@bp.route("/transfers/<row:transfer_id>/withdraw", methods=["POST"])
def withdraw_transfer(transfer_id: RowKey):
    """Withdraw an open transfer: nothing moves."""
    try:
        transfers.withdraw_transfer(unit_of_work(), actor=actor(), transfer_id=transfer_id)
    except DomainError as e:
        return transfer(transfer_id, error=e, status=e.status)
    return redirect(url_for("console.transfer", transfer_id=transfer_id, saved=1), code=303)


@bp.route("/transfers/<row:transfer_id>")
def transfer(transfer_id: RowKey, error: DomainError | None = None, status: int = 200):
    """A transfer as one page: its state, consent, the issuer's answer, payments, and the next step's form."""
    found = transfers.get_transfer(unit_of_work(write=False), actor=actor(), transfer_id=transfer_id)
    return page("console/transfer.html", status, transfer=found, error=error, kinds=KINDS, statuses=STATUSES,
                today=_today(), acts=actor().role in TRANSFER_ROLES)


@bp.route("/transfers/<row:transfer_id>/<any('issuer-consent', payments, complete):step>", methods=["POST"])
def transfer_step(transfer_id: RowKey, step: str):
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


@bp.route("/households/<code>/settlements", methods=["POST"])
def record_settlement(code: str):
    """Record that a member settled in a city. It changes nothing: the record says which rights the household
    keeps (all of them) and that the membership stays (农村土地承包法 第二十七条)."""
    form = request.form
    try:
        found = parties.get_household(unit_of_work(write=False), actor=actor(), code=code)
        data = load(SettlementCreateSchema(), {"person_id": _number(form.get("person_id", "")),
                                               "settled_on": form.get("settled_on", ""),
                                               "city_code": form.get("city_code", "").strip()}
                    | ({"hukou_ref": form["hukou_ref"].strip()} if form.get("hukou_ref", "").strip() else {}))
        if data["person_id"].public not in {m["id"] for m in found["members"]}:
            raise DomainError("落户人员须是本户成员", "The person who settled must be a member of this household",
                              status=422, errors={"person_id": ["not a member of this household"]})
        made = transfers.record_settlement(unit_of_work(), actor=actor(), **data)
    except DomainError as e:
        return household(code, error=e, status=e.status, form="settlement")
    return redirect(url_for("console.settlement", settlement_id=made["id"], saved=1), code=303)


@bp.route("/settlements/<row:settlement_id>")
def settlement(settlement_id: RowKey):
    """A settlement record: who settled where and when, and the rights the household kept, each as it is today."""
    found = transfers.get_settlement(unit_of_work(write=False), actor=actor(), settlement_id=settlement_id)
    return page("console/settlement.html", settlement=found)
