"""Listings on the exchange desk and the bids on them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, county_key, county_ref, utcnow
from app.rights.models import ID_LENGTH

#: What a listing offers: a 转让 of contract land, a homestead or income shares; a lease (出租/转包) or a
#: share-in (入股) of contract land's management right.
LISTING_KINDS = ("transfer", "lease", "share_in")
#: announced → awarded (a transfer then runs its workflow) or withdrawn by the holder before the award.
LISTING_STATUSES = ("announced", "awarded", "withdrawn")


class Listing(Base):
    """A right (or some of its parcels or shares) offered on the exchange desk, with the holder's consent."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    right_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    holder_code: Mapped[str] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: the parcels offered (contract land; a homestead's plot), in the order listed.
    parcels: Mapped[list[str]] = mapped_column(JSON, default=list)
    shares: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    asking_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: lease / share_in: last day of the management right offered (≤ the contract's end, 第三十八条).
    term_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: lease / share_in: the contract's clauses offered (第四十条), carried into the awarded transfer.
    contract_terms: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    listed_on: Mapped[dt.date] = mapped_column(Date)
    #: working days the public announcement runs (setting SANQUAN_ANNOUNCEMENT_WORKING_DAYS, the least).
    announcement_days: Mapped[int] = mapped_column(Integer)
    consent_person_id: Mapped[int] = mapped_column(Integer)
    consent_signed_on: Mapped[dt.date] = mapped_column(Date)
    consent_document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="announced")
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    awarded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    winning_bid_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the award: method (negotiated 协议 / bidding 竞价), the bids weighed, and a priority applied.
    award: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    transfer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        county_key("id"), county_ref("right_id", "rights.id"), county_ref("holder_code", "households.code"),
        county_ref("consent_person_id", "persons.id"), county_ref("consent_document_id", "documents.id"),
        county_ref("transfer_id", "transfers.id"),
    )


class Bid(Base):
    """A bid on a listing, on the day it was made: a household's, or (lease, share-in) an outside party's."""

    __tablename__ = "listing_bids"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(Integer, index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    bidder_household: Mapped[str | None] = mapped_column(String(18), nullable=True)
    #: an outside party: {name, id_number | credit_code}.
    bidder_party: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    bid_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        county_key("id"), county_ref("listing_id", "listings.id"), county_ref("bidder_household", "households.code"),
    )

