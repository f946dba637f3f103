"""Rebuild the registry from a county's log and compare it with the tables.

Every change writes its facts into a ledger entry (docs/architecture.md, Transactions and the ledger), so
the log alone determines who the collectives, households, persons and members
are, every parcel's current version (down to its geometry's bytes), which
right holds which parcel, each holding of shares, every transfer's state, and
every dispute's state and the freezes it holds, and every listing of the exchange desk with its bids.
:class:`Replay` re-derives that state entry by entry from the bodies, applying
each transfer's legal effect by the same rules the services apply; comparing it
with the tables finds an edit that bypassed the ledger, and names the entry
the table no longer agrees with.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from app.db import driver_rows
from app.disputes.models import Dispute, dispute_state
from app.exchange.models import Bid, Listing
from app.holds.models import Freeze
from app.parcels.models import ParcelVersion
from app.parties.models import Collective, Household, Membership, Person
from app.rights.models import ID_SUFFIX, Right, RightParcel, RightShares
from app.transfers.models import ManagementRight, Transfer, TransferPayment
from app.transfers.rules import status_after_payment

#: Entry kinds that change nothing the replay compares (their rows are checked by their own hashes).
PASSIVE = frozenset({
    "document.stored", "certificate.issued", "settlement.recorded", "household.house_disposed",
    "collective.homestead_standard_set", "collective.share_plan_set", "import.committed",
})
#: A case's entries, each carrying the case's resulting ``state`` (what an award changes in the registry is
#: replayed by its own entries).
DISPUTE_KINDS = frozenset(f"dispute.{step}" for step in (
    "opened", "accepted", "rejected", "served", "defence", "tribunal", "recusal", "hearing", "interim_freeze",
    "extended", "mediated", "awarded", "lawsuit", "withdrawn", "finalized"))


class ReplayError(ValueError):
    """An entry that cannot follow the ones before it (a transfer that was never opened, say)."""


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _shares(value) -> Decimal:
    return Decimal(str(value)).normalize()


def _area(value) -> float | None:
    return None if value is None else round(float(value), 2)


def wkb_digest(wkb: bytes) -> str:
    return hashlib.sha256(wkb).hexdigest()


#: What the replay rebuilds, as table_state names it.
TABLES = ("collectives", "households", "persons", "memberships", "parcels", "rights", "links", "shares", "transfers",
          "management_rights", "disputes", "freezes", "listings", "bids")
#: Parcel versions depend on nothing else in the log and nothing else on them, so they replay apart.
PARCEL_KINDS = frozenset({"parcel.registered", "parcel.revised"})
PARCEL_TABLES = ("parcels",)


#: The method that applies each kind of entry (names, not bound methods: a replay holding its own
#: bound methods would be a reference cycle, freed only by a full garbage collection of millions of objects).
_HANDLERS = {
    "collective.registered": "_collective",
    "household.registered": "_household",
    "membership.recognised": "_membership",
    "membership.terminated": "_membership_ended",
    "parcel.registered": "_parcel",
    "parcel.revised": "_parcel",  # a new version replaces the current one
    "right.contract.registered": "_contract",
    "right.contract.extended": "_contract",
    "right.homestead.registered": "_homestead",
    "right.income_share.registered": "_income_share",
    "right.income_share.requantified": "_income_share",
    "right.parcels_moved": "_parcels_moved",
    "transfer.created": "_transfer_created",
    "transfer.issuer_decided": "_issuer_decided",
    "transfer.payment_recorded": "_payment",
    "transfer.withdrawn": "_withdrawn",
    "transfer.completed": "_completed",
    "transfer.voided": "_voided",
    "management_right.registered": "_registered",
    "freeze.set": "_frozen",
    "freeze.lifted": "_thawed",
    "listing.created": "_listed",
    "listing.bid": "_bid",
    "listing.withdrawn": "_listing_withdrawn",
    "listing.awarded": "_awarded",
    **{kind: "_dispute" for kind in DISPUTE_KINDS},
}


class Replay:
    """The registry's state as the log describes it; ``apply`` one entry body at a time, in order.

    Each object remembers the ``seq`` of the last entry that touched it, so a
    difference from the tables names that entry.

    Args:
        parcels: None replays everything; True only parcel versions (:data:`PARCEL_KINDS`); False all
            but those. The two halves are independent, so two processes can replay a log between them.
    """

    def __init__(self, parcels: bool | None = None) -> None:
        self.parcels = parcels
        #: the tables this replay rebuilds
        self.tables = TABLES if parcels is None else tuple(
            t for t in TABLES if (t in PARCEL_TABLES) == parcels)
        #: table → key → (comparable tuple, last seq)
        self.objects: dict[str, dict] = {t: {} for t in self.tables}
        self._links_of: Counter[str] = Counter()

    def apply(self, seq: int, kind: str, data: Any) -> None:
        """Apply one entry (``data``: its body's ``data``, whatever JSON the body holds there).

        Raises:
            ReplayError: the kind is unknown or the entry cannot follow the state before it.
        """
        if self.parcels is not None and (kind in PARCEL_KINDS) != self.parcels:
            return
        handler = _HANDLERS.get(kind)
        if handler is None:
            if kind in PASSIVE:
                return
            raise ReplayError(f"unknown entry kind {kind!r}")
        try:
            getattr(self, handler)(seq, data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
            raise ReplayError(f"{kind} does not follow from the entries before it ({type(e).__name__}: {e})") from None

    # --- parties --------------------------------------------------------------------------

    def _put(self, table: str, key: Any, value: tuple[Any, ...] | dict[str, Any], seq: int) -> None:
        self.objects[table][key] = (value, seq)

    def _get(self, table: str, key: Any) -> tuple[Any, ...]:
        return self.objects[table][key][0]

    def _transfer(self, key: int) -> dict[str, Any]:
        """A transfer's state (:func:`transfer_state`): the one table whose values are dicts."""
        return self.objects["transfers"][key][0]

    def _collective(self, seq: int, d: dict) -> None:
        self._put("collectives", d["code"], (d["name"], d["level"]), seq)

    def _household(self, seq: int, d: dict) -> None:
        self._put("households", d["code"], (d["collective"], d["address"]), seq)
        for p in d["members"]:
            self._put("persons", p["id"], (d["code"], p["name"], p["id_number"], p["sex"], p["birth_date"],
                                            p["relation"]), seq)

    def _membership(self, seq: int, d: dict) -> None:
        self._put("memberships", d["membership"], (d["person"], d["collective"], d["basis"], None, None), seq)

    def _membership_ended(self, seq: int, d: dict) -> None:
        person, collective, basis, _, _ = self._get("memberships", d["membership"])
        self._put("memberships", d["membership"], (person, collective, basis, d["decided_on"], d["ground"]), seq)

    # --- parcels and rights -----------------------------------------------------------------

    def _parcel(self, seq: int, d: dict) -> None:
        self._put("parcels", d["code"], (d["version"], d["collective"], d["kind"], d["land_use"], d["name"],
                                         _area(d["declared_area_m2"]), bool(d["basic_farmland"]),
                                         _area(d["area_m2"]), wkb_digest(bytes.fromhex(d["geometry_wkb"]))), seq)

    def _open_right(self, seq: int, right: str, type_: str, holder: str, start: str | None, end: str | None) -> None:
        """Income shares carry no term: their start is not compared."""
        self._put("rights", right, (type_, holder, None if type_ == "income_share" else start, end, None), seq)

    def _close_right(self, seq: int, right: str, on: str) -> None:
        self._put("rights", right, self._get("rights", right)[:4] + (on,), seq)

    def _link(self, seq: int, parcel: str, right: str) -> None:
        old = self.objects["links"].get(parcel)
        if old is not None:
            self._links_of[old[0][0]] -= 1
        self._put("links", parcel, (right,), seq)
        self._links_of[right] += 1

    def _unlink(self, parcel: str) -> None:
        right = self.objects["links"].pop(parcel)[0][0]
        self._links_of[right] -= 1

    def _contract(self, seq: int, d: dict) -> None:
        if d["right"] not in self.objects["rights"]:
            self._open_right(seq, d["right"], "contract", d["holder"], d["start"], d["end"])
        for p in d["parcels"]:
            self._link(seq, p["code"], d["right"])

    def _homestead(self, seq: int, d: dict) -> None:
        self._open_right(seq, d["right"], "homestead", d["holder"], d["approved_on"], None)
        self._link(seq, d["parcel"], d["right"])

    def _parcels_moved(self, seq: int, d: dict) -> None:
        """An award's order, as ``app.rights.services.move_parcels`` makes it: a contract left without land ends."""
        if self._get("rights", d["to"])[4] is not None:
            raise ValueError(f"{d['to']} had ended")
        for p in d["parcels"]:
            if self._get("links", p["code"]) != (p["from"],):
                raise ValueError(f"{p['code']} was not under {p['from']}")
            self._link(seq, p["code"], d["to"])
        for giver in dict.fromkeys(p["from"] for p in d["parcels"]):
            if not self._links_of[giver]:
                self._close_right(seq, giver, d["on"])

    def _income_share(self, seq: int, d: dict) -> None:
        if d["right"] not in self.objects["rights"]:
            self._open_right(seq, d["right"], "income_share", d["holder"], None, None)
        self._hold(seq, d["right"], _shares(d["shares"]))

    def _hold(self, seq: int, right: str, shares: Decimal) -> None:
        if shares > 0:
            self._put("shares", right, (shares,), seq)
        else:
            self.objects["shares"].pop(right, None)

    # --- disputes and their freezes ---------------------------------------------------------

    def _dispute(self, seq: int, d: dict) -> None:
        self._put("disputes", d["dispute"], dispute_tuple(**d["state"]), seq)

    def _frozen(self, seq: int, d: dict) -> None:
        for subject in d["subjects"]:
            self._put("freezes", (f"dispute:{d['dispute']}", subject), (True, d["on"], None), seq)

    def _thawed(self, seq: int, d: dict) -> None:
        for subject in d["subjects"]:
            key = (f"dispute:{d['dispute']}", subject)
            _, frozen_on, _ = self._get("freezes", key)
            self._put("freezes", key, (False, frozen_on, d["on"]), seq)

    # --- the exchange desk ------------------------------------------------------------------

    def _listed(self, seq: int, d: dict) -> None:
        self._put("listings", d["listing"], listing_state(
            kind=d["kind"], right=d["right"], holder=d["holder"], parcels=d["parcels"], shares=d["shares"],
            asking_price=d["asking_price"], term_end=d["term_end"], listed_on=d["listed_on"],
            announcement_days=d["announcement_days"], status="announced", withdrawn_on=None, awarded_on=None,
            winning_bid=None, transfer=None, terms=d.get("terms")), seq)

    def _set_listing(self, seq: int, key: int, **changes: Any) -> None:
        listing = self._listing(key)
        if listing["status"] != "announced":
            raise ValueError(f"listing {key} is {listing['status']}")
        self._put("listings", key, listing | changes, seq)

    def _listing(self, key: int) -> dict[str, Any]:
        return self.objects["listings"][key][0]

    def _management(self, transfer: int) -> dict[str, Any]:
        """A management right's state (:func:`management_state`), keyed by the transfer that created it."""
        return self.objects["management_rights"][transfer][0]

    def _bid(self, seq: int, d: dict) -> None:
        if self._listing(d["listing"])["status"] != "announced":
            raise ValueError(f"listing {d['listing']} was closed")
        self._put("bids", d["bid"], bid_state(listing=d["listing"], household=d["household"], party=d["party"],
                                             amount=d["amount"], bid_on=d["bid_on"]), seq)

    def _listing_withdrawn(self, seq: int, d: dict) -> None:
        self._set_listing(seq, d["listing"], status="withdrawn", withdrawn_on=d["on"])

    def _awarded(self, seq: int, d: dict) -> None:
        """The award; the transfer it opened has its own ``transfer.created`` entry just before."""
        if d["transfer"] not in self.objects["transfers"]:
            raise ValueError(f"transfer {d['transfer']} was never opened")
        self._set_listing(seq, d["listing"], status="awarded", awarded_on=d["on"], winning_bid=d["bid"],
                          transfer=d["transfer"])

    # --- transfers --------------------------------------------------------------------------

    def _transfer_created(self, seq: int, d: dict) -> None:
        self._put("transfers", d["transfer"], transfer_state(
            kind=d["kind"], right=d["right"], from_=d["from"], to=d["to"], counter_right=d["counter_right"],
            price=d["price"], term_end=d["term_end"], status="pending", decision=None, completed_on=None,
            payments=(), terms=d.get("terms")), seq)

    def _set_transfer(self, seq: int, key: int, **changes) -> None:
        t = self._transfer(key) | changes
        if t["status"] not in ("refused", "withdrawn", "completed", "voided"):
            paid = sum((amount for amount, _, _ in t["payments"]), Decimal("0.00"))
            t["status"] = status_after_payment(t["kind"], t["decision"], t["price"], paid)
        self._put("transfers", key, t, seq)

    def _issuer_decided(self, seq: int, d: dict) -> None:
        self._set_transfer(seq, d["transfer"], decision=d["decision"],
                           **({"status": "refused"} if d["decision"] == "refused" else {}))

    def _payment(self, seq: int, d: dict) -> None:
        paid = self._transfer(d["transfer"])["payments"]
        self._set_transfer(seq, d["transfer"], payments=paid + ((_money(d["amount"]), d["paid_on"], d["reference"]),))

    def _withdrawn(self, seq: int, d: dict) -> None:
        self._set_transfer(seq, d["transfer"], status="withdrawn")

    def _completed(self, seq: int, d: dict) -> None:
        """The legal effect of a completed transfer, as ``app.transfers.lifecycle`` makes it."""
        self._set_transfer(seq, d["transfer"], status="completed", completed_on=d["completed_on"],
                           **({"decision": d["issuer_decision"]} if d.get("issuer_decision") else {}))
        kind, giver, on = d["kind"], d["right"], d["completed_on"]
        type_ = self._get("rights", giver)[0]
        if type_ == "income_share":
            moving = _shares(d["shares"])
            left = self._get("shares", giver)[0] - moving
            self._hold(seq, giver, left)
            if not left:
                self._close_right(seq, giver, on)
            if kind == "transfer":
                theirs = d["to"] + ID_SUFFIX["income_share"]
                if theirs not in self.objects["rights"]:
                    self._open_right(seq, theirs, "income_share", d["to"], on, None)
                held = self.objects["shares"].get(theirs)
                self._hold(seq, theirs, (held[0][0] if held else Decimal(0)) + moving)
        elif type_ == "homestead":
            plot = d["parcels"][0]["code"]
            self._unlink(plot)
            self._close_right(seq, giver, on)
            if kind == "transfer":
                theirs = d["to"] + ID_SUFFIX["homestead"]
                self._open_right(seq, theirs, "homestead", d["to"], on, None)
                self._link(seq, plot, theirs)
        elif kind in ("transfer", "exchange", "exit"):
            if kind == "transfer":
                # the contract the parcels joined: named since a household may hold its n-th (``<code>-<n>``)
                theirs = d.get("to_right") or d["to"] + ID_SUFFIX["contract"]
                if theirs not in self.objects["rights"]:
                    self._open_right(seq, theirs, "contract", d["to"], on, self._get("rights", giver)[3])
                for p in d["parcels"]:
                    self._link(seq, p["code"], theirs)
            elif kind == "exchange":
                other = {giver: d["counter_right"], d["counter_right"]: giver}
                for p in d["parcels"]:
                    self._link(seq, p["code"], other[p["right"]])
            else:
                for p in d["parcels"]:
                    self._unlink(p["code"])
            if kind != "exchange" and not self._links_of[giver]:
                self._close_right(seq, giver, on)
        else:  # lease and share_in grant a management right and leave the contract as it was
            self._put("management_rights", d["transfer"], management_state(
                kind=kind, contract_right=giver, household=d["to"], start=on, end=d["term_end"]), seq)

    def _registered(self, seq: int, d: dict) -> None:
        """A management right of five years or more registered (第四十一条), keyed by its transfer."""
        right = self._management(d["transfer"])
        if right["registration"] is not None:
            raise ValueError(f"the management right of transfer {d['transfer']} is registered already")
        self._put("management_rights", d["transfer"], right | {"registration": (d["number"], d["registered_on"])},
                  seq)

    def _voided(self, seq: int, d: dict) -> None:
        """A transfer voided by an award, a completed one undone as ``app.transfers.voiding.void_transfer`` does.

        The entry names the links that move back and the rights that reopen or end; each link must
        leave the right the log says holds it, shares are recomputed from the holdings and must agree
        with the entry, and a right that ends must be left with no land and no shares.
        """
        self._set_transfer(seq, d["transfer"], status="voided")
        if d["status_before"] != "completed":
            return
        if d.get("management_right") is not None:  # it stops the day before the void
            right = self._management(d["transfer"])
            last = (dt.date.fromisoformat(d["on"]) - dt.timedelta(days=1)).isoformat()
            self._put("management_rights", d["transfer"], right | {"end": min(right["end"], last)}, seq)
        for right in d["reopened"]:
            self._put("rights", right, self._get("rights", right)[:4] + (None,), seq)
        for link in d["links"]:
            now = self.objects["links"].get(link["parcel"])
            if (now[0][0] if now else None) != link["from"]:
                raise ValueError(f"parcel {link['parcel']} is not under {link['from']}")
            self._link(seq, link["parcel"], link["to"])
        if d["holdings"]:
            moved = _shares(d["shares"])
            change = {d["right"]: moved} | ({d["to"] + ID_SUFFIX["income_share"]: -moved} if d["kind"] == "transfer"
                                             else {})
            after = {h["right"]: _shares(h["shares"]) for h in d["holdings"]}
            for right, delta in change.items():
                held = self.objects["shares"].get(right)
                shares = (held[0][0] if held else Decimal(0)) + delta
                if shares < 0 or after.get(right) != shares:
                    raise ValueError(f"{right} would hold {shares} shares, the entry says {after.get(right)}")
                self._hold(seq, right, shares)
        for right in d["ended"]:
            if self._links_of[right] or right in self.objects["shares"]:
                raise ValueError(f"{right} still holds land or shares")
            self._close_right(seq, right, d["on"])


def dispute_tuple(*, status, events, extension_days, freeze, record_sha256) -> tuple:
    """A case's comparable state (:func:`app.disputes.models.dispute_state`)."""
    return (status, tuple(sorted(events.items())), int(extension_days), bool(freeze), record_sha256)


def listing_state(*, kind, right, holder, parcels, shares, asking_price, term_end, listed_on, announcement_days,
                  status, withdrawn_on, awarded_on, winning_bid, transfer, terms) -> dict:
    """A listing as the replay and the tables both describe it (dates as ISO text, money as Decimal)."""
    return {"kind": kind, "right": right, "holder": holder, "parcels": tuple(parcels),
            "shares": None if shares is None else _shares(shares), "asking_price": _money(asking_price),
            "term_end": term_end, "listed_on": listed_on, "announcement_days": int(announcement_days),
            "status": status, "withdrawn_on": withdrawn_on, "awarded_on": awarded_on, "winning_bid": winning_bid,
            "transfer": transfer, "terms": _canonical(terms)}


def bid_state(*, listing, household, party, amount, bid_on) -> tuple:
    """A bid as the replay and the tables both describe it."""
    return (listing, household, None if party is None else json.dumps(party, sort_keys=True, ensure_ascii=False),
            _money(amount), bid_on)


def transfer_state(*, kind, right, from_, to, counter_right, price, term_end, status, decision, completed_on,
                   payments, terms) -> dict:
    """A transfer as the replay and the tables both describe it (dates as ISO text, money as Decimal)."""
    return {"kind": kind, "right": right, "from": from_, "to": to, "counter_right": counter_right,
            "price": _money(price), "term_end": term_end, "status": status, "decision": decision,
            "completed_on": completed_on, "payments": tuple(payments), "terms": _canonical(terms)}


def management_state(*, kind, contract_right, household, start, end, registration=None) -> dict:
    """A management right as the replay and the tables both describe it; ``registration`` is (number, day)."""
    return {"kind": kind, "contract_right": contract_right, "household": household, "start": start, "end": end,
            "registration": registration}


def _canonical(value) -> str | None:
    """A JSON value as comparable text (a JSON column's key order is the driver's)."""
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- the tables, in the replay's terms ---------------------------------------------------------

def _iso(day) -> str | None:
    """A date as ISO text: PostgreSQL's driver gives dates, SQLite's the text itself."""
    return day if day is None or isinstance(day, str) else day.isoformat()


def table_state(s: Session, county: str, tables: tuple[str, ...] = TABLES) -> dict[str, dict]:
    """What ``tables`` hold for ``county``, keyed and shaped like :attr:`Replay.objects` (value, row's seq).

    Read by :func:`app.db.driver_rows` (a county is millions of rows), so values arrive as the driver
    gives them and are normalised here as the replay normalises the bodies.
    """
    def rows(*columns, where, join=None, order=None):
        q = select(*columns).where(*where)
        q = q.join(*join) if join is not None else q
        return driver_rows(s, q.order_by(order) if order is not None else q, whole=True)

    geom: ColumnElement[Any] = literal_column("parcel_versions.geom")
    if s.get_bind().dialect.name == "postgresql":
        geom = func.ST_AsBinary(geom)
    out: dict[str, dict] = {}
    if "collectives" in tables:
        out["collectives"] = {c: ((n, lv), q) for c, n, lv, q in rows(
            Collective.code, Collective.name, Collective.level, Collective.ledger_seq,
            where=[Collective.county_code == county])}
    if "households" in tables:
        out["households"] = {c: ((coll, a), q) for c, coll, a, q in rows(
            Household.code, Household.collective_code, Household.address, Household.ledger_seq,
            where=[Household.county_code == county])}
    if "persons" in tables:
        out["persons"] = {i: ((h, n, idn, sex, _iso(born), rel), q) for i, h, n, idn, sex, born, rel, q in rows(
            Person.id, Person.household_code, Person.name, Person.id_number, Person.sex, Person.birth_date,
            Person.relation, Household.ledger_seq,
            join=(Household, (Household.county_code == Person.county_code) & (Household.code == Person.household_code)),
            where=[Person.county_code == county])}
    if "memberships" in tables:
        out["memberships"] = {i: ((p, c, basis, _iso(to), ground), end_q or q)
                              for i, p, c, basis, to, ground, q, end_q in rows(
            Membership.id, Membership.person_id, Membership.collective_code, Membership.basis, Membership.valid_to,
            Membership.end_ground, Membership.ledger_seq, Membership.end_ledger_seq,
            where=[Membership.county_code == county])}
    if "parcels" in tables:
        out["parcels"] = {code: ((version, coll, kind, use, name, _area(declared), bool(basic), _area(area),
                                  wkb_digest(bytes(wkb)) if wkb is not None else None), q)
                          for code, version, coll, kind, use, name, declared, basic, area, q, wkb in rows(
            ParcelVersion.parcel_code, ParcelVersion.version, ParcelVersion.collective_code, ParcelVersion.kind,
            ParcelVersion.land_use, ParcelVersion.name, ParcelVersion.declared_area_m2, ParcelVersion.basic_farmland,
            ParcelVersion.area_m2, ParcelVersion.ledger_seq, geom,
            where=[ParcelVersion.county_code == county, ParcelVersion.valid_to.is_(None)])}
    if "rights" in tables:
        out["rights"] = {i: ((type_, holder, None if type_ == "income_share" else _iso(start), _iso(end),
                              _iso(to)), q) for i, type_, holder, start, end, to, q in rows(
            Right.id, Right.type, Right.holder_code, Right.start, Right.end, Right.valid_to, Right.ledger_seq,
            where=[Right.county_code == county])}
    if "links" in tables:
        out["links"] = {p: ((r,), q) for p, r, q in rows(
            RightParcel.parcel_code, RightParcel.right_id, RightParcel.ledger_seq,
            where=[RightParcel.county_code == county, RightParcel.valid_to.is_(None)])}
    if "shares" in tables:
        out["shares"] = {r: ((_shares(n),), q) for r, n, q in rows(
            RightShares.right_id, RightShares.shares, RightShares.ledger_seq,
            where=[RightShares.county_code == county, RightShares.valid_to.is_(None)])}
    if "transfers" in tables:
        payments: dict[int, list] = {}
        for t, amount, paid_on, reference in rows(
                TransferPayment.transfer_id, TransferPayment.amount, TransferPayment.paid_on,
                TransferPayment.reference, where=[TransferPayment.county_code == county], order=TransferPayment.id):
            payments.setdefault(t, []).append((_money(amount), _iso(paid_on), reference))
        out["transfers"] = {i: (transfer_state(
            kind=kind, right=right, from_=from_, to=to, counter_right=counter, price=price, term_end=_iso(term_end),
            status=status, decision=decision, completed_on=_iso(completed_on), payments=payments.get(i, ()),
            terms=_json(terms)), q)
            for i, kind, right, from_, to, counter, price, term_end, status, decision, completed_on, terms, q in rows(
                Transfer.id, Transfer.kind, Transfer.right_id, Transfer.from_household, Transfer.to_household,
                Transfer.counter_right_id, Transfer.price, Transfer.term_end, Transfer.status,
                Transfer.issuer_decision, Transfer.completed_on, Transfer.contract_terms, Transfer.ledger_seq,
                where=[Transfer.county_code == county])}
    if "management_rights" in tables:
        out["management_rights"] = {t: (management_state(
            kind=kind, contract_right=contract, household=household, start=_iso(start), end=_iso(end),
            registration=None if number is None else (number, _iso(registered_on))), max(q, reg_q or 0))
            for t, kind, contract, household, start, end, number, registered_on, q, reg_q in rows(
                ManagementRight.transfer_id, ManagementRight.kind, ManagementRight.contract_right_id,
                ManagementRight.holder_household, ManagementRight.start, ManagementRight.end,
                ManagementRight.registration_number, ManagementRight.registered_on, ManagementRight.ledger_seq,
                ManagementRight.registration_seq, where=[ManagementRight.county_code == county])}
    if "listings" in tables:
        out["listings"] = {i: (listing_state(
            kind=kind, right=right, holder=holder, parcels=_json(parcels), shares=shares, asking_price=asking,
            term_end=_iso(term_end), listed_on=_iso(listed_on), announcement_days=days, status=status,
            withdrawn_on=_iso(withdrawn_on), awarded_on=_iso(awarded_on), winning_bid=bid, transfer=transfer,
            terms=_json(terms)), q)
            for i, kind, right, holder, parcels, shares, asking, term_end, listed_on, days, status, withdrawn_on,
            awarded_on, bid, transfer, terms, q in rows(
                Listing.id, Listing.kind, Listing.right_id, Listing.holder_code, Listing.parcels, Listing.shares,
                Listing.asking_price, Listing.term_end, Listing.listed_on, Listing.announcement_days,
                Listing.status, Listing.withdrawn_on, Listing.awarded_on, Listing.winning_bid_id,
                Listing.transfer_id, Listing.contract_terms, Listing.ledger_seq,
                where=[Listing.county_code == county])}
    if "bids" in tables:
        out["bids"] = {i: (bid_state(listing=listing, household=household, party=_json(party), amount=amount,
                                     bid_on=_iso(bid_on)), q)
                       for i, listing, household, party, amount, bid_on, q in rows(
            Bid.id, Bid.listing_id, Bid.bidder_household, Bid.bidder_party, Bid.amount, Bid.bid_on, Bid.ledger_seq,
            where=[Bid.county_code == county])}
    if "disputes" in tables:
        out["disputes"] = {i: (dispute_tuple(**dispute_state(
            status=status, events=_json(events), extension_days=ext, freeze=freeze, record=_json(record))), q)
            for i, status, events, ext, freeze, record, q in rows(
                Dispute.id, Dispute.status, Dispute.events, Dispute.extension_days, Dispute.freeze, Dispute.record,
                Dispute.ledger_seq, where=[Dispute.county_code == county])}
    if "freezes" in tables:
        out["freezes"] = {(ref, subject): ((bool(active), _iso(on), _iso(lifted)), q)
                          for ref, subject, active, on, lifted, q in rows(
            Freeze.dispute_ref, Freeze.subject, Freeze.active, Freeze.frozen_on, Freeze.lifted_on, Freeze.ledger_seq,
            where=[Freeze.county_code == county])}
    return out


def _json(value):
    """A JSON column as the driver gives it: text on SQLite, already parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def differences(replayed: dict[str, dict], tables: dict[str, dict]) -> list[tuple[int, str]]:
    """(seq, what differs) for every object on which the log and the tables disagree, earliest entry first.

    The seq is the last entry that touched the object in the log, or, for a row the
    log never wrote, the entry the row claims.
    """
    found = []
    for table, stored in tables.items():
        logged = replayed[table]
        for key, (value, seq) in logged.items():
            row = stored.get(key)
            if row is None:
                found.append((seq, f"{table} {key}: in the log but not in the table"))
            elif row[0] != value:
                found.append((seq, f"{table} {key}: the table holds {row[0]!r}, the log says {value!r}"))
        for key in stored.keys() - logged.keys():
            found.append((stored[key][1] or 0, f"{table} {key}: in the table but written by no entry"))
    return sorted(found, key=lambda f: f[0])
