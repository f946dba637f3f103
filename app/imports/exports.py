"""Exports: parcels as GeoPackage, GeoJSON or Shapefile, and whole NY/T 2539 packages.

Fields carry their NY/T 2539 names, so an export opens in the tools the
land-confirmation contractors use and goes back in through the importer: a
package exported and imported again gives the same parcels, codes and areas.
"""
from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select

from app.auth.services import Principal
from app.db import UnitOfWork
from app.errors import DomainError, Forbidden
from app.parcels.models import ParcelVersion
from app.parcels.services import geometry_violation
from app.parties.models import Collective, Household, Person
from app.queries import code_prefix, narrowest
from app.rights.models import Right, RightParcel
from gis import crs as gis_crs
from gis.area import m2_to_mu
from gis.errors import GeometryInputError
from gis.io import write_package, write_parcels
from gis.package import DK_FIELDS, TABLE_FIELDS, Package

FORMATS = {"gpkg": ("application/geopackage+sqlite3", ".gpkg"), "geojson": ("application/geo+json", ".geojson"),
           "shp": ("application/zip", ".zip")}
#: parcel kind → DKLB; land use → GB/T 21010 first-level class (TDLYLX); the importer maps them back.
DKLB = {"contract_land": "10", "private_plot": "21", "reserve": "22", "other": "99", "homestead": "99"}
TDLYLX = {"cultivated": "01", "garden": "02", "forest": "03", "grassland": "04", "homestead": "07", "other": "12"}
#: (relation, sex) → GB/T 4761 family relation code (YHZGX), as bench/package.py writes them.
YHZGX = {("head", "male"): "02", ("head", "female"): "02", ("spouse", "male"): "11", ("spouse", "female"): "12",
         ("child", "male"): "20", ("child", "female"): "30", ("grandchild", "male"): "41",
         ("grandchild", "female"): "42", ("parent", "male"): "51", ("parent", "female"): "52",
         ("grandparent", "male"): "61", ("grandparent", "female"): "62", ("sibling", "male"): "71",
         ("sibling", "female"): "75", ("child_in_law", "male"): "28", ("child_in_law", "female"): "38",
         ("other", "male"): "99", ("other", "female"): "99"}
SEX = {"male": "1", "female": "2"}


def export_parcels(uow: UnitOfWork, *, actor: Principal, within: str | None, format: str,
                   crs: str | None, folder: Path) -> Path:
    """Write the current parcels within a code prefix to a file in ``folder``.

    Args:
        within: a division or collective code prefix; the caller's scope narrows it.
        format: ``gpkg``, ``geojson`` or ``shp`` (a zipped Shapefile).
        crs: the output CRS (EPSG:4490 when None; CGCS2000 Gauss-Kruger zones accepted).

    Raises:
        RuleViolation: CRS_UNSUPPORTED.
        DomainError: 404 when nothing lies within the prefix.
    """
    epsg = _epsg(crs)
    package = _package(uow, actor=actor, within=within, tables=False)
    path = folder / f"parcels{FORMATS[format][1]}"
    try:
        return write_parcels(package.parcels, path, format=format, crs_epsg=epsg, layer="DK")
    except GeometryInputError as e:
        raise geometry_violation(e) from None


def export_package(uow: UnitOfWork, *, actor: Principal, within: str | None, format: str, crs: str | None,
                   folder: Path) -> Path:
    """Write an NY/T 2539 package (DK layer and the FBF/CBF/CBF_JTCY/CBHT/CBDKXX tables) as a zip.

    Raises:
        Forbidden: the role may not see whole ID numbers, which a package carries.
        RuleViolation: CRS_UNSUPPORTED.
        DomainError: 404 when nothing lies within the prefix.
    """
    if not actor.sees_id_numbers:
        raise Forbidden("数据包含完整身份证号，您的角色无权导出", "a package holds whole ID numbers; your role may not "
                        "export one")
    epsg = None if crs is None else _epsg(crs)
    package = _package(uow, actor=actor, within=within, tables=True)
    try:
        return write_package(package, folder / "package.zip", crs_epsg=epsg, format=format)
    except GeometryInputError as e:
        raise geometry_violation(e) from None


def temporary_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="sanquan-export-")


def open_export(make: Callable[..., Path], uow: UnitOfWork, *, actor: Principal, **args: Any) -> IO[bytes]:
    """Write an export (:func:`export_parcels`, :func:`export_package`) in a scratch folder, open it, drop the
    folder, and return the open file to stream.

    The file's name is gone before the response starts (POSIX keeps an unlinked open file), so nothing is
    left behind however the download ends.
    """
    with temporary_folder() as folder:
        path = make(uow, actor=actor, folder=Path(folder), **args)
        return open(path, "rb")  # noqa: SIM115  the response closes it


def _epsg(crs: str | None) -> int:
    try:
        return gis_crs.parse_crs(crs) if crs else gis_crs.STORAGE_EPSG
    except GeometryInputError as e:
        raise geometry_violation(e) from None


def _package(uow: UnitOfWork, *, actor: Principal, within: str | None, tables: bool) -> Package:
    prefix = narrowest(actor.scope, within)
    with uow:
        s = uow.session
        versions = [] if prefix is None else list(s.scalars(
            select(ParcelVersion).where(ParcelVersion.valid_to.is_(None),
                                        code_prefix(ParcelVersion.parcel_code, prefix))
            .order_by(ParcelVersion.parcel_code)))
        if not versions:
            raise DomainError(f"{within or actor.scope or '全部'} 范围内没有地块", f"no parcels within {within!r}",
                              status=404)
        parcels = _dk(versions)
        out = Package(parcels=parcels, source_epsg=gis_crs.STORAGE_EPSG, layer="DK")
        if tables:
            assert prefix is not None, "no prefix, no parcels: refused above"
            out.tables = _tables(s, prefix, {v.parcel_code for v in versions})
    return out


def _dk(versions: list[ParcelVersion]) -> gpd.GeoDataFrame:
    rows: dict[str, list[Any]] = {field: [None] * len(versions) for field in DK_FIELDS}
    rows["BSM"] = list(range(1, len(versions) + 1))
    rows["DKBM"] = [v.parcel_code for v in versions]
    rows["DKMC"] = [v.name for v in versions]
    rows["SYQXZ"] = ["30"] * len(versions)  # collectively owned (集体土地所有权)
    rows["DKLB"] = [DKLB[v.kind] for v in versions]
    rows["TDLYLX"] = [TDLYLX[v.land_use] for v in versions]
    rows["SFJBNT"] = ["1" if v.basic_farmland else "2" for v in versions]
    declared = [float(v.declared_area_m2) if v.declared_area_m2 is not None else v.area_m2 for v in versions]
    rows["SCMJ"] = [round(a, 2) for a in declared]
    rows["SCMJM"] = [float(m2_to_mu(a)) for a in declared]
    frame = pd.DataFrame(rows)
    frame["SCMJ"] = frame["SCMJ"].astype(float)
    frame["SCMJM"] = frame["SCMJM"].astype(float)
    frame["BSM"] = frame["BSM"].astype(float)
    return gpd.GeoDataFrame(frame, geometry=np.array([v.geom for v in versions], dtype=object),
                            crs=f"EPSG:{gis_crs.STORAGE_EPSG}")


def _tables(s, prefix: str, parcel_codes: set[str]) -> dict[str, pd.DataFrame]:
    collectives = list(s.scalars(select(Collective).where(code_prefix(Collective.code, prefix))
                                 .order_by(Collective.code)))
    households = list(s.scalars(select(Household).where(code_prefix(Household.code, prefix))
                                .order_by(Household.code)))
    people: dict[str, list[Person]] = defaultdict(list)
    for p in s.scalars(select(Person).where(code_prefix(Person.household_code, prefix)).order_by(Person.id)):
        people[p.household_code].append(p)
    contracts = list(s.scalars(select(Right).where(code_prefix(Right.id, prefix), Right.type == "contract",
                                                  Right.valid_to.is_(None)).order_by(Right.id)))
    links: dict[str, list[RightParcel]] = defaultdict(list)
    for link in s.scalars(select(RightParcel).join(Right).where(
            code_prefix(Right.id, prefix), Right.type == "contract", RightParcel.valid_to.is_(None))
            .order_by(RightParcel.parcel_code)):
        if link.parcel_code in parcel_codes:
            links[link.right_id].append(link)

    def head(code: str) -> Person | None:
        return next((p for p in people[code] if p.relation == "head"), None)

    def frame(name: str, rows: list[dict]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=list(TABLE_FIELDS[name])).astype(object).where(lambda f: f.notna(), None)

    def area(total: float) -> tuple[str, str]:
        return f"{total:.2f}", f"{float(m2_to_mu(total)):.2f}"

    contract_rows, line_rows = [], []
    for right in contracts:
        own = links.get(right.id, [])
        total = sum(float(link.contract_area_m2 or 0) for link in own)
        contract_rows.append({"CBHTBM": right.code, "FBFBM": right.collective_code, "CBFBM": right.holder_code,
                              "CBFS": "110", "CBQXQ": right.start.isoformat(), "CBQXZ": right.end.isoformat(),
                              "HTZMJ": area(total)[0], "HTZMJM": area(total)[1], "CBDKZS": str(len(own)),
                              "QDSJ": None})
        for link in own:
            m2, mu = area(float(link.contract_area_m2 or 0))
            line_rows.append({"DKBM": link.parcel_code, "FBFBM": right.collective_code, "CBFBM": right.holder_code,
                              "CBJYQQDFS": "110", "CBHTBM": right.code, "HTMJ": m2, "HTMJM": mu,
                              "CBJYQZBM": right.code})
    return {
        "FBF": frame("FBF", [{"FBFBM": c.code, "FBFMC": c.name} for c in collectives]),
        "CBF": frame("CBF", [{"CBFBM": h.code, "CBFLX": "1", "CBFMC": getattr(head(h.code), "name", None),
                              "CBFZJLX": "1", "CBFZJHM": getattr(head(h.code), "id_number", None),
                              "CBFDZ": h.address, "CBFCYSL": str(len(people[h.code]))} for h in households]),
        "CBF_JTCY": frame("CBF_JTCY", [{"CBFBM": h.code, "CYXM": p.name, "CYXB": SEX[p.sex], "CYZJLX": "1",
                                        "CYZJHM": p.id_number, "YHZGX": YHZGX[p.relation, p.sex], "SFGYR": "1"}
                                       for h in households for p in people[h.code]]),
        "CBHT": frame("CBHT", contract_rows),
        "CBDKXX": frame("CBDKXX", line_rows),
    }
