from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, county_key, county_ref, utcnow

RIGHT_TYPES = ("contract", "homestead", "income_share")
#: The letter after the 18-digit household code in a right's id. ``J`` is NY/T 2539's
#: family-contract code (CBHTBM = CBFBM + J); the others follow the same pattern.
ID_SUFFIX = {"contract": "J", "homestead": "Z", "income_share": "G"}
#: A right's printed code: household code + the type's letter (NY/T 2539 CBHTBM for a contract).
CODE_LENGTH = 19
#: A right's id is its code for the household's first right of the type and ``<code>-<n>`` for the n-th
#: (n ≥ 2), so successive contracts of one household (a later term after a return, a contract emptied by
#: transfer and land received again) coexist in the history under one printed code.
ID_LENGTH = CODE_LENGTH + 5


def right_code(right_id: str) -> str:
    """The printed 19-character code of the right ``right_id`` names."""
    return right_id[:CODE_LENGTH]


def right_id_for(code: str, n: int) -> str:
    """The id of the household's ``n``-th right under ``code`` (1 = the code itself)."""
    return code if n == 1 else f"{code}-{n}"


class Right(Base):
    """A household's right (LADM RRR): contract, homestead or income share.

    Never overwritten: ending a right fills ``valid_to``; parcels join and leave
    through :class:`RightParcel` links with lifespans of their own.
    """

    __tablename__ = "rights"

    #: the code (first right of its type) or ``<code>-<n>`` (the household's n-th); see :data:`ID_LENGTH`.
    id: Mapped[str] = mapped_column(String(ID_LENGTH))
    type: Mapped[str] = mapped_column(String(20))
    holder_code: Mapped[str] = mapped_column(String(18), index=True)
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    #: contract term start (农村土地承包法 第二十一条), homestead approval date, or share quantification date.
    start: Mapped[dt.date] = mapped_column(Date)
    #: last day of the contract term, inclusive as on real contracts; None for the other types.
    end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    acquisition: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: the homestead approval (土地管理法 第六十二条: approved by the township government).
    approval_document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    @property
    def code(self) -> str:
        """The printed code: the same for every contract of the household (household code + ``J``)."""
        return right_code(self.id)

    @property
    def number(self) -> int:
        """Which of the household's rights under this code it is: 1, 2, …"""
        return int(self.id[CODE_LENGTH + 1:]) if len(self.id) > CODE_LENGTH else 1

    __table_args__ = (
        county_key("id", number=False), county_ref("holder_code", "households.code"),
        county_ref("approval_document_id", "documents.id"),
        # One right of each type per household at a time (one family contract, one homestead).
        Index("uq_rights_holder_type_open", "holder_code", "type", "county_code", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        # the summary's rights by type and status, read from the index alone (app.reports.services.summary)
        Index("ix_rights_type_id", "type", "id", "valid_to"),
    )


class RightParcel(Base):
    """A parcel under a right for a lifespan (NY/T 2539 CBDKXX for contracts)."""

    __tablename__ = "right_parcels"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    right_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    parcel_code: Mapped[str] = mapped_column(String(19))
    county_code: Mapped[str] = mapped_column(String(6))
    #: contract area (HTMJ), kept beside the measured area of the parcel version.
    contract_area_m2: Mapped[float | None] = mapped_column(Numeric(14, 2), nullable=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    end_ledger_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)

    __table_args__ = (
        county_key("id"), county_ref("right_id", "rights.id"), county_ref("parcel_code", "parcels.code"),
        # One active right per parcel (农村土地承包法 第二十三、二十四条).
        Index("uq_right_parcels_open_parcel", "parcel_code", "county_code", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        Index("ix_right_parcels_parcel_code", "parcel_code"),
    )


HOUSE_DISPOSALS = ("sold", "rented_out", "given_away")


class HouseDisposal(Base):
    """A household sold, rented out or gave away its house: no new homestead after it.

    土地管理法 第六十二条: 农村村民出卖、出租、赠与住宅后，再申请宅基地的，不予批准。
    """

    __tablename__ = "house_disposals"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    household_code: Mapped[str] = mapped_column(String(18), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        county_key("id"), county_ref("household_code", "households.code"), county_ref("document_id", "documents.id"),
    )


class SharePlan(Base):
    """A collective's plan for quantifying income rights as shares (农村集体经济组织法 第四十、四十二条).

    Versioned: a new plan closes the previous one (``valid_to``).
    """

    __tablename__ = "share_plans"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    total_shares: Mapped[float] = mapped_column(Numeric(18, 4))
    #: per-household cap on holdings, including shares bought from other members [sec].
    max_holding_per_household: Mapped[float | None] = mapped_column(Numeric(18, 4), nullable=True)
    #: shares are whole numbers under this plan.
    whole_shares: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    def takes(self, shares: Decimal) -> bool:
        """Whether ``shares`` is a quantity this plan allows: a whole number where it says so (SHARES_NOT_WHOLE)."""
        return not self.whole_shares or shares == shares.to_integral_value()

    def holds(self, total: Decimal) -> bool:
        """Whether the collective's shares can total ``total`` under this plan (SHARES_EXCEED_PLAN)."""
        return total <= Decimal(str(self.total_shares))

    def allows_holding(self, holding: Decimal) -> bool:
        """Whether one household may hold ``holding`` shares under this plan's cap (SHARE_HOLDING_CAP)."""
        return self.max_holding_per_household is None or holding <= Decimal(str(self.max_holding_per_household))

    __table_args__ = (
        county_key("id"), county_ref("collective_code", "collectives.code"),
        Index("uq_share_plans_open_collective", "collective_code", "county_code", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
    )


class RightShares(Base):
    """How many shares an income-share right holds, for a lifespan."""

    __tablename__ = "right_shares"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    right_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    shares: Mapped[float] = mapped_column(Numeric(18, 4))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (county_key("id"), county_ref("right_id", "rights.id"))


class Certificate(Base):
    """A printed certificate of a right; re-issuing supersedes the old one with a reason."""

    __tablename__ = "certificates"

    #: e.g. 辽(2026)东港市农村土地承包经营权第000001号: province, year, county, right, yearly serial.
    number: Mapped[str] = mapped_column(String(80))
    right_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    superseded_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    #: the issuing ledger entry; its leaf hash is printed in the QR code.
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        county_key("number"), county_ref("right_id", "rights.id"),
        Index("uq_certificates_county_year_serial", "county_code", "year", "serial", unique=True),
    )
