"""Transfers as the API shows them: one, a page, and the view both are made of."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import bindparam, select

from app.auth.services import Principal
from app.db import UnitOfWork
from app.errors import NotFound
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
#: Built once: every transfer step's answer reads these.
_PARCEL_CODES = (select(TransferParcel.parcel_code).where(TransferParcel.transfer_id == bindparam("id"))
                 .order_by(TransferParcel.id))
_PAYMENTS = TransferPayment.__table__
_PAYMENT_ROWS = select(_PAYMENTS).where(_PAYMENTS.c.transfer_id == bindparam("id")).order_by(_PAYMENTS.c.id)


def payments_of(s, transfer_id: int) -> list:
    """The transfer's payments as rows, first to last (what its view shows and its total is made of). A plain
    statement: what the caller added must be flushed first."""
    return list(s.connection().execute(_PAYMENT_ROWS, {"id": transfer_id}))


def paid_total(payments) -> Decimal:
    """What the payments add up to, in yuan with two decimals (amounts are stored with two)."""
    return sum((Decimal(str(p.amount)) for p in payments), Decimal("0.00"))


def transfer_view(s, t: Transfer | SimpleNamespace, *, parcels=None, payments=None, management_right=_UNKNOWN) -> dict:
    """A transfer (or a row of its columns) as the API shows it; what the caller already holds is not read again."""
    if payments is None or parcels is None:
        s.flush()  # what the caller added goes out before the plain statements below read it
    if payments is None:
        payments = payments_of(s, t.id)
    if parcels is None:
        parcels = s.connection().execute(_PARCEL_CODES, {"id": t.id}).scalars().all()
    if management_right is _UNKNOWN:  # only a completed (or since voided) lease or share-in has one
        granted = t.status in ("completed", "voided") and t.kind in ("lease", "share_in")
        management_right = s.scalar(select(ManagementRight.id).where(ManagementRight.transfer_id == t.id)) \
            if granted else None
    return {"id": t.id, "kind": t.kind, "status": t.status, "right": t.right_id, "from": t.from_household,
            "to": t.to_household, "counter_right": t.counter_right_id, "parcels": list(parcels),
            "shares": None if t.shares is None else str(t.shares), "price": str(t.price),
            "paid": str(paid_total(payments)),
            "payments": [{"amount": str(p.amount), "paid_on": p.paid_on, "reference": p.reference,
                          "ledger_seq": p.ledger_seq} for p in payments],
            "term_end": t.term_end, "contract_terms": t.contract_terms, "notice_given_on": t.notice_given_on,
            "consent": {"signed_by_person_id": t.consent_person_id, "signed_on": t.consent_signed_on,
                        "document": t.consent_document_id, "voluntary": True},
            "counter_consent": t.counter_consent,
            "issuer": {"decision": t.issuer_decision, "decided_on": t.issuer_decided_on, "grounds": t.issuer_grounds},
            "to_party": t.to_party,
            "management_right": management_right,
            "completed_on": t.completed_on, "created_at": t.created_at, "ledger_seq": t.ledger_seq}
