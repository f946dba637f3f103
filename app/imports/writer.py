"""The bulk write path: whole collectives with their households, members, parcels and contracts.

Used by the package importer (one transaction per county) and the demo loader
(one per collective). Rows go in by the engine's fast path (:func:`app.db.bulk_insert`:
COPY on PostgreSQL, executemany on SQLite), never one ORM object at a time, and every
row gets the same ledger entry the one-at-a-time services write, in the same
transaction. Checking is the caller's business: the importer runs QA and the
registry checks first, the demo generator makes valid data by construction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import shapely

from app.auth.services import Principal
from app.db import Base, allocate_ids, bulk_insert, utcnow
from app.ledger import services as ledger
from app.parcels.models import Parcel, ParcelVersion
from app.parcels.services import version_entry
from app.parties.models import Collective, Household, IdNumber, Membership, Person
from app.parties.services import household_entry, membership_entry
from app.rights.models import ID_SUFFIX, Right, RightParcel
from app.rights.services import contract_entry


@dataclass
class PersonRow:
    name: str
    id_number: str
    sex: str  #: male | female
    birth_date: dt.date
    relation: str  #: one of app.parties.models.RELATIONS


@dataclass
class HouseholdRow:
    code: str  #: CBFBM
    address: str | None
    members: list[PersonRow]


@dataclass
class ContractRow:
    """A family contract (CBHT) and its parcels (CBDKXX): parcel code → contract area (HTMJ) or None."""

    holder: str
    start: dt.date
    end: dt.date
    parcels: dict[str, float | None]
    acquisition: str = "family_contract"


@dataclass
class CollectiveBatch:
    """One collective's records, ready to write; parcel attributes are parallel sequences."""

    code: str  #: FBFBM
    name: str
    register: bool = True  #: False when the collective is already in the registry
    households: list[HouseholdRow] = field(default_factory=list)
    #: the members' assembly decision recognising the listed members (original members).
    membership_decided_on: dt.date | None = None
    parcel_codes: Sequence[str] = ()
    parcel_kinds: Sequence[str] = ()
    parcel_land_uses: Sequence[str] = ()
    parcel_names: Sequence[str | None] = ()
    parcel_geoms: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  #: EPSG:4490
    parcel_areas_m2: np.ndarray = field(default_factory=lambda: np.empty(0))  #: measured
    declared_areas_m2: Sequence[float | None] = ()  #: SCMJ as declared
    basic_farmland: Sequence[bool] = ()
    contracts: list[ContractRow] = field(default_factory=list)


@dataclass
class Written:
    """What a bulk write made: persons (with ids) per household, parcel areas by code, ledger range."""

    persons: dict[str, list] = field(default_factory=dict)
    parcel_area_m2: dict[str, float] = field(default_factory=dict)
    ledger_first: int | None = None
    ledger_last: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("collectives", "households", "persons", "memberships", "parcels", "contracts", "contract_parcels"), 0))


#: Parcels written per step of a bulk write: each step's rows and ledger entries are built, inserted and let go,
#: so a county's write holds a few steps' rows, never the whole county's (about 60 MB a step).
STEP_PARCELS = 20_000


def write_collectives(s, batches: Sequence[CollectiveBatch], *, county: str, actor: Principal,
                      step_parcels: int = STEP_PARCELS) -> Written:
    """Write the batches inside the caller's transaction, each row with its ledger entry.

    Batches go in steps of about ``step_parcels`` parcels (whole collectives): one step's rows and entries are
    built, then inserted, and let go before the next step is built. (Building the next step in a thread while
    the database inserts this one gained nothing: both halves are Python holding the GIL, COPY's row encoding
    and SQLite's binding included.)

    Args:
        s: the unit of work's session (the caller commits).
        batches: collectives of one county.
        county: their county code, the ledger log written to.
        actor: who is writing (the clerk committing an import, or the system).

    Returns:
        The persons written (ids included), the parcels' measured areas, the ledger seq range and counts.
    """
    out = Written()
    if not batches:
        return out
    ids = _Ids(
        persons=iter(allocate_ids(s, Person, sum(len(h.members) for b in batches for h in b.households), county)),
        memberships=iter(allocate_ids(s, Membership, sum(
            len(h.members) for b in batches if b.membership_decided_on for h in b.households), county)),
        versions=iter(allocate_ids(s, ParcelVersion, sum(len(b.parcel_codes) for b in batches), county)))
    head = ledger.lock_log(s, county)
    signer = s.info.get(ledger.SIGNER)

    for step in _steps(batches, step_parcels):
        for table, rows in _build_step(step, county, actor, head, signer, ids, out):
            bulk_insert(s, table, rows)
    ledger.save_head(s, head)
    return out


def _steps(batches: Sequence[CollectiveBatch], step_parcels: int) -> Iterator[list[CollectiveBatch]]:
    """Whole collectives, gathered until a step holds ``step_parcels`` parcels or more."""
    step: list[CollectiveBatch] = []
    parcels = 0
    for b in batches:
        step.append(b)
        parcels += len(b.parcel_codes)
        if parcels >= step_parcels:
            yield step
            step, parcels = [], 0
    if step:
        yield step


@dataclass
class _Ids:
    persons: Iterator[int]
    memberships: Iterator[int]
    versions: Iterator[int]


def _build_step(batches: Sequence[CollectiveBatch], county: str, actor: Principal, head: ledger.Head,
                signer, ids: _Ids, out: Written) -> list[tuple[Any, list[dict]]]:
    """One step's rows and ledger entries, each table with its rows in the order they are inserted."""
    items: list[tuple[str, list[str], dict]] = []
    rows: dict[type[Base], list[dict]] = {m: [] for m in (Collective, Household, Person, IdNumber, Membership,
                                                            Parcel, ParcelVersion, Right, RightParcel)}
    # Which entry each row belongs to, as an index into `items`, to give the row its seq.
    owners: dict[type[Base], list[int]] = {m: [] for m in rows}

    def add(model, row: dict, entry: int) -> None:
        rows[model].append(row)
        owners[model].append(entry)

    now = utcnow()
    for b in batches:
        level = "village" if b.code.endswith("00") else "group"
        if b.register:
            items.append(("collective.registered", [b.code], {"code": b.code, "name": b.name, "level": level}))
            add(Collective, {"code": b.code, "county_code": county, "name": b.name, "level": level,
                             "created_at": now}, len(items) - 1)
            out.counts["collectives"] += 1
        for h in b.households:
            persons = [_Row(id=next(ids.persons), household_code=h.code, county_code=county, name=p.name,
                            id_number=p.id_number, sex=p.sex, birth_date=p.birth_date, relation=p.relation,
                            created_at=now) for p in h.members]
            out.persons[h.code] = persons
            items.append(("household.registered", [h.code], household_entry(h.code, b.code, h.address, persons)))
            add(Household, {"code": h.code, "collective_code": b.code, "county_code": county,
                            "address": h.address, "created_at": now}, len(items) - 1)
            for p in persons:
                add(Person, vars(p), len(items) - 1)
                add(IdNumber, {"id_number": p.id_number, "county_code": county, "person_id": p.id}, len(items) - 1)
        if b.membership_decided_on:
            decided = b.membership_decided_on
            for h in b.households:
                for p in out.persons[h.code]:
                    m: Any  # a _Row read as the Membership it stands in for
                    m = _Row(id=next(ids.memberships), collective_code=b.code, person_id=p.id, county_code=county,
                             basis="original", decided_on=decided, resolution_document_id=None, valid_from=decided,
                             valid_to=None, end_ground=None, end_document_id=None, end_ledger_seq=None)
                    items.append(("membership.recognised", [b.code, h.code], membership_entry(m, p.id_number)))
                    add(Membership, vars(m), len(items) - 1)
        _parcels(b, county, now, ids.versions, items, add, out)
        _contracts(b, county, now, items, add, out)

    entries = ledger.prepare_entries(head, signer, actor=actor, items=items)
    seqs = [r["seq"] for r in entries.rows]
    if seqs:
        out.ledger_first = out.ledger_first or seqs[0]
        out.ledger_last = seqs[-1]
    for model, model_rows in rows.items():
        if "ledger_seq" in model.__table__.c:
            for row, entry in zip(model_rows, owners[model], strict=True):
                row["ledger_seq"] = seqs[entry]
    out.counts["households"] += len(rows[Household])
    out.counts["persons"] += len(rows[Person])
    out.counts["memberships"] += len(rows[Membership])
    return [*entries.tables(), *rows.items()]


class _Row(SimpleNamespace):
    """A row to insert that the ledger-entry helpers can read like a model (``vars(row)`` is the row).

    Plain attributes, not ORM objects: instrumenting hundreds of thousands of
    objects only to read them back cost a third of a bulk write.
    """


def _parcels(b: CollectiveBatch, county: str, now: dt.datetime, version_ids, items: list, add, out: Written) -> None:
    if not len(b.parcel_codes):
        return
    geoms = np.asarray(b.parcel_geoms, dtype=object)
    single = shapely.get_type_id(geoms) == 3  # Polygon: stored as a one-part MultiPolygon
    geoms[single] = shapely.multipolygons(geoms[single].reshape(-1, 1))
    bounds = shapely.bounds(geoms).tolist()
    wkb = shapely.to_wkb(geoms, hex=True)
    areas = np.asarray(b.parcel_areas_m2, dtype=float).tolist()
    for i, code in enumerate(b.parcel_codes):
        declared = b.declared_areas_m2[i]
        minx, miny, maxx, maxy = bounds[i]
        v: Any  # a _Row read as the ParcelVersion it stands in for
        v = _Row(id=next(version_ids), parcel_code=code, version=1, collective_code=b.code, county_code=county,
                 valid_from=now, valid_to=None, kind=b.parcel_kinds[i], land_use=b.parcel_land_uses[i],
                 name=b.parcel_names[i], declared_area_m2=None if declared is None else round(float(declared), 2),
                 basic_farmland=bool(b.basic_farmland[i]), area_m2=areas[i], geom=geoms[i],
                 minx=minx, miny=miny, maxx=maxx, maxy=maxy)
        items.append(("parcel.registered", [code], version_entry(v, wkb_hex=wkb[i])))
        add(Parcel, {"code": code, "collective_code": b.code, "county_code": county, "created_at": now},
            len(items) - 1)
        add(ParcelVersion, vars(v), len(items) - 1)
        out.parcel_area_m2[code] = v.area_m2
    out.counts["parcels"] += len(b.parcel_codes)


def _contracts(b: CollectiveBatch, county: str, now: dt.datetime, items: list, add, out: Written) -> None:
    for c in b.contracts:
        right: Any  # _Rows read as the Right and RightParcels they stand in for
        links: list[Any]
        right = _Row(id=c.holder + ID_SUFFIX["contract"], type="contract", holder_code=c.holder,
                     collective_code=b.code, county_code=county, start=c.start, end=c.end, acquisition=c.acquisition,
                     approval_document_id=None, valid_from=c.start, valid_to=None, created_at=now)
        links = [_Row(right_id=right.id, parcel_code=code, county_code=county,
                      contract_area_m2=round(area if area is not None else out.parcel_area_m2[code], 2),
                      valid_from=c.start, valid_to=None, end_ledger_seq=None)
                 for code, area in c.parcels.items()]
        items.append(("right.contract.registered", [right.id, c.holder, *c.parcels], contract_entry(right, links)))
        add(Right, vars(right), len(items) - 1)
        for link in links:
            add(RightParcel, vars(link), len(items) - 1)
        out.counts["contracts"] += 1
        out.counts["contract_parcels"] += len(links)
