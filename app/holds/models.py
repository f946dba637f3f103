"""What keeps a right or a parcel from moving: an open transfer's hold (RIGHT_BUSY) and a dispute's
freeze (RIGHT_IN_DISPUTE)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, county_key, county_ref


class TransferHold(Base):
    """The database's guarantee of one open transfer or listing per right and per parcel (RIGHT_BUSY).

    An open transfer, or a listing on the exchange desk, holds a row per right (``right:<id>``) and parcel
    (``parcel:<code>``) it touches; the primary key makes a second claim fail inside the database, race or
    no race, whichever of the two claims first. The rows go when the transfer closes or the listing is
    withdrawn or awarded (its transfer then holds them).
    """

    __tablename__ = "transfer_holds"

    key: Mapped[str] = mapped_column(String(30))
    #: the county of the right or parcel held (its code begins with it)
    county_code: Mapped[str] = mapped_column(String(6))
    #: exactly one of transfer_id and listing_id is set.
    transfer_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    listing_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)

    __table_args__ = (
        county_key("key"), county_ref("transfer_id", "transfers.id"), county_ref("listing_id", "listings.id"),
    )


class Freeze(Base):
    """A right or parcel frozen while a dispute is open (RIGHT_IN_DISPUTE); the dispute module sets them."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    #: a right id (19 characters) or a parcel code (19 digits).
    subject: Mapped[str] = mapped_column(String(19), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    reason: Mapped[str] = mapped_column(Text)
    dispute_ref: Mapped[str | None] = mapped_column(String(50), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    frozen_on: Mapped[dt.date] = mapped_column(Date)
    lifted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (county_key("id"),)

