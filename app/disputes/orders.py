"""Registry orders of an award or a mediation agreement, executed by the registry's own services.

An order names one change the case decided: move parcels to another contract, correct a boundary
as a new parcel version, restore a membership or a household's income shares, void a transfer made
under duress. Each runs through the same service (and the same rules and ledger entry) as the
change made at the registry desk, inside the case's transaction; the entry's ``cause`` names the
case and the order. A refusal carries the broken rule's own code, and nothing changes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.ids import RowKey
from app.ledger import services as ledger
from app.parcels import services as parcels
from app.parties import services as parties
from app.rights import services as rights
from app.transfers import services as transfers

ORDER_TYPES = ("move_parcels", "correct_boundary", "restore_membership", "restore_shares", "void_transfer")


def _move_parcels(s: Session, actor: Principal, county: str, o: dict, on: dt.date, cause: dict, policy) -> int:
    return rights.move_parcels(s, actor=actor, parcels=o["parcels"], to_right=o["to_right"], on=on, cause=cause)


def _correct_boundary(s: Session, actor: Principal, county: str, o: dict, on: dt.date, cause: dict, policy) -> int:
    version = parcels.revise_boundary(s, actor=actor, policy=policy, code=o["parcel"], geometry=o["geometry"],
                                      crs=o.get("crs"), on=on, cause=cause)
    return version.ledger_seq


def _restore_membership(s: Session, actor: Principal, county: str, o: dict, on: dt.date, cause: dict, policy) -> int:
    return parties.restore_membership(s, actor=actor, collective_code=o["collective"],
                                      person_id=RowKey(county, o["person"]), on=on, cause=cause)


def _restore_shares(s: Session, actor: Principal, county: str, o: dict, on: dt.date, cause: dict, policy) -> int:
    return rights.restore_shares(s, actor=actor, holder=o["household"], shares=Decimal(str(o["shares"])), on=on,
                                 cause=cause)


def _void_transfer(s: Session, actor: Principal, county: str, o: dict, on: dt.date, cause: dict, policy) -> int:
    return transfers.void_transfer(s, actor=actor, transfer_id=RowKey(county, o["transfer"]), on=on,
                                   grounds=o["grounds"], cause=cause)


_RUN: dict[str, Callable[..., int]] = {"move_parcels": _move_parcels, "correct_boundary": _correct_boundary,
                                       "restore_membership": _restore_membership, "restore_shares": _restore_shares,
                                       "void_transfer": _void_transfer}
assert set(_RUN) == set(ORDER_TYPES)


def execute(s: Session, *, actor: Principal, county: str, dispute_id: int, orders: list[dict], on: dt.date,
            policy: parcels.ParcelPolicy) -> list[int]:
    """Execute the orders of case ``dispute_id`` of ``county`` in the order given (the persons and transfers
    they name are the county's, by their numbers in it); returns the ledger ``seq`` of each one's entry.

    Raises:
        RuleViolation / NotFound / DomainError: the first order the registry refuses, as its service does.
    """
    return [_RUN[o["type"]](s, actor, county, o, on, {"dispute": dispute_id, "order": i}, policy)
            for i, o in enumerate(orders)]


def check(s: Session, *, actor: Principal, county: str, dispute_id: int, orders: list[dict], on: dt.date,
          policy: parcels.ParcelPolicy) -> None:
    """Run the orders in a savepoint and roll them back: an award or agreement whose orders the registry
    would refuse today is refused with the same rule, before it is made.

    Raises:
        as :func:`execute`.
    """
    if not orders:
        return
    savepoint = s.begin_nested()
    try:
        execute(s, actor=actor, county=county, dispute_id=dispute_id, orders=orders, on=on, policy=policy)
    finally:
        savepoint.rollback()
        ledger.forget_heads(s)
