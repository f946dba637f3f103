"""Imports every domain's models so Base.metadata knows every table."""
from app.auth.models import IdempotencyRecord, User  # noqa: F401
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
