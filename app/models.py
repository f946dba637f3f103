"""Imports every domain's models so Base.metadata knows every table."""
from app.auth.models import IdempotencyRecord, User  # noqa: F401
from app.db import Base
from app.disputes.models import Dispute  # noqa: F401
from app.exchange.models import Bid, Listing  # noqa: F401
from app.holds.models import Freeze, TransferHold  # noqa: F401
from app.imports.models import ImportJob  # noqa: F401
from app.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode, LedgerSubject  # noqa: F401
from app.parcels.models import Parcel, ParcelVersion  # noqa: F401
from app.parties.models import Collective, Document, Household, IdNumber, Membership, Person  # noqa: F401
from app.rights.models import Certificate, HouseDisposal, Right, RightParcel, RightShares, SharePlan  # noqa: F401
from app.transfers.models import (  # noqa: F401
    ManagementRight,
    ManagementRightParcel,
    Settlement,
    Transfer,
    TransferParcel,
    TransferPayment,
)
from app.workdays.models import CalendarDay  # noqa: F401

#: Tables with a county column that a county's move between databases leaves behind: the ledger's signed
#: checkpoints (the new deployment signs its own; the old ones travel in the county's ledger export) and the
#: import jobs (one deployment's work queue).
STAY_BEHIND = ("ledger_checkpoints", "import_jobs")


def county_tables() -> list[str]:
    """The tables that hold a county's rows (by ``county_code``, or ``log`` for the ledger), parents first: what
    a county's move from one database to another copies (docs/scaling.md)."""
    return [t.name for t in Base.metadata.sorted_tables
            if ("county_code" in t.c or "log" in t.c) and t.name not in STAY_BEHIND]
