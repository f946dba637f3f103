from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Geometry, UTCDateTime, county_key, county_ref, utcnow

PARCEL_KINDS = ("contract_land", "homestead", "reserve", "private_plot", "other")
LAND_USES = ("cultivated", "garden", "forest", "grassland", "homestead", "other")
#: The land uses as documents print them (GB/T 21010's first-level classes).
LAND_USES_ZH = {"cultivated": "耕地", "garden": "园地", "forest": "林地", "grassland": "草地",
                "homestead": "宅基地", "other": "其他"}


class Parcel(Base):
    """A parcel's identity (地块编码); everything that can change lives in versions."""

    __tablename__ = "parcels"

    code: Mapped[str] = mapped_column(String(19))  #: DKBM
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (county_key("code"), county_ref("collective_code", "collectives.code"))


class ParcelVersion(Base):
    """One version of a parcel (LADM lifespan): never overwritten, only closed.

    The current version has ``valid_to IS NULL``. On SQLite its bounding box
    is mirrored into the ``parcel_rtree`` R*Tree by triggers; on PostGIS a
    partial GiST index covers ``geom`` of current versions.
    """

    __tablename__ = "parcel_versions"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    parcel_code: Mapped[str] = mapped_column(String(19))
    version: Mapped[int] = mapped_column(Integer)
    collective_code: Mapped[str] = mapped_column(String(14))
    county_code: Mapped[str] = mapped_column(String(6))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    land_use: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: area written on the confirmation record (SCMJ/HTMJ), kept beside the measured one.
    declared_area_m2: Mapped[float | None] = mapped_column(Numeric(14, 2), nullable=True)
    basic_farmland: Mapped[bool] = mapped_column(Boolean, default=False)  #: SFJBNT
    #: measured in the parcel's CGCS2000 3-degree Gauss-Kruger zone (docs/rules.md §5).
    area_m2: Mapped[float] = mapped_column(Float)
    geom = mapped_column(Geometry, nullable=False)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        county_key("id"), county_ref("parcel_code", "parcels.code"),
        Index("uq_parcel_versions_code_version", "parcel_code", "version", "county_code", unique=True),
        Index("uq_parcel_versions_current", "parcel_code", "county_code", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        Index("ix_parcel_versions_collective_current", "collective_code", "parcel_code",
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        # the westmost and eastmost current parcel of a county (ParcelRepository.county_longitudes)
        Index("ix_parcel_versions_county_minx", "county_code", "minx",
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        Index("ix_parcel_versions_county_maxx", "county_code", "maxx",
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        # the summary's area by land use, read from the index alone (app.reports.services.summary)
        Index("ix_parcel_versions_current_land_use", "land_use", "parcel_code", "area_m2", "valid_to",
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
    )
