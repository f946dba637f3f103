"""Settlements in a city, voluntary paid transfers and exits, and the management rights they split off."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, county_key, county_ref, utcnow
from app.rights.models import ID_LENGTH

TRANSFER_KINDS = ("transfer", "exchange", "lease", "share_in", "exit")
#: pending → (issuer consent) → paid → completed; or withdrawn / refused; or voided, open or completed, by a
#: binding award that found it made under duress (民法典 第一百五十条; see ``void_transfer``).
TRANSFER_STATUSES = ("pending", "consented", "paid", "completed", "withdrawn", "refused", "voided")
OPEN_STATUSES = ("pending", "consented", "paid")
#: The issuer's answer to a 转让 (农村土地承包法 第三十四条; 司法解释 第十三条: a refusal without
#: legal grounds, or no answer, does not make the transfer void).
ISSUER_DECISIONS = ("granted", "refused", "refused_without_grounds", "no_answer")


class Settlement(Base):
    """A member's settling in a city (进城落户). Recorded, never acted upon: it ends and restricts nothing.

    农村土地承包法 第二十七条; 土地管理法实施条例 第三十六条; 国发〔2014〕25号.
    """

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    household_code: Mapped[str] = mapped_column(String(18), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    settled_on: Mapped[dt.date] = mapped_column(Date)
    #: GB/T 2260 code of the city (or its district) the person's hukou moved to.
    city_code: Mapped[str] = mapped_column(String(6))
    hukou_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (county_key("id"), county_ref("person_id", "persons.id"))


class Transfer(Base):
    """A voluntary, paid transfer, exchange, lease, share-in or exit of a right (or part of one)."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    right_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    from_household: Mapped[str] = mapped_column(String(18), index=True)
    to_household: Mapped[str | None] = mapped_column(String(18), index=True, nullable=True)
    #: an outside party taking a management right (lease / share_in): {name, id_number | credit_code}.
    to_party: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    counter_right_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    shares: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: lease / share_in: last day of the management right (≤ the contract's end, 第三十八条).
    term_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: exit of contract land: the day written notice reached the issuer (6 months ahead, 第三十条).
    notice_given_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: the holder's own signed, voluntary decision (农村土地承包法 第二十七条; 实施条例 第三十六条).
    consent_person_id: Mapped[int] = mapped_column(Integer)
    consent_signed_on: Mapped[dt.date] = mapped_column(Date)
    consent_document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: an exchange moves the other household's land too: its own signed consent
    #: {signed_by_person_id, signed_on, document, voluntary}.
    counter_consent: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    #: lease / share_in: the written contract's clauses beyond parties, parcels, term and price (农村土地承包法
    #: 第四十条): {use, payment, obligations, compensation, attachments, liability}, as agreed or the defaults.
    contract_terms: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    issuer_decision: Mapped[str | None] = mapped_column(String(30), nullable=True)
    issuer_decided_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    issuer_grounds: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        county_key("id"), county_ref("right_id", "rights.id"), county_ref("from_household", "households.code"),
        county_ref("to_household", "households.code"), county_ref("counter_right_id", "rights.id"),
        county_ref("consent_person_id", "persons.id"), county_ref("consent_document_id", "documents.id"),
    )


class TransferParcel(Base):
    """A parcel a transfer moves (contract land); for an exchange, also the counterpart's parcels."""

    __tablename__ = "transfer_parcels"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    transfer_id: Mapped[int] = mapped_column(Integer, index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    parcel_code: Mapped[str] = mapped_column(String(19), index=True)
    right_id: Mapped[str] = mapped_column(String(ID_LENGTH))

    __table_args__ = (
        county_key("id"), county_ref("transfer_id", "transfers.id"), county_ref("parcel_code", "parcels.code"),
        county_ref("right_id", "rights.id"),
    )


class TransferPayment(Base):
    """A payment towards a transfer's price (partial payments add up)."""

    __tablename__ = "transfer_payments"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    transfer_id: Mapped[int] = mapped_column(Integer, index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (county_key("id"), county_ref("transfer_id", "transfers.id"))


class ManagementRight(Base):
    """A land management right (土地经营权) split off a contract by a lease or share-in.

    农村土地承包法 第三十六—四十一条: the household keeps its contract right; the
    management right runs no longer than the contract's remaining term and may go to
    an outside party able to farm. ``holder_household`` is set when a registered
    household holds it; otherwise the holder is the named outside party.
    """

    __tablename__ = "management_rights"
    __table_args__ = (
        county_key("id"), county_ref("transfer_id", "transfers.id"), county_ref("contract_right_id", "rights.id"),
        county_ref("holder_household", "households.code"),
        Index("uq_management_rights_registration_number", "registration_number", "county_code", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    transfer_id: Mapped[int] = mapped_column(Integer, index=True)
    contract_right_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    kind: Mapped[str] = mapped_column(String(10))  #: lease | share_in
    holder_household: Mapped[str | None] = mapped_column(String(18), nullable=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_id_number: Mapped[str | None] = mapped_column(String(18), nullable=True)
    #: 统一社会信用代码 (GB 32100) of a company or cooperative.
    holder_credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)  #: inclusive
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    #: registration of a management right of 5 years or more (第四十一条): its number, yearly serial and day,
    #: and the ledger entry recording it. Unregistered, it cannot be asserted against a good-faith third party.
    registration_number: Mapped[str | None] = mapped_column(String(80), nullable=True)
    registration_serial: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registered_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    registration_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                                         nullable=True)


class ManagementRightParcel(Base):
    """A parcel under a management right; one at a time per parcel."""

    __tablename__ = "management_right_parcels"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    management_right_id: Mapped[int] = mapped_column(Integer, index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    parcel_code: Mapped[str] = mapped_column(String(19), index=True)
    #: the last day of the management right on this parcel, inclusive.
    end: Mapped[dt.date] = mapped_column(Date)

    __table_args__ = (
        county_key("id"), county_ref("management_right_id", "management_rights.id"),
        county_ref("parcel_code", "parcels.code"),
    )

