from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, county_key
from app.ledger.services import canonical_json

#: Dispute categories the arbitration committees take (农村土地承包经营纠纷调解仲裁法 第二条; 农村集体经济组织法
#: 第五十六条 for membership and income distribution); expropriation is named so it can be refused.
CATEGORIES = ("contract", "transfer", "taking_back", "confirmation", "infringement", "membership",
              "income_distribution", "expropriation")
PROCEDURES = ("mediation", "arbitration")
#: ``received`` (applied; for mediation: being mediated), ``accepted``, then one of the ends: ``rejected``,
#: ``withdrawn``, ``mediated`` (an agreement signed: binding), ``awarded`` (binding once the time to sue
#: has passed), ``in_court`` (a party sued), ``finalized`` (its registry orders executed).
DISPUTE_STATUSES = ("received", "accepted", "rejected", "withdrawn", "mediated", "awarded", "in_court", "finalized")
#: Statuses in which nothing more happens at the committee.
ENDED = frozenset({"rejected", "withdrawn", "in_court", "finalized"})


class Dispute(Base):
    """A dispute brought to the county's mediation or arbitration, from the application on.

    ``events`` records the day each step happened (``received``, ``accepted`` …); the statutory
    deadlines are computed from them on the working-day calendar (:mod:`app.disputes.calendar`).
    ``record`` keeps what each step decided (the tribunal, hearings, recusals, the award and its
    registry orders …) with the evidence documents attached to it.
    """

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, autoincrement=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    #: the longest common division prefix (at least the county) of its parties' and subjects' codes: a user's
    #: scope covers every one of them exactly when it is a prefix of this, so listing filters ``LIKE scope%``.
    division_code: Mapped[str] = mapped_column(String(14))
    procedure: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(30))
    #: ``{kind: household|person|collective|outside, code?, name}``
    applicant: Mapped[dict] = mapped_column(JSON)
    respondent: Mapped[dict] = mapped_column(JSON)
    rights: Mapped[list] = mapped_column(JSON)
    parcels: Mapped[list] = mapped_column(JSON)
    claims: Mapped[str] = mapped_column(Text)
    knew_of_harm_on: Mapped[dt.date] = mapped_column(Date)
    received_on: Mapped[dt.date] = mapped_column(Date)
    time_barred: Mapped[bool] = mapped_column(Boolean)
    freeze: Mapped[bool] = mapped_column(Boolean)  #: its rights and parcels are frozen now (until the case ends)
    status: Mapped[str] = mapped_column(String(20), default="received")
    events: Mapped[dict] = mapped_column(JSON)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    record: Mapped[dict] = mapped_column(JSON, default=dict)
    opened_by: Mapped[str] = mapped_column(String(100))
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (
        county_key("id"),
        # prefix searches (LIKE 'scope%') use it on PostgreSQL whatever the database's collation
        Index("ix_disputes_division_code", "division_code", postgresql_ops={"division_code": "varchar_pattern_ops"}),
    )

    def state(self) -> dict:
        """The case as its ledger entries record it (:func:`dispute_state`)."""
        return dispute_state(status=self.status, events=self.events, extension_days=self.extension_days,
                             freeze=self.freeze, record=self.record)


def dispute_state(*, status: str, events: dict, extension_days: int, freeze: bool, record: dict | None) -> dict:
    """What a case's ledger entry says the row holds after it: the replay puts exactly this, so an edit of
    the row that bypassed the ledger (a status, a freeze flag, a step's record) shows up on verification."""
    return {"status": status, "events": dict(sorted(events.items())), "extension_days": extension_days,
            "freeze": freeze, "record_sha256": hashlib.sha256(canonical_json(record or {})).hexdigest()}
