from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, county_key, county_ref, utcnow

MEMBERSHIP_BASES = ("birth", "marriage", "adoption", "resettlement", "original")
#: 农村集体经济组织法 第十七、十八条: the only grounds on which membership ends.
LAWFUL_TERMINATION_GROUNDS = ("death", "nationality_lost", "joined_other_collective",
                              "civil_servant", "voluntary_exit")
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling",
             "child_in_law", "other")
DOCUMENT_KINDS = ("resolution", "contract", "consent", "id_card", "approval", "notice",
                  "certificate", "evidence", "other")


class Collective(Base):
    """A collective economic organisation issuing contracts (发包方)."""

    __tablename__ = "collectives"

    code: Mapped[str] = mapped_column(String(14))  #: FBFBM
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: "village" when the group digits are 00, else "group" (NY/T 2539).
    level: Mapped[str] = mapped_column(String(10))
    #: the collective's own homestead area standard, when the province's differs by place
    #: (土地管理法 第六十二条); None = SANQUAN_HOMESTEAD_MAX_M2.
    homestead_max_m2: Mapped[float | None] = mapped_column(Numeric(8, 2), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (county_key("code"),)


class Household(Base):
    """A contracting household (承包方), coded collective + 0001–8000."""

    __tablename__ = "households"

    code: Mapped[str] = mapped_column(String(18))  #: CBFBM
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    members: Mapped[list[Person]] = relationship(
        back_populates="household", order_by="Person.id", lazy="selectin")

    __table_args__ = (county_key("code"), county_ref("collective_code", "collectives.code"))


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    household_code: Mapped[str] = mapped_column(String(18), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: GB 11643 resident ID number, checked; one person, one household.
    id_number: Mapped[str] = mapped_column(String(18))
    sex: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    relation: Mapped[str] = mapped_column(String(20))  #: to the head (YHZGX)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    household: Mapped[Household] = relationship(back_populates="members")

    __table_args__ = (county_key("id"), county_ref("household_code", "households.code"),
                      UniqueConstraint("id_number", "county_code", name="uq_persons_id_number"))


class IdNumber(Base):
    """A resident ID number, registered once in the whole registry (GB 11643: one number, one person).

    A county's persons are unique by number within the county (their unique index holds the county, as a
    distributed deployment needs); this table holds each number once across counties, so a second registration
    of a number, in any county and however the two race, is refused by its primary key. A distributed deployment
    keeps it as a reference table, a copy on every node: the registration reads and writes it with the person, in
    the same transaction.
    """

    __tablename__ = "id_numbers"

    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    person_id: Mapped[int] = mapped_column(Integer)


class Membership(Base):
    """Membership of a collective economic organisation, with its lifespan.

    Never deleted: termination fills ``valid_to`` with a lawful ground
    (农村集体经济组织法 第十七、十八条).
    """

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    collective_code: Mapped[str] = mapped_column(String(14), index=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    basis: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[dt.date] = mapped_column(Date)  #: members' assembly resolution date
    resolution_document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_ground: Mapped[str | None] = mapped_column(String(30), nullable=True)
    end_document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    end_ledger_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                                       nullable=True)

    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (
        county_key("id"), county_ref("collective_code", "collectives.code"), county_ref("person_id", "persons.id"),
        county_ref("resolution_document_id", "documents.id"), county_ref("end_document_id", "documents.id"),
        # At most one open membership per person (农村集体经济组织法 第十一条).
        Index("uq_memberships_open_person", "person_id", "county_code", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
    )

    @property
    def active(self) -> bool:
        return self.valid_to is None


class Document(Base):
    """Evidence (resolutions, contracts, consents, IDs), stored by content hash."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    #: whose it is, as a division-code prefix: the uploader's scope (at least the county) until it is first
    #: attached, then what it is attached to (widened to the common prefix when attached again). A user reads
    #: it only when the scope covers this.
    division_code: Mapped[str] = mapped_column(String(14))
    #: attached to a membership, right, transfer or case: a further attachment widens ``division_code``.
    attached: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (county_key("id"),)

