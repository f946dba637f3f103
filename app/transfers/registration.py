"""Management rights (土地经营权) as the API shows them, and the registration of one of five years or more
(农村土地承包法 第四十一条): recorded with its number in the ledger, and printed with a QR code.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, coded, county_row
from app.errors import NotFound, RuleViolation
from app.ids import RowKey
from app.ledger import services as ledger
from app.ledger.models import LedgerEntry
from app.parcels.queries import ParcelRepository
from app.parcels.services import map_over_neighbours, parcel_rows
from app.parties.services import REGISTRY_WRITERS, household_label, party_label, require_role
from app.rights.certificates import register_number
from app.rights.models import Right
from app.transfers.documents import RegistrationDocument, render_registration
from app.transfers.models import ManagementRight, ManagementRightParcel, Transfer
from app.transfers.views import iso_day
from gis.codes import mask_id_number

#: 第四十一条: a management right of this many years or more may be registered.
REGISTRABLE_YEARS = 5
#: What the registration number names after the year and the county.
REGISTRATION_TITLE = "土地经营权"


def runs_at_least(start: dt.date, end: dt.date, years: int) -> bool:
    """Whether a term from ``start`` to ``end`` (inclusive) lasts ``years`` whole years or more.

    >>> runs_at_least(dt.date(2026, 3, 1), dt.date(2031, 2, 28), 5), runs_at_least(dt.date(2026, 3, 2),
    ...                                                                              dt.date(2031, 2, 28), 5)
    (True, False)
    """
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February: the term's years are whole on 1 March
        anniversary = start.replace(year=start.year + years, month=3, day=1)
    return end + dt.timedelta(days=1) >= anniversary


def get_management_right(uow: UnitOfWork, *, actor: Principal, management_right_id: RowKey) -> dict:
    with uow:
        s = uow.session
        return management_right_view(s, _visible(s, actor, management_right_id), actor)


def register_management_right(uow: UnitOfWork, *, actor: Principal, management_right_id: RowKey,
                              registered_on: dt.date) -> dict:
    """Register a management right of five years or more, on the day the registration office recorded it.

    Raises:
        RuleViolation: REGISTRATION_TERM_TOO_SHORT (under five years, 第四十一条); ALREADY_REGISTERED;
            RIGHT_NOT_ACTIVE (it ended, or was voided, before ``registered_on``); DATE_ORDER (before the right
            began, or after today).
        NotFound: unknown, or outside the scope.
        Forbidden: a role that does not keep the register.
    """
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        s = uow.session
        right = _visible(s, actor, management_right_id, lock=True)
        if right.registration_number is not None:
            raise RuleViolation("ALREADY_REGISTERED", details={"number": right.registration_number})
        if not runs_at_least(right.start, right.end, REGISTRABLE_YEARS):
            raise RuleViolation("REGISTRATION_TERM_TOO_SHORT", details={
                "start": right.start.isoformat(), "end": right.end.isoformat(), "least_years": REGISTRABLE_YEARS})
        if registered_on > dt.date.today():
            raise RuleViolation("DATE_ORDER", reason_zh="登记日期晚于今天", reason_en="registered_on is in the future")
        if registered_on < right.start:
            raise RuleViolation("DATE_ORDER", reason_zh="登记日期早于土地经营权起始日",
                                reason_en="registered_on is before the management right began",
                                details={"start": right.start.isoformat()})
        voided = s.scalar(select(Transfer.status).where(
            Transfer.county_code == right.county_code, Transfer.id == right.transfer_id)) == "voided"
        if registered_on > right.end or voided:
            raise RuleViolation("RIGHT_NOT_ACTIVE", details={"management_right": ids.of(right),
                                                             "end": right.end.isoformat()})
        head = ledger.lock_log(s, right.county_code)  # the yearly serial is read under the log's lock
        serial = 1 + (s.scalar(select(func.max(ManagementRight.registration_serial)).where(
            ManagementRight.county_code == right.county_code,
            ManagementRight.registered_on >= dt.date(registered_on.year, 1, 1),
            ManagementRight.registered_on <= dt.date(registered_on.year, 12, 31))) or 0)
        number = register_number(right.county_code, registered_on.year, REGISTRATION_TITLE, serial)
        parcels = _parcels(s, right)
        seq = ledger.append(s, county=right.county_code, kind="management_right.registered", actor=actor,
                            subjects=[number, right.contract_right_id, *parcels], head=head,
                            data={"management_right": right.id, "transfer": right.transfer_id, "number": number,
                                  "registered_on": registered_on.isoformat(), "kind": right.kind,
                                  "holder": _holder(right), "term": [right.start.isoformat(), right.end.isoformat()],
                                  "parcels": parcels})
        right.registration_number, right.registration_serial = number, serial
        right.registered_on, right.registration_seq = registered_on, seq
        s.flush()
        view = management_right_view(s, right, actor, parcels=parcels)
        uow.commit()
    return view


def registration_pdf(uow: UnitOfWork, *, actor: Principal, management_right_id: RowKey) -> bytes:
    """The registration of a management right, printed from what its ledger entry recorded.

    Raises:
        RuleViolation: NOT_REGISTERED before it is registered.
        NotFound: unknown, or outside the scope.
    """
    with uow:
        s = uow.session
        right = _visible(s, actor, management_right_id)
        if right.registration_number is None or right.registration_seq is None or right.registered_on is None:
            raise RuleViolation("NOT_REGISTERED", details={"management_right": ids.of(right)})
        entry = s.get(LedgerEntry, (right.county_code, right.registration_seq))
        assert entry is not None, "a registration has its entry"
        contract = coded(s, Right, right.contract_right_id)
        assert contract is not None, "a management right's contract exists (foreign key)"
        repo = ParcelRepository(s)
        codes = _parcels(s, right)
        versions = [v for v in (repo.current(c) for c in codes) if v is not None]
        document = RegistrationDocument(
            number=right.registration_number,
            holder=household_label(s, right.holder_household) if right.holder_household else party_label(
                {"name": right.holder_name, "credit_code": right.holder_credit_code,
                 "id_number": right.holder_id_number}),
            contractor=household_label(s, contract.holder_code), right=contract.code, kind=right.kind,
            parcels=parcel_rows(versions), start=right.start, end=right.end, registered_on=right.registered_on,
            ledger_seq=entry.seq, ledger_hash=entry.leaf_hash,
            qr_payload=f"{right.registration_number}|{right.county_code}|{entry.seq}|{entry.leaf_hash}",
            map_png=map_over_neighbours(repo, [v.geom for v in versions], codes, image_format="jpeg")
            if versions else None)
    return render_registration(document)


def management_right_view(s: Session, right: ManagementRight, actor: Principal, *,
                          parcels: list[str] | None = None) -> dict:
    """A management right: who holds it, on which contract's parcels, for what term, and its registration."""
    return {"id": ids.of(right), "kind": right.kind, "transfer": ids.public_id(right.county_code, right.transfer_id),
            "contract_right": right.contract_right_id,
            "holder": {"household": right.holder_household, "name": right.holder_name,
                       "credit_code": right.holder_credit_code,
                       "id_number": right.holder_id_number if actor.sees_id_numbers or not right.holder_id_number
                       else mask_id_number(right.holder_id_number)},
            "parcels": parcels if parcels is not None else _parcels(s, right),
            "start": right.start, "end": right.end,
            "registrable": runs_at_least(right.start, right.end, REGISTRABLE_YEARS),
            "registration": None if right.registration_number is None else {
                "number": right.registration_number, "registered_on": iso_day(right.registered_on),
                "ledger_seq": right.registration_seq},
            "ledger_seq": right.ledger_seq}


def _visible(s: Session, actor: Principal, management_right_id: RowKey, lock: bool = False) -> ManagementRight:
    right = county_row(s, ManagementRight, management_right_id, lock=lock)
    if right is None or not actor.sees(right.contract_right_id):
        raise NotFound("土地经营权", "Management right", management_right_id)
    return right


def _parcels(s: Session, right: ManagementRight) -> list[str]:
    return list(s.scalars(select(ManagementRightParcel.parcel_code).where(
        ManagementRightParcel.county_code == right.county_code, ManagementRightParcel.management_right_id == right.id,
    ).order_by(ManagementRightParcel.id)))


def _holder(right: ManagementRight) -> dict:
    return {"household": right.holder_household, "name": right.holder_name,
            "id_number": right.holder_id_number, "credit_code": right.holder_credit_code}
