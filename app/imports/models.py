"""Import jobs: an uploaded land-confirmation package on its way into the registry."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

#: queued → reading → checking → ready → committing → committed, or failed from any of them.
#: ``ready`` waits for the clerk: a dry run, warnings not yet accepted, or blocking problems to fix.
JOB_STATUSES = ("queued", "reading", "checking", "ready", "committing", "committed", "failed")
RUNNING = ("queued", "reading", "checking", "committing")


class ImportJob(Base):
    """One uploaded package, its QA report and, once committed, the ledger range it wrote.

    The upload, the progress file and the full report live in the job's folder
    under the instance (``imports/<id>/``); the row holds the state and the summary.
    """

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the county the package belongs to, known once it is read; scope checks use it.
    county_code: Mapped[str | None] = mapped_column(String(6), index=True, nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str] = mapped_column(String(64))
    #: collective (when a plain layer is loaded into one), field_map, dry_run, accept_warnings.
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    counts: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    qa: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    blocking: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    #: why the job failed: {rule?, message_zh, message_en, details?}.
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    warnings_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    committed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the ledger entries the commit wrote: seq range in the county's log.
    ledger_first: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
    ledger_last: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
