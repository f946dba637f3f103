"""Claiming, checking and releasing holds and freezes, inside the caller's transaction.

Every function takes the caller's session and neither commits nor writes the ledger: the transfer or the
case that holds or freezes records its own entry.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import ids
from app.errors import RuleViolation
from app.holds.models import Freeze, TransferHold

# Built once: every transfer's opening and closing runs these.
# A right's or parcel's code begins with its county's: the counties of the codes asked about are named too, so a
# distributed deployment asks the one node that holds them.
_FROZEN = select(Freeze.subject).where(Freeze.county_code.in_(bindparam("counties", expanding=True)),
                                       Freeze.subject.in_(bindparam("subjects", expanding=True)),
                                       Freeze.active.is_(True))
_HELD = select(TransferHold.county_code, TransferHold.transfer_id, TransferHold.listing_id).where(
    TransferHold.county_code.in_(bindparam("counties", expanding=True)),
    TransferHold.key.in_(bindparam("keys", expanding=True)))
#: no unit of work that releases holds has them as objects (they are claimed by one request and released by
#: another), so the session has nothing to synchronise
_RELEASE_TRANSFER = delete(TransferHold).where(
    TransferHold.county_code == bindparam("county"), TransferHold.transfer_id == bindparam("owner"),
).execution_options(synchronize_session=False)
_RELEASE_LISTING = delete(TransferHold).where(
    TransferHold.county_code == bindparam("county"), TransferHold.listing_id == bindparam("owner"),
).execution_options(synchronize_session=False)


def hold_keys(rights: Iterable[str], parcels: Iterable[str]) -> list[str]:
    """The hold rows' keys of rights (``right:<id>``) and parcels (``parcel:<code>``)."""
    return [f"right:{r}" for r in rights] + [f"parcel:{p}" for p in parcels]


def _counties(codes: Iterable[str]) -> list[str]:
    return sorted({code[:6] for code in codes})


def frozen_among(s: Session, subjects: Iterable[str]) -> set[str]:
    """Which of these rights and parcels an open dispute has frozen."""
    subjects = list(subjects)
    if not subjects:
        return set()
    return set(s.scalars(_FROZEN, {"counties": _counties(subjects), "subjects": subjects}))


def check_not_frozen(s: Session, subjects: list[str]) -> None:
    """Refuse to move anything an open dispute has frozen.

    Raises:
        RuleViolation: RIGHT_IN_DISPUTE naming the frozen subjects.
    """
    frozen = frozen_among(s, subjects)
    if frozen:
        raise RuleViolation("RIGHT_IN_DISPUTE", details={"frozen": sorted(frozen)})


def check_not_held(s: Session, rights: Iterable[str] = (), parcels: Iterable[str] = ()) -> None:
    """Refuse to move a right or parcel an open transfer or a listing holds.

    Raises:
        RuleViolation: RIGHT_BUSY naming the open transfers and listings.
    """
    rights, parcels = list(rights), list(parcels)
    rows = s.execute(_HELD, {"counties": _counties([*rights, *parcels]), "keys": hold_keys(rights, parcels)}).all()
    if rows:
        details = {"open_transfers": sorted({ids.public_id(c, t) for c, t, _ in rows if t is not None})}
        if listings := sorted({ids.public_id(c, n) for c, _, n in rows if n is not None}):
            details["open_listings"] = listings
        raise RuleViolation("RIGHT_BUSY", details=details)


def hold(s: Session, transfer_id: int | None, rights: Iterable[str], parcels: Iterable[str], *,
         listing_id: int | None = None) -> None:
    """Claim the rights and parcels for an open transfer (or, with ``listing_id``, a listing); the primary key
    refuses a second claim in the database.

    Raises:
        RuleViolation: RIGHT_BUSY when a simultaneous opening claimed one first.
    """
    assert (transfer_id is None) != (listing_id is None), "a hold is a transfer's or a listing's"
    s.add_all(TransferHold(key=key, county_code=key.partition(":")[2][:6], transfer_id=transfer_id,
                           listing_id=listing_id) for key in hold_keys(rights, parcels))
    try:
        s.flush()
    except IntegrityError:  # a simultaneous opening claimed it first (check_not_held sees the others)
        raise RuleViolation("RIGHT_BUSY", details={"open_transfers": []}) from None


def release(s: Session, county: str, transfer_id: int | None = None, *, listing_id: int | None = None) -> None:
    """Give back what a transfer (or a listing) of ``county`` held: it closed, was withdrawn or was awarded."""
    if listing_id is None:
        s.execute(_RELEASE_TRANSFER, {"county": county, "owner": transfer_id})
    else:
        s.execute(_RELEASE_LISTING, {"county": county, "owner": listing_id})


def active_freezes(s: Session, county: str, ref: str) -> list[Freeze]:
    """The freezes ``ref`` (``dispute:<id>``, a case of ``county``) still holds."""
    return list(s.scalars(select(Freeze).where(Freeze.county_code == county, Freeze.dispute_ref == ref,
                                               Freeze.active.is_(True))))


def freeze(s: Session, subjects: Iterable[str], *, county: str, ref: str, reason: str, on: dt.date, seq: int) -> None:
    """Freeze rights and parcels for ``ref`` from ``on``; ``seq`` is the entry that records it."""
    s.add_all(Freeze(subject=code, county_code=county, reason=reason, dispute_ref=ref, active=True, frozen_on=on,
                     ledger_seq=seq) for code in subjects)


def lift(freezes: Iterable[Freeze], on: dt.date) -> None:
    """Lift freezes from ``on``: what they held may move again."""
    for f in freezes:
        f.active, f.lifted_on = False, on
