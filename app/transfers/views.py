"""Transfers as the API shows them: one, a page, and the view both are made of."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import bindparam, select

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, county_row
from app.errors import NotFound
from app.ids import RowKey
from app.queries import after_row, county_order
from app.rights.models import CODE_LENGTH
from app.rights.services import (
    rights_under,
)
from app.transfers.models import (
    ManagementRight,
    Transfer,
    TransferParcel,
    TransferPayment,
)


def iso_day(day: dt.date | None) -> str | None:
    """A date as the ledger and the API write it, ``YYYY-MM-DD``, or None."""
    return day.isoformat() if day else None


def get_transfer(uow: UnitOfWork, *, actor: Principal, transfer_id: RowKey) -> dict:
    with uow:
        t = county_row(uow.session, Transfer, transfer_id)
        if t is None or not actor.sees(t.right_id):
            raise NotFound("流转", "Transfer", transfer_id)
        return transfer_view(uow.session, t)


def list_transfers(uow: UnitOfWork, *, actor: Principal, right: str | None = None, household: str | None = None,
                   status: str | None = None, limit: int = 50, cursor: RowKey | None = None) -> dict:
    with uow:
        s = uow.session
        q = select(Transfer).where(Transfer.right_id >= actor.scope, Transfer.right_id < actor.scope + ":")
        if right:  # a code names every contract of the household under it (``<code>-<n>``)
            named = [right] + ([r.id for r in rights_under(s, right)] if len(right) == CODE_LENGTH else [])
            q = q.where(Transfer.right_id.in_(named) | Transfer.counter_right_id.in_(named))
        if household:
            q = q.where((Transfer.from_household == household) | (Transfer.to_household == household))
        if status:
            q = q.where(Transfer.status == status)
        if cursor:
            q = q.where(after_row(Transfer, cursor))
        rows = s.scalars(q.order_by(*county_order(Transfer)).limit(limit + 1)).all()
        items = [transfer_view(s, t) for t in rows[:limit]]
    return {"items": items, "next_cursor": str(ids.of(rows[limit - 1])) if len(rows) > limit else None}


_UNKNOWN = object()
#: Built once: every transfer step's answer reads these.
_PARCEL_CODES = (select(TransferParcel.parcel_code)
                 .where(TransferParcel.county_code == bindparam("county"),
                        TransferParcel.transfer_id == bindparam("id"))
                 .order_by(TransferParcel.id))
_PAYMENTS = TransferPayment.__table__
_PAYMENT_ROWS = (select(_PAYMENTS).where(_PAYMENTS.c.county_code == bindparam("county"),
                                         _PAYMENTS.c.transfer_id == bindparam("id")).order_by(_PAYMENTS.c.id))


def payments_of(s, t: Transfer | SimpleNamespace) -> list:
    """The transfer's payments as rows, first to last (what its view shows and its total is made of). A plain
    statement: what the caller added must be flushed first."""
    return list(s.connection().execute(_PAYMENT_ROWS, {"county": t.county_code, "id": t.id}))


def paid_total(payments) -> Decimal:
    """What the payments add up to, in yuan with two decimals (amounts are stored with two)."""
    return sum((Decimal(str(p.amount)) for p in payments), Decimal("0.00"))


def transfer_view(s, t: Transfer | SimpleNamespace, *, parcels=None, payments=None, management_right=_UNKNOWN) -> dict:
    """A transfer (or a row of its columns) as the API shows it; what the caller already holds is not read again."""
    if payments is None or parcels is None:
        s.flush()  # what the caller added goes out before the plain statements below read it
    if payments is None:
        payments = payments_of(s, t)
    if parcels is None:
        parcels = s.connection().execute(_PARCEL_CODES, {"county": t.county_code, "id": t.id}).scalars().all()
    if management_right is _UNKNOWN:  # only a completed (or since voided) lease or share-in has one
        granted = t.status in ("completed", "voided") and t.kind in ("lease", "share_in")
        management_right = s.scalar(select(ManagementRight.id).where(
            ManagementRight.county_code == t.county_code, ManagementRight.transfer_id == t.id)) if granted else None
    county = t.county_code
    return {"id": ids.public_id(county, t.id), "kind": t.kind, "status": t.status, "right": t.right_id,
            "from": t.from_household, "to": t.to_household, "counter_right": t.counter_right_id,
            "parcels": list(parcels),
            "shares": None if t.shares is None else str(t.shares), "price": str(t.price),
            "paid": str(paid_total(payments)),
            "payments": [{"amount": str(p.amount), "paid_on": p.paid_on, "reference": p.reference,
                          "ledger_seq": p.ledger_seq} for p in payments],
            "term_end": t.term_end, "contract_terms": t.contract_terms, "notice_given_on": t.notice_given_on,
            "consent": {"signed_by_person_id": ids.public_id(county, t.consent_person_id),
                        "signed_on": t.consent_signed_on, "document": ids.optional(county, t.consent_document_id),
                        "voluntary": True},
            "counter_consent": counter_consent_view(county, t.counter_consent),
            "issuer": {"decision": t.issuer_decision, "decided_on": t.issuer_decided_on, "grounds": t.issuer_grounds},
            "to_party": t.to_party,
            "management_right": ids.optional(county, management_right),
            "completed_on": t.completed_on, "created_at": t.created_at, "ledger_seq": t.ledger_seq}


def counter_consent_view(county: str, consent: dict | None) -> dict | None:
    """The counterpart's consent to an exchange as stored (its signer and document by their numbers in the
    county, as the ledger has them), with the API's ids."""
    if consent is None:
        return None
    return consent | {"signed_by_person_id": ids.public_id(county, consent["signed_by_person_id"]),
                      "document": ids.optional(county, consent.get("document"))}
