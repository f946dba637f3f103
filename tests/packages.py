"""Small NY/T 2539 packages built on the fly for the reader, QA and import tests."""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from gis.package import TABLE_FIELDS

#: A corner in Donggang, CGCS2000 / 3-degree GK CM 123E (EPSG:4550) metres.
X0, Y0 = 582_600.0, 4_424_000.0


def boxes(n=3, size=20.0, gap=5.0):
    return [shapely.box(X0 + i * (size + gap), Y0, X0 + i * (size + gap) + size, Y0 + size) for i in range(n)]


def codes(n=3):
    return [f"21068110100101{i:05d}" for i in range(1, n + 1)]


def make_layer(path: Path, *, geoms=None, crs=4550, encoding="UTF-8", **columns) -> Path:
    """Write a small parcel layer; by default three 20 m squares in Donggang with DKBM and DKMC."""
    geoms = boxes() if geoms is None else geoms
    data = {"DKBM": codes(len(geoms)), "DKMC": ["东岗地", "西洼地", "南坡地"][: len(geoms)]} | columns
    gdf = gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(path, encoding=encoding, engine="pyogrio")
    return path


def write_tables(folder: Path, names=("FBF", "CBF", "CBF_JTCY", "CBHT", "CBDKXX"), drop=None) -> None:
    """CSV tables naming the three parcels of `make_layer` (one household, one contract)."""
    household = "210681101001010001"
    rows = {
        "FBF": [("21068110100101", "长山镇曹家村第一村民小组", "张振海", "1", "210681195401048375",
                 "辽宁省丹东市东港市")],
        "CBF": [(household, "1", "张振海", "1", "210681195401048375", "辽宁省丹东市东港市", "1")],
        "CBF_JTCY": [(household, "张振海", "1", "1", "210681195401048375", "02", "1")],
        "CBHT": [(household + "J", "21068110100101", household, "110", "1998-01-01", "2027-12-31", "1200.00",
                  "1.80", "3", "1998-06-30")],
        "CBDKXX": [(c, "21068110100101", household, "110", household + "J", "400.00", "0.60", household + "J")
                   for c in codes()],
    }
    for name in names:
        frame = pd.DataFrame(rows[name], columns=list(TABLE_FIELDS[name]))
        if drop and name in drop:
            frame = frame.drop(columns=drop[name])
        frame.to_csv(folder / f"{name}.csv", index=False)


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                z.write(file, file.relative_to(folder).as_posix())
    return target


def small_package(tmp_path: Path, **layer) -> Path:
    folder = tmp_path / "pkg"
    make_layer(folder / "DK.shp", **layer)
    write_tables(folder)
    return folder
