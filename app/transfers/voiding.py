"""Voiding a transfer an award found made under duress (民法典 第一百五十条): as if never made, or refused
when the registry has moved on since."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app import ids
from app.auth.services import Principal
from app.db import coded, county_row
from app.errors import NotFound, RuleViolation
from app.holds import services as holds
from app.ids import RowKey
from app.ledger import services as ledger
from app.ledger.models import LedgerEntry, LedgerSubject
from app.rights.models import ID_SUFFIX, Right, RightParcel, RightShares
from app.rights.services import (
    allocated_shares,
    open_contract,
    open_plan,
)
from app.transfers.lifecycle import rehold_shares
from app.transfers.models import (
    OPEN_STATUSES,
    ManagementRight,
    ManagementRightParcel,
    Transfer,
    TransferParcel,
)
from app.transfers.opening import entry_subjects, shares_held
from app.transfers.views import iso_day


def void_transfer(s: Session, *, actor: Principal, transfer_id: RowKey, on: dt.date, grounds: str, cause: dict) -> int:
    """Void a transfer an award found made under duress (民法典 第一百五十条): as if it had never been made.

    Runs inside the caller's transaction (no commit): the dispute that ordered it checks the role,
    commits, and has frozen the subjects, so no freeze is checked here. An open transfer ends and frees
    its right and parcels, as a withdrawal does. A completed one is undone as of ``on``, the exact
    inverse of its completion: 转让 and 交回 of land: the parcels leave the recipient's contract (or the
    collective) and rejoin the giver's, which reopens if it had ended; a contract the transfer created
    and that is left without land ends. 互换: the parcels swap back. 出租/入股: the management right's
    last day becomes the day before ``on``. Income shares go back from the recipient's holding (or the
    collective's unallocated pool) to the giver's. A homestead: the giver's right reopens with its plot
    and the recipient's (created by the transfer) ends. Nothing changes when anything is refused.

    Args:
        s: the caller's session; its transaction commits or rolls back the void with the ledger entry.
        actor: who voids; the transfer's right must be inside the actor's scope.
        transfer_id: the transfer.
        on: the day the void takes effect (links close and reopen on it); not before completion, not in the future.
        grounds: the award's findings, as recorded in the entry.
        cause: JSON-ready reference to what ordered it (the dispute, the award), recorded in the entry.

    Returns:
        The ``seq`` of the ``transfer.voided`` ledger entry.

    Raises:
        NotFound: the transfer is unknown or outside the actor's scope.
        RuleViolation: TRANSFER_CLOSED (withdrawn, refused or voided already); DATE_ORDER (``on`` in the
            future, before the completion, or before a holding it would close began);
            PARCEL_NOT_IN_RIGHT (the registry moved on: a parcel was transferred again, returned, or is
            under another right, or the giver's contract ended and the household holds a later one);
            SHARES_EXCEED_HOLDING (the recipient, or for an exit the collective's unallocated pool, no
            longer holds the shares); RIGHT_BUSY (an open transfer, or a management
            right granted since, holds a parcel that would go back).
    """
    t = county_row(s, Transfer, transfer_id, lock=True)
    if t is None or not actor.sees(t.right_id):
        raise NotFound("流转", "Transfer", transfer_id)
    if t.status not in (*OPEN_STATUSES, "completed"):
        raise RuleViolation("TRANSFER_CLOSED", details={"status": t.status})
    if on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="撤销日期晚于今天", reason_en="the void is dated in the future")
    moving = [(p.parcel_code, p.right_id) for p in s.scalars(
        select(TransferParcel).where(TransferParcel.county_code == t.county_code, TransferParcel.transfer_id == t.id)
        .order_by(TransferParcel.id))]
    was = t.status
    undo = _Undo()
    if was == "completed":
        assert t.completed_on is not None, "a completed transfer has its completion day"
        if on < t.completed_on:
            raise RuleViolation("DATE_ORDER", reason_zh="撤销日期早于流转完成日期", reason_en="the void is dated "
                                "before the completion", details={"completed_on": t.completed_on.isoformat()})
        undo = _undo_plan(s, t, moving, on)
    seq = ledger.append(s, county=t.county_code, kind="transfer.voided", actor=actor,
                        subjects=entry_subjects(t, moving),
                        data={"transfer": t.id, "kind": t.kind, "right": t.right_id, "from": t.from_household,
                              "to": t.to_household, "counter_right": t.counter_right_id,
                              "shares": None if t.shares is None else str(t.shares), "status_before": was,
                              "completed_on": iso_day(t.completed_on), "on": on.isoformat(), "grounds": grounds,
                              "cause": cause, **undo.entry()})
    if was == "completed":
        _unmove(s, t, undo, on, seq)
    else:
        holds.release(s, t.county_code, t.id)
    t.status = "voided"
    s.flush()
    return seq


@dataclass
class _Undo:
    """What voiding a completed transfer changes, worked out and checked before anything changes."""

    #: (parcel, the open link it leaves or None, the right it returns to, its contract area)
    links: list[tuple[str, RightParcel | None, str, float | None]] = field(default_factory=list)
    #: (income-share right, the holding it will have)
    holdings: list[tuple[Right, Decimal]] = field(default_factory=list)
    reopen: list[Right] = field(default_factory=list)
    end: list[Right] = field(default_factory=list)
    management: ManagementRight | None = None

    def entry(self) -> dict:
        """The facts the ledger entry records, so the replay redoes exactly this."""
        return {"links": [{"parcel": c, "from": left.right_id if left else None, "to": back}
                          for c, left, back, _ in self.links],
                "holdings": [{"right": r.id, "shares": str(n)} for r, n in self.holdings],
                "reopened": [r.id for r in self.reopen], "ended": [r.id for r in self.end],
                "management_right": self.management.id if self.management else None}


def _completion_seq(s, t: Transfer) -> int:
    """The ``seq`` of the entry that completed ``t``: the rows its completion wrote carry it."""
    return s.scalar(select(LedgerEntry.seq).join(LedgerSubject, and_(
        LedgerSubject.log == LedgerEntry.log, LedgerSubject.seq == LedgerEntry.seq)).where(
        LedgerSubject.log == t.county_code, LedgerSubject.subject == f"transfer:{t.id}",
        LedgerEntry.kind == "transfer.completed"))


def _undo_plan(s, t: Transfer, moving: list[tuple[str, str]], on: dt.date) -> _Undo:
    """The inverse of :func:`move_rights` for ``t``, refused if the registry has moved on since the completion."""
    done = _completion_seq(s, t)
    giver = coded(s, Right, t.right_id)
    if giver.type == "income_share":
        return _undo_shares(s, t, giver, on, done)
    if t.kind in ("lease", "share_in"):
        return _Undo(management=s.scalar(select(ManagementRight).where(ManagementRight.county_code == t.county_code,
                                                              ManagementRight.transfer_id == t.id)
                                         .with_for_update(key_share=True)))
    codes = [code for code, _ in moving]
    # Where the completion put each parcel: the recipient's right, the other side of an exchange, or nowhere.
    if t.kind == "transfer":  # the contract the completion's links joined (the recipient's n-th, maybe)
        assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
        went = dict.fromkeys(codes, s.scalar(select(RightParcel.right_id).where(
            RightParcel.county_code == t.county_code, RightParcel.ledger_seq == done,
            RightParcel.parcel_code.in_(codes)).limit(1)) or t.to_household + ID_SUFFIX[giver.type])
    elif t.kind == "exchange":
        other = {t.right_id: t.counter_right_id, t.counter_right_id: t.right_id}
        went = {code: other[right] for code, right in moving}
    else:
        went = dict.fromkeys(codes)
    now = {link.parcel_code: link for link in s.scalars(select(RightParcel).where(
        RightParcel.county_code == t.county_code, RightParcel.parcel_code.in_(codes),
        RightParcel.valid_to.is_(None)).with_for_update(key_share=True))}
    # Each parcel must still be where the completion put it, by the link it wrote (not a later one).
    found = {c: (link.right_id, link.ledger_seq) for c, link in now.items()}
    moved_on = [c for c in codes if found.get(c) != (None if went[c] is None else (went[c], done))]
    if moved_on:
        raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={
            "parcels": moved_on, "rights": sorted({r for r in went.values() if r}),
            "now_under": {c: now[c].right_id if c in now else None for c in moved_on}})
    holds.check_not_held(s, [], codes)
    losing = sorted({r for r in went.values() if r})
    granted = s.execute(select(ManagementRightParcel.parcel_code, ManagementRightParcel.management_right_id).join(
        ManagementRight, (ManagementRight.county_code == ManagementRightParcel.county_code)
        & (ManagementRight.id == ManagementRightParcel.management_right_id)).where(
        ManagementRightParcel.parcel_code.in_(codes), ManagementRightParcel.end >= on,
        ManagementRight.contract_right_id.in_(losing))).all() if losing else []
    if granted:
        raise RuleViolation("RIGHT_BUSY", details={"management_rights": [
            {"parcel": p, "management_right": ids.public_id(t.county_code, m)} for p, m in granted]})
    area = dict(s.execute(select(RightParcel.parcel_code, RightParcel.contract_area_m2).where(
        RightParcel.parcel_code.in_(codes), RightParcel.end_ledger_seq == done)).all())
    undo = _Undo(links=[(code, now.get(code), right, area.get(code)) for code, right in moving])
    undo.reopen = [r for r in (coded(s, Right, x) for x in dict.fromkeys(right for _, right in moving))
                   if r.valid_to is not None]
    for right in undo.reopen:
        later = open_contract(s, right.holder_code) if right.type == "contract" else None
        if later is not None:  # the household took a later contract since: the ended one cannot reopen
            raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={
                "parcels": [c for c, r in moving if r == right.id], "rights": [right.id],
                "reason": "the contract ended and the household holds a later one", "later_right": later.id})
    for right_id in losing:
        right = coded(s, Right, right_id)
        keeps = s.scalar(select(func.count()).select_from(RightParcel).where(
            RightParcel.right_id == right_id, RightParcel.valid_to.is_(None), RightParcel.parcel_code.not_in(codes)))
        if right.ledger_seq == done and not keeps:  # created by the completion and left without land
            undo.end.append(right)
    return undo


def _undo_shares(s, t: Transfer, giver: Right, on: dt.date, done: int) -> _Undo:
    """The shares go back to the giver from the recipient's holding, or (exit) the collective's unallocated pool."""
    shares = Decimal(str(t.shares))
    undo = _Undo()
    if t.kind == "transfer":
        assert t.to_household is not None, "a transfer (转让) goes to a household: only a lease takes a party"
        theirs = coded(s, Right, t.to_household + ID_SUFFIX["income_share"])
        held = shares_held(s, theirs.id) if theirs.valid_to is None else Decimal(0)
        if held < shares:
            raise RuleViolation("SHARES_EXCEED_HOLDING", details={"held": str(held), "shares": str(shares),
                                                                  "right": theirs.id})
        undo.holdings.append((theirs, held - shares))
        if held == shares and theirs.ledger_seq == done:  # created by the completion and left without shares
            undo.end.append(theirs)
    else:
        plan = open_plan(s, giver.collective_code)
        free = None if plan is None else Decimal(str(plan.total_shares)) - allocated_shares(s, giver.collective_code)
        if free is not None and free < shares:
            raise RuleViolation("SHARES_EXCEED_HOLDING", details={"held": str(free), "shares": str(shares),
                                                                  "collective": giver.collective_code})
    undo.holdings.append((giver, shares_held(s, giver.id) + shares))
    if giver.valid_to is not None:
        undo.reopen.append(giver)
    began = s.execute(select(RightShares.right_id, RightShares.valid_from).where(
        RightShares.right_id.in_([r.id for r, _ in undo.holdings]), RightShares.valid_to.is_(None),
        RightShares.valid_from > on)).all()
    if began:
        raise RuleViolation("DATE_ORDER", reason_zh="撤销日期早于现有份额的起始日期", reason_en="the void is dated "
                            "before a current holding began", details={r: d.isoformat() for r, d in began})
    return undo


def _unmove(s, t: Transfer, undo: _Undo, on: dt.date, seq: int) -> None:
    """Apply a checked :class:`_Undo` as of ``on``."""
    for _, leaving, _, _ in undo.links:
        if leaving is not None:
            leaving.valid_to, leaving.end_ledger_seq = on, seq
    s.flush()  # one open link per parcel: close before opening
    s.add_all(RightParcel(right_id=back, parcel_code=code, county_code=t.county_code, valid_from=on,
                          contract_area_m2=area, ledger_seq=seq) for code, _, back, area in undo.links)
    for right, shares in undo.holdings:
        rehold_shares(s, right, shares, on, seq)
    for right in undo.reopen:
        right.valid_to = None
    for right in undo.end:
        right.valid_to = on
    if undo.management is not None:
        # ``end`` is inclusive, so a right that stops as of ``on`` last ran the day before (as a link
        # closed on ``on`` last held the parcel the day before); land is free for a new lease from ``on``.
        last = on - dt.timedelta(days=1)
        undo.management.end = min(undo.management.end, last)
        for p in s.scalars(select(ManagementRightParcel).where(
                ManagementRightParcel.management_right_id == undo.management.id)):
            p.end = min(p.end, last)
    s.flush()
