"""From a checked package to registry records: code mappings and the registry's own rules.

gis/qa.py finds what is wrong with the data itself. This module adds what only
the registry knows: who may import it (scope), what is already registered
(codes, ID numbers, overlapping parcels), and the rights rules a contract must
meet (term by land use, contract land only). Its problems join the QA report;
its output is the bulk writer's input, one list of collectives per county.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from sqlalchemy import select

from app.auth.services import Principal
from app.db import one_of
from app.errors import RuleViolation
from app.imports.writer import CollectiveBatch, ContractRow, HouseholdRow, PersonRow
from app.parcels.models import Parcel
from app.parcels.queries import ParcelRepository
from app.parties.models import Collective, Household, IdNumber
from app.parties.schemas import RELATIONS_ACCEPTED
from app.rights.services import RightsPolicy, check_contract_term, check_dates
from gis.area import measure_m2
from gis.codes import CodeError, parse_id_number
from gis.package import Package
from gis.qa import HEAD_CODES, Problem

#: DKLB (地块类别, NY/T 2539) → parcel kind.
KINDS = {"10": "contract_land", "21": "private_plot", "22": "reserve", "23": "other", "99": "other"}
#: The first two digits of TDLYLX (GB/T 21010 land use) → the registry's land use.
LAND_USES = {"01": "cultivated", "02": "garden", "03": "forest", "04": "grassland", "07": "homestead"}
#: CBFS (承包方式): 1xx are family contracts (110 家庭承包); others are out of this registry's scope.
FAMILY_CONTRACT = "1"


@dataclass
class Converted:
    """The package as registry records, with the problems found on the way."""

    batches: dict[str, list[CollectiveBatch]] = field(default_factory=dict)  #: county → collectives
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocking(self) -> int:
        return sum(p.severity == "blocking" for p in self.problems)


def convert(s, package: Package, *, actor: Principal, policy: RightsPolicy, overlap_tolerance_m2: float,
            collective: str | None = None, today: dt.date | None = None) -> Converted:
    """Map a package to collective batches and check it against the registry.

    Args:
        s: a session to read the registry with (nothing is written).
        package: the package as read (its own QA already run).
        actor: who imports it; every code must lie in their scope.
        policy: the rights rules' settings (start horizon).
        overlap_tolerance_m2: overlaps with registered parcels above this block the import.
        collective: for a plain parcel layer, the collective its parcels belong to.
        today: the commit date (defaults to today).

    Returns:
        The batches per county and the problems (blocking ones stop the commit).
    """
    today = today or dt.date.today()
    out = Converted()
    parcels = package.parcels
    codes = parcels["DKBM"].astype(object).to_numpy()
    issuer = np.array([(c or "")[:14] for c in codes], dtype=object)
    if collective and not package.is_full:
        foreign = [c for c, i in zip(codes, issuer, strict=True) if i != collective]
        if foreign:
            out.problems.append(_problem("registry_conflicts", foreign[:50], "地块编码不属于所选发包方 {collective}",
                                         "parcel codes do not belong to the chosen collective {collective}",
                                         collective=collective, count=len(foreign)))
    outside = sorted({c for c in issuer if not actor.sees(c)})
    if outside:
        out.problems.append(_problem("outside_scope", outside[:50], "数据包含您管辖范围以外的发包方",
                                     "the package holds collectives outside your scope", count=len(outside)))
        return out

    tables = package.tables
    fbf = {r.FBFBM: r for r in tables["FBF"].itertuples()} if "FBF" in tables else {}
    known = set(s.scalars(select(Collective.code).where(Collective.code.in_(sorted(set(issuer) | set(fbf))))))
    missing = sorted(set(issuer) - set(fbf) - known)
    if missing:
        out.problems.append(_problem("missing_collectives", missing, "发包方未登记，数据包中也没有其 FBF 记录",
                                     "collectives neither registered nor in the FBF table"))
    _registered(s, out, codes, tables)
    _registry_overlaps(s, out, parcels, overlap_tolerance_m2)

    geoms = parcels.geometry.to_numpy()
    measured = np.full(len(geoms), np.nan)
    present = ~shapely.is_missing(geoms)
    measured[present] = measure_m2(geoms[present])
    kinds = [KINDS.get(str(k or "10"), "other") for k in parcels["DKLB"]]
    uses = [LAND_USES.get(str(u or "")[:2], "other") for u in parcels["TDLYLX"]]
    index = {c: i for i, c in enumerate(codes)}
    households, contracts = _households(out, tables), _contracts(out, tables, index, kinds, uses, policy)
    decided = _decided_on(tables, today)

    names = [_text(v) for v in parcels["DKMC"].to_numpy()]
    declared = [_number(v) for v in parcels["SCMJ"].to_numpy()]
    farmland = [str(v or "") == "1" for v in parcels["SFJBNT"].to_numpy()]
    by_collective: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(issuer):
        by_collective[c].append(i)
    households_of: dict[str, list[HouseholdRow]] = defaultdict(list)
    for h in households.values():
        households_of[h.code[:14]].append(h)
    contracts_of: dict[str, list[ContractRow]] = defaultdict(list)
    for c in contracts:
        contracts_of[c.holder[:14]].append(c)
    for code in sorted(set(by_collective) | set(fbf) | set(households_of)):
        rows = by_collective.get(code, [])
        own = households_of.get(code, [])
        batch = CollectiveBatch(
            code=code, name=getattr(fbf.get(code), "FBFMC", None) or code, register=code not in known,
            households=own, membership_decided_on=decided.get(code, today) if own else None,
            parcel_codes=[codes[i] for i in rows], parcel_kinds=[kinds[i] for i in rows],
            parcel_land_uses=[uses[i] for i in rows], parcel_names=[names[i] for i in rows],
            parcel_geoms=geoms[rows], parcel_areas_m2=measured[rows],
            declared_areas_m2=[declared[i] for i in rows], basic_farmland=[farmland[i] for i in rows],
            contracts=contracts_of.get(code, []))
        out.batches.setdefault(code[:6], []).append(batch)
    if len(out.batches) > 1:
        out.problems.append(_problem("unsupported_records", sorted(out.batches), "一个数据包只能包含一个县级行政区",
                                     "a package must hold one county (each county commits in its own transaction)"))
    return out


def _problem(check: str, codes, zh: str, en: str, severity: str = "blocking", geometry=None, size=None,
             **details) -> Problem:
    codes = tuple(str(c) for c in codes)
    listed = "、".join(codes[:5]) + (f" 等 {len(codes)} 个" if len(codes) > 5 else "")
    listed_en = ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
    return Problem(check=check, severity=severity, codes=codes,
                   message_zh=f"{zh.format(**details)}：{listed}" if codes else zh.format(**details),
                   message_en=f"{en.format(**details)}: {listed_en}" if codes else en.format(**details),
                   size=size, geometry=geometry, details=details)


def _registered(s, out: Converted, codes, tables) -> None:
    """Codes and ID numbers the registry already holds: an import only adds new records."""
    taken = _existing(s, Parcel.code, codes)
    if taken:
        out.problems.append(_problem("registry_conflicts", taken, "地块编码已登记", "parcel codes already registered"))
    if "CBF" in tables:
        taken = _existing(s, Household.code, tables["CBF"]["CBFBM"])
        if taken:
            out.problems.append(_problem("registry_conflicts", taken, "承包方编码已登记",
                                         "household codes already registered"))
    if "CBF_JTCY" in tables:
        ids = [str(v).upper() for v in tables["CBF_JTCY"]["CYZJHM"] if v]
        taken = _existing(s, IdNumber.id_number, ids)
        if taken:
            out.problems.append(_problem("registry_conflicts", taken, "身份证号已在其他农户登记",
                                         "ID numbers already registered in another household"))


def _existing(s, column, values) -> list[str]:
    values = sorted({v for v in values if v})
    return sorted(s.scalars(select(column).where(one_of(s, column, values))).all()) if values else []


def _registry_overlaps(s, out: Converted, parcels, tolerance_m2: float) -> None:
    """Package parcels that overlap parcels already registered (the registry's own overlap rule)."""
    geoms = parcels.geometry.to_numpy()
    valid = ~shapely.is_missing(geoms) & shapely.is_valid(geoms)
    if not valid.any():
        return
    codes = parcels["DKBM"].to_numpy()
    counties = sorted({str(code)[:6] for code in codes[valid]})
    if len(counties) != 1:  # a package of several counties is refused whole (unsupported_records)
        return
    current, current_geoms = ParcelRepository(s).near(tuple(shapely.total_bounds(geoms[valid])), 0.0, counties[0])
    if not len(current):
        return
    tree = shapely.STRtree(current_geoms)
    left, right = tree.query(geoms[valid], predicate="intersects")
    rows = np.flatnonzero(valid)[left]
    shared = shapely.intersection(geoms[rows], current_geoms[right])  # touching neighbours share only a line
    areas = np.zeros(len(rows))
    polygonal = shapely.area(shared) > 0
    areas[polygonal] = measure_m2(shared[polygonal])
    for k in np.flatnonzero(areas > tolerance_m2):
        area = round(float(areas[k]), 2)
        out.problems.append(_problem(
            "registry_overlaps", [codes[rows[k]], current[right[k]].parcel_code], "与已登记地块重叠 {area_m2} 平方米",
            "overlaps a registered parcel by {area_m2} m²", geometry=shared[k], size=area, area_m2=area))


def _relation(code) -> str | None:
    code = str(code or "").strip()
    if code in HEAD_CODES:
        return "head"
    return RELATIONS_ACCEPTED.get(code) or RELATIONS_ACCEPTED.get(code[:1] + "0")


def _households(out: Converted, tables) -> dict[str, HouseholdRow]:
    if "CBF" not in tables:
        return {}
    households = {}
    for r in tables["CBF"].itertuples():
        if str(r.CBFLX or "1") != "1":
            out.problems.append(_problem("unsupported_records", [r.CBFBM],
                                         "承包方类型 {kind} 不是农户，本系统只登记农户承包",
                                         "contractor type {kind} is not a household; only households are registered",
                                         kind=r.CBFLX))
            continue
        households[r.CBFBM] = HouseholdRow(code=r.CBFBM, address=_text(r.CBFDZ), members=[])
    if "CBF_JTCY" not in tables:
        return households
    for r in tables["CBF_JTCY"].itertuples():
        h = households.get(r.CBFBM)
        if h is None:
            continue  # QA reports members of unknown households
        try:
            parsed = parse_id_number(str(r.CYZJHM or ""))
        except CodeError:
            continue  # QA reports invalid ID numbers
        relation = _relation(r.YHZGX)
        if relation is None:
            out.problems.append(_problem("unsupported_records", [r.CBFBM],
                                         "与户主关系代码 {code} 无法识别（GB/T 4761）",
                                         "family relation code {code} is not GB/T 4761", code=r.YHZGX))
            continue
        member = PersonRow(name=str(r.CYXM), id_number=parsed.value, sex=parsed.sex, birth_date=parsed.birth_date,
                           relation=relation)
        # The head first, as the one-at-a-time registration lists them.
        h.members.insert(0, member) if relation == "head" else h.members.append(member)
    several = sorted(h.code for h in households.values() if sum(m.relation == "head" for m in h.members) > 1)
    if several:
        out.problems.append(_problem("unsupported_records", several, "一户只能有一名户主（YHZGX 01/02）",
                                     "a household has one head (YHZGX 01/02)"))
    return households


def _contracts(out: Converted, tables, index: dict, kinds: list, uses: list, policy: RightsPolicy) -> list:
    if "CBHT" not in tables or "CBDKXX" not in tables:
        return []
    parcels_of: dict[str, dict] = defaultdict(dict)
    for r in tables["CBDKXX"].itertuples():
        if r.DKBM in index:
            parcels_of[r.CBHTBM][r.DKBM] = _number(getattr(r, "HTMJ", None))
    contracts = []
    for r in tables["CBHT"].itertuples():
        if str(getattr(r, "CBFS", None) or "110")[:1] != FAMILY_CONTRACT:
            out.problems.append(_problem("unsupported_records", [r.CBHTBM], "承包方式 {cbfs} 不是家庭承包",
                                         "contract type {cbfs} is not a family contract", cbfs=r.CBFS))
            continue
        start, end = _date(r.CBQXQ), _date(r.CBQXZ)
        if start is None or end is None:
            out.problems.append(_problem("contract_terms", [r.CBHTBM], "承包期限日期无法识别",
                                         "the contract term's dates cannot be read",
                                         start=r.CBQXQ, end=r.CBQXZ))
            continue
        own = parcels_of.get(r.CBHTBM, {})
        wrong_kind = [c for c in own if kinds[index[c]] != "contract_land"]
        if wrong_kind:
            out.problems.append(_problem("contract_terms", wrong_kind, "合同 {contract} 含非承包地",
                                         "contract {contract} holds land that is not contract land",
                                         contract=r.CBHTBM, rule="PARCEL_KIND_MISMATCH"))
        try:
            check_dates(start, end, policy)
            check_contract_term(start, end, {uses[index[c]] for c in own} or {"cultivated"})
        except RuleViolation as e:
            out.problems.append(_problem("contract_terms", [r.CBHTBM], "{reason}", "{reason_en}",
                                         reason=e.zh, reason_en=e.en, rule=e.rule, basis=e.basis))
            continue
        contracts.append(ContractRow(holder=r.CBFBM, start=start, end=end, parcels=own))
    return contracts


def _decided_on(tables, today: dt.date) -> dict[str, dt.date]:
    """When each collective's members were recognised: its earliest contract signing (QDSJ)."""
    out: dict[str, dt.date] = {}
    if "CBHT" in tables and "QDSJ" in tables["CBHT"]:
        for r in tables["CBHT"].itertuples():
            day = _date(getattr(r, "QDSJ", None))
            if day is not None and day <= today:
                code = str(r.FBFBM or r.CBFBM[:14])
                out[code] = min(out.get(code, day), day)
    return out


def _date(value) -> dt.date | None:
    text = str(value or "").strip()[:10]
    for parse in (dt.date.fromisoformat, lambda t: dt.datetime.strptime(t, "%Y%m%d").date(),
                  lambda t: dt.datetime.strptime(t, "%Y/%m/%d").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number
