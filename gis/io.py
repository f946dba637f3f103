"""Read and write NY/T 2539 land-confirmation packages and plain parcel layers.

An NY/T 2539 package (docs/rules.md §5) is the DK parcel layer plus the tables
FBF, CBF, CBF_JTCY, CBHT and CBDKXX. It arrives as a zip, a folder, a
GeoPackage, or for a plain parcel layer a single Shapefile, GeoPackage or
GeoJSON file. :func:`read_package` turns any of them into a
:class:`gis.package.Package`; :func:`write_package` and :func:`write_parcels`
go the other way.

What is found where (the whole tree is searched, nested folders included):

- DK layer: a Shapefile whose name starts with ``DK`` (any case: ``DK.shp``,
  ``dk2106812017.SHP``) or a GeoPackage layer whose name does.
- Tables: ``FBF``, ``CBF``, ``CBF_JTCY``, ``CBHT``, ``CBDKXX`` as ``.csv`` or
  ``.dbf`` files, the name optionally followed by digits
  (``CBF2106812017.dbf``), any case, or as GeoPackage attribute tables.
- A tree with any table is an NY/T 2539 package: it must have a DK layer and
  at least CBF, CBHT and CBDKXX (households, contracts and which parcel is in
  which contract: without them the rights cannot be built). FBF may be
  absent (the collectives are already registered) and so may CBF_JTCY (QA
  reports households without members). Each table present must have its
  `TABLE_REQUIRED` columns; only the `TABLE_FIELDS` columns are kept.
- A tree without tables is a plain parcel layer: its DK layer, or else its
  only polygon layer whatever its name.

Decisions about the data, made once here so the importer need not:

- Text encoding: a ``.cpg`` is honoured (UTF-8, GBK/CP936, GB2312, GB18030,
  Big5, code page numbers); GBK and GB2312 are decoded as GB18030, their
  superset. Without a ``.cpg`` a DBF language-driver byte of GBK is honoured;
  otherwise UTF-8 is tried and, when the bytes are not UTF-8, GB18030, with a
  note. A ``.cpg`` saying UTF-8 over GBK bytes falls back the same way (a
  common export slip). CSV: UTF-8 with or without BOM, else GB18030.
  GeoPackage and GeoJSON are UTF-8 by definition.
- Field types: text fields are stripped, empty → None. A code (DKBM, any
  table ``…BM`` or ``…ZJHM``) stored as an integer is converted to text (codes
  never start with 0, so nothing is lost; DKBM must then have exactly 19
  digits); stored as a floating-point number it is refused
  (``wrong_field_type``) unless every value is a whole number below 2⁵³, which
  a double holds exactly (a 19-digit DKBM never is). Other text fields
  stored as numbers are converted, zero-padded where the standard fixes the
  width (DLDJ ``1`` → ``01``), with a note. Numeric DK fields (BSM, SCMJ,
  SCMJM) stored as text are parsed; a value that is not a number is refused.
- Geometry: Polygon and MultiPolygon become MultiPolygon in EPSG:4490; null
  and empty geometries become None; invalid geometries are kept as read (QA
  reports them); any other type is refused (``not_polygons``).
- CRS: taken from the ``.prj`` or the layer and identified as an EPSG code;
  a CGCS2000 6-degree code whose central meridian is also a 3-degree one
  (EPSG:4502–4512) is the same projection and is read as that 3-degree zone.
  Anything else outside `gis.crs.SUPPORTED_EPSG`, or no CRS at all, is
  refused with CRS_UNSUPPORTED.

Zip archives are unpacked into a temporary directory that is always removed;
path traversal, symbolic links, encrypted members, too many members and zip
bombs (declared sizes, compression ratio, and the bytes actually written)
are refused before or while unpacking.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import math
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely
from pyogrio import raw

from gis.crs import (
    STORAGE_EPSG,
    SUPPORTED_EPSG,
    check_supported_area,
    from_storage,
    parse_crs,
    to_storage,
    zone_epsg,
)
from gis.errors import GeometryInputError, PackageError
from gis.package import DK_FIELDS, DK_NUMERIC, TABLE_FIELDS, TABLE_REQUIRED, Package

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "MAX_COMPRESSION_RATIO",
    "MAX_ZIP_MEMBERS",
    "PackageWriter",
    "read_package",
    "write_package",
    "write_parcels",
]

#: Features read (and converted, reprojected) at a time from the DK layer.
DEFAULT_CHUNK_SIZE = 50_000
#: Total bytes a zip may unpack to. A county of a million parcels is about
#: 1.5 GB unpacked; 4 GiB leaves room without letting a bomb fill the disk.
DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024**3
#: Members a zip may hold; a package has a dozen files, a province's a few hundred.
MAX_ZIP_MEMBERS = 10_000
#: Largest declared size / compressed size of one member. Real DBF files with
#: wide, mostly blank text fields compress 50–100:1; a bomb of zeros ~1000:1.
MAX_COMPRESSION_RATIO = 400
#: Members smaller than this are never refused for their ratio alone.
_RATIO_MIN_BYTES = 4 * 1024**2
_COPY_BLOCK = 1024**2

_TABLE_NAME = re.compile(r"^(FBF|CBF|CBF_JTCY|CBHT|CBDKXX)(\d*)$", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")
_LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")
#: Drivers whose readers seek to a feature cheaply; the others (GeoJSON) re-parse
#: from the start on every skip, so they are read in one piece.
_CHUNKED_DRIVERS = frozenset({"ESRI Shapefile", "GPKG"})

#: Widths the standard fixes for code fields, used to restore the leading zeros
#: a numeric field type dropped (DLDJ 1 → "01"). TDLYLX is GB/T 21010-2007 (3 digits).
_CODE_WIDTH = {
    "YSDM": 6, "SYQXZ": 2, "DKLB": 2, "TDLYLX": 3, "DLDJ": 2, "TDYT": 1, "SFJBNT": 1,
    "YHZGX": 2, "CBFS": 3, "CBJYQQDFS": 3,
}
#: A double holds every integer below 2⁵³ exactly.
_EXACT_FLOAT_INT = 2**53

#: CGCS2000 6-degree zones without prefix (CM 75°E … 135°E) → the 3-degree zone
#: with the same central meridian: the same projection under another code.
_SIX_DEGREE_TWINS = {4502 + i: 4534 + 2 * i for i in range(11)}

#: ``.cpg`` spellings → Python codec. GBK and GB2312 are read as GB18030, their superset.
_CPG_CODECS = {
    "UTF8": "utf-8", "UTF-8": "utf-8", "65001": "utf-8",
    "GBK": "gb18030", "CP936": "gb18030", "936": "gb18030", "ANSI936": "gb18030", "MS936": "gb18030",
    "WINDOWS-936": "gb18030", "GB2312": "gb18030", "20936": "gb18030", "EUC-CN": "gb18030",
    "GB18030": "gb18030", "54936": "gb18030", "BIG5": "big5", "950": "big5",
}
#: DBF language-driver ids meaning code page 936 (GBK).
_LDID_GBK = frozenset({0x4D, 0x7A})

_GEOMETRY_NAMES = {
    0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
    5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection",
}

Progress = Callable[[int, int], None]


# --- public API ----------------------------------------------------------------


def read_package(
    path: str | os.PathLike[str],
    *,
    field_map: Mapping[str, str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    progress: Progress | None = None,
) -> Package:
    """Read an NY/T 2539 package or a plain parcel layer.

    The DK layer is read ``chunk_size`` features at a time; each chunk is
    decoded, type-checked and reprojected before the next is read, so memory
    holds the result plus one raw chunk.

    Args:
        path: a ``.zip``, a folder, a GeoPackage, or a single layer file
            (``.shp`` with its sidecar files, ``.geojson``/``.json``).
        field_map: ``{DK field: source field}`` for layers whose fields are not
            named as the standard names them, e.g. ``{"DKBM": "code",
            "DKMC": "name"}``; the other DK fields are looked up under their
            own names. Field names match case-insensitively.
        chunk_size: features per chunk (at least 1).
        max_unpacked_bytes: the most a zip may unpack to, declared or actual.
        progress: called as ``progress(done, total)`` after each chunk of the
            DK layer.

    Returns:
        The package: parcels in EPSG:4490 with every `DK_FIELDS` column and a
        1-based ``row`` column, tables as text (empty for a plain layer).

    Raises:
        PackageError: PACKAGE_INVALID with a ``reason``: ``bad_zip``,
            ``zip_traversal``, ``zip_symlink``, ``zip_encrypted``,
            ``zip_unsupported``, ``zip_duplicate``, ``zip_too_many_files``,
            ``zip_bomb``, ``not_found``, ``unsupported_format``, ``unreadable``,
            ``bad_encoding``, ``no_dk_layer``, ``several_dk_layers``,
            ``several_layers``, ``missing_tables``, ``duplicate_tables``,
            ``missing_columns``, ``bad_field_map``, ``wrong_field_type``,
            ``not_polygons`` or ``no_features``.
        GeometryInputError: CRS_UNSUPPORTED (reason ``missing_crs`` or
            ``unsupported_crs``) for a layer without a CRS or in a CRS the
            registry does not take; OUTSIDE_SUPPORTED_AREA for coordinates
            that do not fit the declared zone or lie outside China (``details``
            carry the 1-based ``row``).
    """
    if int(chunk_size) < 1:
        raise ValueError("chunk_size must be at least 1")
    targets = _check_field_map(field_map)
    source = Path(path)
    if source.is_dir():
        return _read_tree(source, _walk(source), targets, int(chunk_size), progress)
    if not source.is_file():
        raise PackageError(
            "not_found",
            f"No file or folder {source.name!r} to read.",
            f"找不到要读取的文件或文件夹“{source.name}”。",
            {"file": source.name},
        )
    suffix = source.suffix.lower()
    if suffix == ".zip" or (suffix not in _LAYER_SUFFIXES and zipfile.is_zipfile(source)):
        with _unpacked(source, int(max_unpacked_bytes)) as root:
            return _read_tree(root, _walk(root), targets, int(chunk_size), progress)
    if suffix in _LAYER_SUFFIXES:
        return _read_tree(source.parent, [source], targets, int(chunk_size), progress)
    raise PackageError(
        "unsupported_format",
        f"{source.name} is not a package: send a .zip of the NY/T 2539 package, a folder, a GeoPackage "
        "(.gpkg), a Shapefile (.shp) or a GeoJSON file.",
        f"“{source.name}”不是可识别的数据包：请提交 NY/T 2539 数据包的 zip 压缩包、GeoPackage（.gpkg）、"
        "Shapefile（.shp）或 GeoJSON 文件。",
        {"file": source.name},
    )


def write_package(
    package: Package,
    path: str | os.PathLike[str],
    *,
    crs_epsg: int | None = None,
    format: str = "shp",
) -> Path:
    """Write a package as an NY/T 2539 zip.

    ``format="shp"``: ``DK.shp`` (with ``.shx``, ``.dbf``, a ``.prj`` and a
    UTF-8 ``.cpg``; field names are the DK names) and one UTF-8 CSV per table
    (with a BOM, so Excel on a Chinese Windows shows the text rather than
    decoding it as GBK). ``format="gpkg"``: one GeoPackage holding the
    ``DK`` layer and the tables as attribute tables. Only tables the package
    has are written, each with all its `TABLE_FIELDS` columns.

    Args:
        package: the package, parcels in EPSG:4490.
        path: the zip to write (replaced if it exists).
        crs_epsg: CRS of the written layer; default the CGCS2000 3-degree
            Gauss-Kruger zone of the centre of the data (`gis.crs.zone_epsg`).
        format: ``"shp"`` or ``"gpkg"``.

    Returns:
        The path of the zip written.

    Raises:
        ValueError: for an unknown format.
        GeometryInputError: CRS_UNSUPPORTED for a ``crs_epsg`` outside
            `gis.crs.SUPPORTED_EPSG`.
    """
    with PackageWriter(path, crs_epsg=crs_epsg, format=format) as writer:
        writer.write(package)
    return writer.path


def write_parcels(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    format: str = "gpkg",
    crs_epsg: int = STORAGE_EPSG,
    layer: str = "parcels",
) -> Path:
    """Export a plain parcel layer.

    Args:
        gdf: parcels in EPSG:4490 (a GeoDataFrame without a CRS is taken to
            be in EPSG:4490); every column is written. For a Shapefile the
            column names must have at most 10 characters.
        path: the file to write, replaced if it exists: a ``.gpkg``, a
            ``.geojson``, or for ``format="shp"`` a zip holding
            ``<layer>.shp`` with its ``.shx``, ``.dbf``, ``.prj`` and UTF-8 ``.cpg``.
        format: ``"gpkg"``, ``"geojson"`` or ``"shp"``.
        crs_epsg: CRS to write, one of `gis.crs.SUPPORTED_EPSG`.
        layer: layer (and Shapefile) name.

    Returns:
        The path written.

    Raises:
        ValueError: for an unknown format, a GeoDataFrame in another CRS than
            EPSG:4490, or Shapefile column names longer than 10 characters.
        GeometryInputError: CRS_UNSUPPORTED for an unsupported ``crs_epsg``.
    """
    if format not in ("gpkg", "geojson", "shp"):
        raise ValueError(f"unknown format {format!r}: use gpkg, geojson or shp")
    if gdf.crs is not None and gdf.crs.to_epsg() != STORAGE_EPSG:
        raise ValueError(f"parcels must be in EPSG:{STORAGE_EPSG}, not {gdf.crs}")
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if format == "shp":
        too_long = [c for c in columns if len(str(c)) > 10]
        if too_long:
            raise ValueError(f"Shapefile field names have at most 10 characters: {too_long}")
    crs_epsg = parse_crs(f"EPSG:{int(crs_epsg)}")
    target = Path(path)
    geoms = _as_multi(from_storage(np.asarray(gdf.geometry.array, dtype=object), crs_epsg))
    out = gpd.GeoDataFrame(
        pd.DataFrame(gdf[columns]),
        geometry=gpd.GeoSeries(geoms, index=gdf.index, crs=f"EPSG:{crs_epsg}"),
    )
    # The same suffix: GDAL picks (and checks) the format by it.
    tmp = target.with_name(f".{target.stem}.part{target.suffix}")
    try:
        if format == "shp":
            with tempfile.TemporaryDirectory(prefix="sanquan-export-") as folder:
                pyogrio.write_dataframe(out, Path(folder) / f"{layer}.shp", encoding="UTF-8",
                                        layer_options={"RESIZE": "YES"})
                _zip_folder(Path(folder), tmp)
        else:
            driver = "GPKG" if format == "gpkg" else "GeoJSON"
            tmp.unlink(missing_ok=True)
            pyogrio.write_dataframe(out, tmp, layer=layer, driver=driver)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


class PackageWriter:
    """Write an NY/T 2539 package zip piece by piece.

    Each :meth:`write` appends a package's parcels and table rows, so a
    county can be written collective by collective without ever being held
    whole. The files are built in a temporary directory and zipped by
    :meth:`close`; leaving the ``with`` block on an exception writes nothing.

    Example:
        >>> with PackageWriter("out.zip", crs_epsg=4550) as w:  # doctest: +SKIP
        ...     for part in parts:
        ...         w.write(part)
    """

    def __init__(self, path: str | os.PathLike[str], *, crs_epsg: int | None = None, format: str = "shp") -> None:
        """Start a package.

        Args:
            path: the zip to write at :meth:`close` (replaced if it exists).
            crs_epsg: CRS of the DK layer; default the Gauss-Kruger zone of
                the centre of the first parcels written.
            format: ``"shp"`` or ``"gpkg"`` (see :func:`write_package`).

        Raises:
            ValueError: for an unknown format.
            GeometryInputError: CRS_UNSUPPORTED for an unsupported ``crs_epsg``.
        """
        if format not in ("shp", "gpkg"):
            raise ValueError(f"unknown package format {format!r}: use shp or gpkg")
        if crs_epsg is not None:
            parse_crs(f"EPSG:{int(crs_epsg)}")  # CRS_UNSUPPORTED before anything is written
        self.path = Path(path)
        self.format = format
        self.crs_epsg = None if crs_epsg is None else int(crs_epsg)
        self._tmp: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(prefix="sanquan-package-")
        self._folder = Path(self._tmp.name)
        self._gpkg = self._folder / f"{self.path.stem.removesuffix('.gpkg') or 'package'}.gpkg"
        self._dk_written = False
        self._tables_started: set[str] = set()
        self.parcels = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, package: Package, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        """Append a package's parcels and table rows.

        Args:
            package: parcels in EPSG:4490 (any subset of `DK_FIELDS` columns;
                the others are written empty) and tables (any subset of
                `TABLE_FIELDS` columns).
            chunk_size: parcels converted and written at a time.

        Raises:
            RuntimeError: after :meth:`close` or :meth:`abort`.
        """
        if self._tmp is None:
            raise RuntimeError("the package writer is closed")
        parcels = package.parcels
        step = max(int(chunk_size), 1)
        for start in range(0, len(parcels), step):
            self._write_parcels(parcels.iloc[start : start + step])
        for name in TABLE_FIELDS:
            table = package.tables.get(name)
            if table is not None:
                self._write_table(name, table)

    def close(self) -> Path:
        """Zip what was written into :attr:`path` and remove the temporary files.

        Returns:
            The path of the zip.
        """
        if self._tmp is None:
            return self.path
        try:
            if not self._dk_written:  # an empty package still has its DK layer
                empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=f"EPSG:{STORAGE_EPSG}"))
                self._write_parcels(empty, final=True)
            part = self.path.with_name(f".{self.path.name}.part")
            try:
                _zip_folder(self._folder, part)
                os.replace(part, self.path)
            finally:
                part.unlink(missing_ok=True)
        finally:
            self.abort()
        return self.path

    def abort(self) -> None:
        """Drop what was written; nothing reaches :attr:`path`."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _write_parcels(self, parcels: Any, *, final: bool = False) -> None:
        n = len(parcels)
        if n == 0 and (self._dk_written or not final):
            return
        geoms = np.asarray(parcels.geometry.array, dtype=object) if n else np.empty(0, dtype=object)
        if self.crs_epsg is None:
            present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
            if len(present):
                xmin, _, xmax, _ = shapely.total_bounds(present)
                self.crs_epsg = int(zone_epsg((xmin + xmax) / 2))
            else:  # nothing to place in a zone
                self.crs_epsg = STORAGE_EPSG
        wkb = shapely.to_wkb(_as_multi(from_storage(geoms, self.crs_epsg)), flavor="iso")
        data, masks = [], []
        for field in DK_FIELDS:
            values, mask = _write_column(parcels.get(field), field, n)
            data.append(values)
            masks.append(mask)
        shp = self.format == "shp"
        raw.write(
            self._folder / "DK.shp" if shp else self._gpkg,
            wkb,
            data,
            list(DK_FIELDS),
            field_mask=masks,
            layer="DK",
            driver="ESRI Shapefile" if shp else "GPKG",
            geometry_type="MultiPolygon",
            crs=f"EPSG:{self.crs_epsg}",
            encoding="UTF-8" if shp else None,
            append=self._dk_written,
            # Shrink the 80-byte default text widths to what the first chunk needs;
            # the driver widens a field when a later value is longer.
            layer_options={"RESIZE": "YES"} if shp and not self._dk_written else None,
        )
        self._dk_written = True
        self.parcels += n

    def _write_table(self, name: str, table: pd.DataFrame) -> None:
        first = name not in self._tables_started
        if not len(table) and not first:
            return
        self._tables_started.add(name)
        columns = TABLE_FIELDS[name]
        values = [_text_for_write(table.get(c), len(table)) for c in columns]
        if self.format == "shp":
            # The BOM once, at the start of the file, for Excel.
            with open(self._folder / f"{name}.csv", "w" if first else "a",
                      encoding="utf-8-sig" if first else "utf-8", newline="") as f:
                out = csv.writer(f, lineterminator="\r\n")
                if first:
                    out.writerow(columns)
                out.writerows(zip(*values, strict=True))
            return
        raw.write(self._gpkg, None, values, list(columns), layer=name, driver="GPKG", append=not first)


# --- zip -----------------------------------------------------------------------


@contextlib.contextmanager
def _unpacked(path: Path, max_bytes: int) -> Iterator[Path]:
    """Unpack a zip safely into a temporary directory, removed on exit."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise _bad_zip(path.name, str(e)) from None
    with archive:
        members = _checked_members(archive, max_bytes)
        with tempfile.TemporaryDirectory(prefix="sanquan-package-") as folder:
            root = Path(folder)
            _extract(archive, members, root, max_bytes)
            yield root


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    # Zips made on a Chinese Windows store GBK names without the UTF-8 flag;
    # zipfile decoded them as CP437.
    if not info.flag_bits & 0x800 and not name.isascii():
        with contextlib.suppress(UnicodeError):
            name = name.encode("cp437").decode("gb18030")
    return name.replace("\\", "/")


def _checked_members(archive: zipfile.ZipFile, max_bytes: int) -> list[tuple[zipfile.ZipInfo, str]]:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise PackageError(
            "zip_too_many_files",
            f"The zip holds {len(infos)} entries, more than the {MAX_ZIP_MEMBERS} a package may have.",
            f"压缩包内有 {len(infos)} 个文件，超过数据包允许的 {MAX_ZIP_MEMBERS} 个。请只压缩数据包本身的文件。",
            {"members": len(infos), "limit": MAX_ZIP_MEMBERS},
        )
    members, seen, declared = [], set(), 0
    for info in infos:
        name = _member_name(info)
        parts = name.split("/")
        if "\x00" in name or name.startswith("/") or _DRIVE.match(name) or ".." in parts:
            raise PackageError(
                "zip_traversal",
                f"The zip entry {name!r} points outside the package folder (an absolute path or '..'); "
                "such archives are refused. Zip the package folder itself and upload it again.",
                f"压缩包中的“{name}”指向数据包文件夹之外（绝对路径或含“..”），出于安全原因拒绝。"
                "请直接压缩数据包文件夹后重新上传。",
                {"member": name[:200]},
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise PackageError(
                "zip_symlink",
                f"The zip entry {name!r} is a symbolic link; such archives are refused. Zip the files themselves.",
                f"压缩包中的“{name}”是符号链接，出于安全原因拒绝。请压缩文件本身后重新上传。",
                {"member": name[:200]},
            )
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise PackageError(
                "zip_encrypted",
                f"The zip entry {name!r} is password-protected; upload the package without a password.",
                f"压缩包中的“{name}”设置了密码，请去掉密码后重新压缩上传。",
                {"member": name[:200]},
            )
        if parts[0] == "__MACOSX" or parts[-1].startswith("._") or not parts[-1]:
            continue  # macOS resource forks: never data
        key = name.casefold()
        if key in seen:
            raise PackageError(
                "zip_duplicate",
                f"The zip holds {name!r} twice; remove the extra copy.",
                f"压缩包中“{name}”出现了两次，请删除多余的一份后重新压缩。",
                {"member": name[:200]},
            )
        seen.add(key)
        declared += info.file_size
        if declared > max_bytes:
            raise _zip_bomb(max_bytes, "declared")
        if info.file_size >= _RATIO_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            ratio = round(info.file_size / max(info.compress_size, 1))
            raise _zip_bomb(max_bytes, "ratio", member=name[:200], ratio=ratio)
        members.append((info, name))
    return members


def _extract(archive: zipfile.ZipFile, members: list[tuple[zipfile.ZipInfo, str]], root: Path, max_bytes: int) -> None:
    written = 0
    base = root.resolve()
    for info, name in members:
        target = (root / name).resolve()
        if not target.is_relative_to(base):  # belt and braces after the name checks
            raise PackageError("zip_traversal", f"The zip entry {name!r} points outside the package folder.",
                               f"压缩包中的“{name}”指向数据包文件夹之外，出于安全原因拒绝。", {"member": name[:200]})
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                # Count what is really written: a lying header must not get past the limit.
                while block := src.read(_COPY_BLOCK):
                    written += len(block)
                    if written > max_bytes:
                        raise _zip_bomb(max_bytes, "actual")
                    dst.write(block)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise _bad_zip(name, str(e)) from None
        except NotImplementedError as e:
            raise PackageError(
                "zip_unsupported",
                f"The zip entry {name!r} uses a compression method that cannot be read ({e}); "
                "re-create the zip with ordinary (Deflate) compression.",
                f"压缩包中的“{name}”使用了无法读取的压缩方式，请用普通（Deflate）压缩方式重新压缩。",
                {"member": name[:200]},
            ) from None
        except RuntimeError as e:  # zipfile's word for an encrypted member
            raise PackageError("zip_encrypted", f"The zip entry {name!r} cannot be read: {e}.",
                               f"压缩包中的“{name}”无法读取（可能设置了密码）。", {"member": name[:200]}) from None
        except OSError as e:
            raise PackageError("unreadable", f"The zip entry {name!r} cannot be unpacked: {e.strerror or e}.",
                               f"压缩包中的“{name}”无法解压。", {"member": name[:200]}) from None


def _bad_zip(name: str, why: str) -> PackageError:
    return PackageError(
        "bad_zip",
        f"{name} is not a readable zip archive ({why}). Re-create the zip and upload it again.",
        f"“{name}”不是可读取的 zip 压缩包或已损坏，请重新压缩后再上传。",
        {"file": name, "error": why[:200]},
    )


def _zip_bomb(max_bytes: int, kind: str, **details: Any) -> PackageError:
    return PackageError(
        "zip_bomb",
        f"The zip would unpack to more than {max_bytes:,} bytes or is compressed far more than real data "
        f"(no entry may exceed {MAX_COMPRESSION_RATIO}:1); it is refused. Check that the right file was chosen.",
        f"该压缩包解压后将超过 {max_bytes:,} 字节，或压缩比异常（单个文件不得超过 {MAX_COMPRESSION_RATIO}:1），"
        "已拒绝。请确认选择的是正确的数据包。",
        {"limit_bytes": max_bytes, "check": kind, "max_ratio": MAX_COMPRESSION_RATIO, **details},
    )


def _zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(file, file.relative_to(folder).as_posix())


# --- finding the layer and the tables -------------------------------------------


@dataclass(frozen=True)
class _Layer:
    path: Path
    layer: str | None  # inside a GeoPackage
    name: str  # what DK detection looks at: file stem or GeoPackage layer name
    display: str  # relative to the package root, for messages and Package.layer
    geometry_type: str | None = None  # known for GeoPackage layers


@dataclass(frozen=True)
class _Table:
    name: str  # FBF, CBF, …
    path: Path
    layer: str | None
    display: str


def _walk(root: Path) -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX")
        files += [Path(folder) / n for n in sorted(names) if not n.startswith("._")]
    return files


def _read_tree(
    root: Path, files: list[Path], targets: dict[str, str], chunk_size: int, progress: Progress | None
) -> Package:
    layers, tables = _inventory(root, files)
    dk = _choose_layer(layers, tables)
    found: dict[str, _Table] = {}
    for table in tables:
        if table.name in found:
            raise PackageError(
                "duplicate_tables",
                f"The package holds the {table.name} table twice ({found[table.name].display} and "
                f"{table.display}); keep one.",
                f"数据包中 {table.name} 表出现了两次（{found[table.name].display} 和 {table.display}），请只保留一份。",
                {"table": table.name, "files": [found[table.name].display, table.display]},
            )
        found[table.name] = table
    missing = [name for name in ("CBF", "CBHT", "CBDKXX") if found and name not in found]
    if missing:
        raise PackageError(
            "missing_tables",
            f"The package has tables but not {', '.join(missing)}: an NY/T 2539 package needs at least CBF, "
            "CBHT and CBDKXX (households, contracts and contract parcels). Add them, or send the DK layer alone.",
            f"数据包中有权属表，但缺少 {'、'.join(missing)}：NY/T 2539 数据包至少需要 CBF（承包方）、CBHT（承包合同）"
            "和 CBDKXX（承包地块信息）。请补齐，或只提交地块图层。",
            {"missing": missing, "found": sorted(found)},
        )
    notes: list[str] = []
    parcels, epsg, encoding = _read_dk(dk, targets, chunk_size, progress, notes)
    read = {name: _read_table(table, notes) for name, table in found.items()}
    ordered = {name: read[name] for name in TABLE_FIELDS if name in read}
    return Package(parcels=parcels, tables=ordered, source_epsg=epsg, layer=dk.display, encoding=encoding, notes=notes)


def _inventory(root: Path, files: list[Path]) -> tuple[list[_Layer], list[_Table]]:
    layers: list[_Layer] = []
    tables: list[_Table] = []
    lowered = {f.with_suffix(f.suffix.lower()) for f in files}
    for file in files:
        suffix = file.suffix.lower()
        display = file.relative_to(root).as_posix()
        if suffix in (".shp", ".geojson", ".json"):
            layers.append(_Layer(file, None, file.stem, display))
        elif suffix == ".gpkg":
            for name, geometry_type in _gpkg_layers(file, display):
                if geometry_type is None:
                    if (match := _TABLE_NAME.match(name)) is not None:
                        tables.append(_Table(match[1].upper(), file, name, f"{display}:{name}"))
                else:
                    layers.append(_Layer(file, name, name, f"{display}:{name}", geometry_type))
        elif suffix in (".csv", ".dbf") and (match := _TABLE_NAME.match(file.stem)) is not None:
            if suffix == ".dbf" and file.with_suffix(".shp") in lowered:
                continue  # the attributes of a layer, not a table
            tables.append(_Table(match[1].upper(), file, None, display))
    return layers, tables


def _gpkg_layers(file: Path, display: str) -> list[tuple[str, str | None]]:
    try:
        listed = pyogrio.list_layers(file)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        raise _unreadable(display, e, file) from None
    return [(str(name), None if kind is None else str(kind)) for name, kind in listed]


def _choose_layer(layers: list[_Layer], tables: list[_Table]) -> _Layer:
    dk = [layer for layer in layers if layer.name.upper().startswith("DK")]
    if len(dk) > 1:
        raise PackageError(
            "several_dk_layers",
            f"The package holds several DK layers ({', '.join(x.display for x in dk)}); send one package per DK layer.",
            f"数据包中有多个地块（DK）图层（{'、'.join(x.display for x in dk)}），请每个数据包只放一个 DK 图层。",
            {"layers": [x.display for x in dk]},
        )
    if dk:
        return dk[0]
    if tables:
        raise _no_dk_layer(True)
    polygonal: list[_Layer] = []
    other: list[_Layer] = []
    for layer in layers:
        kind = layer.geometry_type if layer.layer is not None else _geometry_type(layer)
        if kind is None and layer.path.suffix.lower() == ".json":
            continue  # a .json that is not a layer (e.g. metadata)
        (polygonal if "polygon" in (kind or "").lower() or kind == "Unknown" else other).append(layer)
    if len(polygonal) == 1:
        return polygonal[0]
    if len(polygonal) > 1:
        raise PackageError(
            "several_layers",
            f"There are several polygon layers ({', '.join(x.display for x in polygonal)}) and none is named DK; "
            "name the parcel layer DK or send it alone.",
            f"有多个面图层（{'、'.join(x.display for x in polygonal)}），且没有名为 DK 的图层：请把地块图层命名为 DK，"
            "或只提交地块图层。",
            {"layers": [x.display for x in polygonal]},
        )
    if other:
        raise _not_polygons(other[0].display, other[0].geometry_type or _geometry_type(other[0]) or "None", None)
    raise _no_dk_layer(False)


def _geometry_type(layer: _Layer) -> str | None:
    try:
        info = pyogrio.read_info(layer.path, layer=layer.layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        if layer.path.suffix.lower() == ".json":
            return None
        raise _unreadable(layer.display, e, layer.path) from None
    return info["geometry_type"] or "None"


def _no_dk_layer(with_tables: bool) -> PackageError:
    if with_tables:
        return PackageError(
            "no_dk_layer",
            "The package has its tables but no DK parcel layer (a Shapefile DK*.shp or a GeoPackage layer DK); "
            "add the DK layer.",
            "数据包中有权属表，但没有地块图层（DK*.shp 或 GeoPackage 中的 DK 图层），请补上地块图层。",
            {},
        )
    return PackageError(
        "no_dk_layer",
        "No parcel layer was found: send the DK layer (DK.shp with its .shx, .dbf and .prj, a GeoPackage or a "
        "GeoJSON file).",
        "没有找到地块图层：请提交 DK 图层（DK.shp 及其 .shx、.dbf、.prj 文件，或 GeoPackage、GeoJSON 文件）。",
        {},
    )


def _not_polygons(display: str, kind: str, row: int | None) -> PackageError:
    where_en = f" (feature {row})" if row else ""
    where_zh = f"（第 {row} 个要素）" if row else ""
    return PackageError(
        "not_polygons",
        f"The parcel layer {display} holds {kind} geometries{where_en}; parcels must be polygons.",
        f"地块图层 {display} 中有{kind}类型的几何{where_zh}，地块必须是面（多边形）。",
        {"layer": display, "geometry_type": kind, **({"row": row} if row else {})},
    )


def _unreadable(display: str, error: Exception, path: Path | None = None) -> PackageError:
    why = str(error)
    if path is not None:  # GDAL names the file by its (temporary) path: name it as the clerk knows it
        why = why.replace(str(path), display).replace(str(path.parent) + os.sep, "")
    return PackageError(
        "unreadable",
        f"{display} cannot be read ({why[:200]}); check that all its files (.shp, .shx, .dbf) are there "
        "and not damaged.",
        f"无法读取 {display}：请检查其全部文件（.shp、.shx、.dbf 等）是否齐全且未损坏。",
        {"file": display, "error": why[:200]},
    )


# --- text encodings -------------------------------------------------------------


@dataclass(frozen=True)
class _Encoding:
    codec: str  # Python codec name
    source: str  # "cpg", "ldid", "default" (nothing declared), "csv", "format" (UTF-8 by definition)
    declared: str | None = None

    @property
    def may_fall_back(self) -> bool:
        """UTF-8 that was not declared, or declared by a .cpg (which may be wrong), may become GB18030."""
        return self.codec == "utf-8" and self.source in ("default", "cpg", "csv")


def _sibling(path: Path, suffix: str) -> Path | None:
    """The file next to ``path`` with the same stem and ``suffix``, in any case."""
    exact = path.with_suffix(suffix)
    if exact.exists():
        return exact
    stem = path.stem
    for other in path.parent.iterdir():
        if other.stem == stem and other.suffix.lower() == suffix:
            return other
    return None


def _dbf_encoding(base: Path) -> _Encoding:
    cpg = _sibling(base, ".cpg")
    if cpg is not None:
        declared = cpg.read_bytes()[:64].decode("ascii", "ignore").strip()
        codec = _codec_for_cpg(declared)
        if codec is not None:
            return _Encoding(codec, "cpg", declared)
    dbf = base if base.suffix.lower() == ".dbf" else _sibling(base, ".dbf")
    if dbf is not None:
        with open(dbf, "rb") as f:
            header = f.read(32)
        if len(header) > 29 and header[29] in _LDID_GBK:
            return _Encoding("gb18030", "ldid", "936")
    # An unknown .cpg is treated as no .cpg: UTF-8, else GB18030 with a note.
    return _Encoding("utf-8", "default", None if cpg is None else declared)


def _codec_for_cpg(declared: str) -> str | None:
    key = re.sub(r"[\s_]", "", declared.upper())
    if key in _CPG_CODECS:
        return _CPG_CODECS[key]
    candidates = [declared.strip(), f"cp{key}" if key.isdigit() else None]
    for name in filter(None, candidates):
        with contextlib.suppress(LookupError):
            return codecs.lookup(name).name
    return None


def _encoding_label(codec: str) -> str:
    return {"utf-8": "UTF-8", "gb18030": "GB18030", "big5": "Big5"}.get(codec, codec.upper())


def _with_fallback(encoding: _Encoding, display: str, notes: list[str], read: Callable[[str], Any]) -> tuple[Any, str]:
    """Call ``read(codec)``; on undecodable bytes try GB18030 where that is allowed."""
    try:
        return read(encoding.codec), encoding.codec
    except UnicodeDecodeError as first:
        if not encoding.may_fall_back:
            raise _bad_encoding(display, encoding, first) from None
    try:
        result = read("gb18030")
    except UnicodeDecodeError as second:
        raise _bad_encoding(display, _Encoding("gb18030", "fallback"), second) from None
    if encoding.source == "csv":
        notes.append(
            f"{display} 不是 UTF-8 编码，已按 GB18030（GBK）读取，请核对中文是否正确。"
            f" / {display} is not UTF-8; it was read as GB18030 (GBK): check that the Chinese text reads correctly."
        )
    elif encoding.source == "cpg":
        notes.append(
            f"{display} 的 .cpg 声明为 UTF-8，但文本不是 UTF-8 编码，已按 GB18030（GBK）读取，请核对中文是否正确。"
            f" / The .cpg of {display} says UTF-8 but the text is not UTF-8; it was read as GB18030 (GBK): "
            "check that the Chinese text reads correctly."
        )
    elif encoding.declared:
        notes.append(
            f"{display} 的 .cpg 声明的编码“{encoding.declared}”无法识别，文本不是 UTF-8，已按 GB18030（GBK）读取，"
            f"请核对中文是否正确。 / The .cpg of {display} names an unknown encoding ({encoding.declared!r}) and "
            "the text is not UTF-8; it was read as GB18030 (GBK): check that the Chinese text reads correctly."
        )
    else:
        notes.append(
            f"{display} 没有声明编码（无 .cpg 文件），文本不是 UTF-8，已按 GB18030（GBK）读取，请核对中文是否正确。"
            f" / {display} does not declare its encoding (no .cpg file) and is not UTF-8; it was read as "
            "GB18030 (GBK): check that the Chinese text reads correctly."
        )
    return result, "gb18030"


def _bad_encoding(display: str, encoding: _Encoding, error: UnicodeDecodeError) -> PackageError:
    label = _encoding_label(encoding.codec)
    return PackageError(
        "bad_encoding",
        f"The text of {display} cannot be decoded as {label} (declared: {encoding.declared or 'nothing'}); "
        "export it again with a .cpg file naming its encoding (UTF-8 or GBK).",
        f"{display} 的文字无法按 {label} 解码（声明的编码：{encoding.declared or '无'}）。"
        "请重新导出，并附上注明编码（UTF-8 或 GBK）的 .cpg 文件。",
        {"file": display, "encoding": label, "declared": encoding.declared, "error": str(error)[:200]},
    )


# --- the DK layer ---------------------------------------------------------------


def _check_field_map(field_map: Mapping[str, str] | None) -> dict[str, str]:
    if not field_map:
        return {}
    if not isinstance(field_map, Mapping):
        raise PackageError("bad_field_map", "The field map must be a mapping {DK field: source field}.",
                           "字段对照必须是“DK 字段: 源字段”的对应关系。", {})
    unknown = sorted(str(k) for k in field_map if str(k).upper() not in DK_FIELDS)
    bad = sorted(str(k) for k, v in field_map.items() if not isinstance(v, str) or not v.strip())
    if not unknown and not bad:
        return {str(k).upper(): v.strip() for k, v in field_map.items()}
    raise PackageError(
        "bad_field_map",
        f"The field map names fields that are not DK fields ({', '.join(unknown) or '-'}) or maps to empty "
        f"names ({', '.join(bad) or '-'}); the DK fields are {', '.join(DK_FIELDS)}.",
        f"字段对照中有不属于 DK 图层的字段（{'、'.join(unknown) or '无'}）或源字段名为空（{'、'.join(bad) or '无'}）。"
        f"DK 字段为：{'、'.join(DK_FIELDS)}。",
        {"unknown": unknown, "empty": bad, "dk_fields": list(DK_FIELDS)},
    )


def _read_dk(
    layer: _Layer, targets: dict[str, str], chunk_size: int, progress: Progress | None, notes: list[str]
) -> tuple[gpd.GeoDataFrame, int, str]:
    is_shp = layer.path.suffix.lower() == ".shp"
    encoding = _dbf_encoding(layer.path) if is_shp else _Encoding("utf-8", "format")
    attempt_notes: list[str] = []

    def attempt(codec: str) -> tuple[gpd.GeoDataFrame, int]:
        attempt_notes.clear()
        return _read_dk_chunks(layer, codec if is_shp else None, targets, chunk_size, progress, attempt_notes)

    (parcels, epsg), codec = _with_fallback(encoding, layer.display, notes, attempt)
    notes += attempt_notes
    return parcels, epsg, _encoding_label(codec)


def _info(layer: _Layer, encoding: str | None) -> dict[str, Any]:
    try:
        info: dict[str, Any] = pyogrio.read_info(layer.path, layer=layer.layer, encoding=encoding,
                                                 force_feature_count=True)
        return info
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        raise _unreadable(layer.display, e, layer.path) from None


def _read_dk_chunks(
    layer: _Layer,
    encoding: str | None,
    targets: dict[str, str],
    chunk_size: int,
    progress: Progress | None,
    notes: list[str],
) -> tuple[gpd.GeoDataFrame, int]:
    info = _info(layer, encoding)
    crs_text = info.get("crs")
    prj = _sibling(layer.path, ".prj") if layer.path.suffix.lower() == ".shp" else None
    if not crs_text and prj is not None:  # there is a .prj, but GDAL cannot make a CRS of it (e.g. WKT2)
        head = prj.read_bytes()[:60].decode("utf-8", "replace").strip()
        raise _crs_error("unsupported_crs", f"an unrecognised .prj ({head}…)", layer.display,
                         found_zh=f"无法识别的 .prj（{head}…）")
    epsg = _layer_epsg(crs_text, layer.display)
    total = int(info.get("features") or 0)
    if total == 0:
        raise _no_features(layer.display)
    kind = info.get("geometry_type")
    if kind is None or not ("polygon" in kind.lower() or kind == "Unknown"):
        raise _not_polygons(layer.display, kind or "None", None)
    sources = _resolve_fields(info, targets, layer.display)
    step = chunk_size if info.get("driver") in _CHUNKED_DRIVERS and total > 0 else None
    out = _Columns(max(total, 0))
    done = 0
    while True:
        try:
            _, _, wkb, values = raw.read(
                layer.path, layer=layer.layer, encoding=encoding, columns=list(sources.values()),
                skip_features=done, max_features=step, force_2d=True,
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
                pyogrio.errors.FeatureError, pyogrio.errors.GeometryError) as e:
            raise _unreadable(layer.display, e, layer.path) from None
        n = len(wkb) if wkb is not None else (len(values[0]) if len(values) else 0)
        if n == 0:
            break
        rows = np.arange(done + 1, done + n + 1, dtype=np.int64)
        chunk = {"geometry": _stored_geometries(wkb, epsg, rows, layer.display), "row": rows}
        for k, field in enumerate(sources):
            chunk[field] = _dk_column(values[k], field, rows, layer.display, notes)
        out.put(done, chunk)
        done += n
        if progress is not None:
            progress(done, max(total, done))
        if step is None or n < step or done >= total > 0:
            break
    if done == 0:
        raise _no_features(layer.display)
    return out.frame(done), epsg


def _no_features(display: str) -> PackageError:
    return PackageError("no_features", f"The parcel layer {display} holds no features.",
                        f"地块图层 {display} 中没有任何地块。", {"layer": display})


class _Columns:
    """Preallocated result columns, filled chunk by chunk (no second copy at the end)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.data: dict[str, np.ndarray] = {}

    def _new(self, field: str, n: int) -> np.ndarray:
        if field == "row":
            return np.zeros(n, dtype=np.int64)
        if field in DK_NUMERIC:
            return np.full(n, np.nan)
        return np.full(n, None, dtype=object)

    def put(self, start: int, chunk: dict[str, np.ndarray]) -> None:
        end = start + len(chunk["row"])
        if end > self.n:  # the layer had more features than it declared
            grow = max(end, self.n * 2)
            for field in self.data:
                self.data[field] = np.concatenate([self.data[field], self._new(field, grow - self.n)])
            self.n = grow
        for field, values in chunk.items():
            if field not in self.data:
                self.data[field] = self._new(field, self.n)
            self.data[field][start:end] = values

    def frame(self, n: int) -> gpd.GeoDataFrame:
        def column(field: str) -> Any:
            values = self.data.get(field)
            values = self._new(field, n) if values is None else values[:n]
            return values if values.dtype != object else pd.Series(values, dtype=object, copy=False)

        attributes = pd.DataFrame({f: column(f) for f in (*DK_FIELDS, "row")}, copy=False)
        geometry = gpd.GeoSeries(column("geometry").to_numpy(), crs=f"EPSG:{STORAGE_EPSG}")
        return gpd.GeoDataFrame(attributes, geometry=geometry, copy=False)


def _resolve_fields(info: dict[str, Any], targets: dict[str, str], display: str) -> dict[str, str]:
    """DK field → the layer's field holding it (exact name first, then any case)."""
    names = [str(n) for n in info["fields"]]
    folded: dict[str, str] = {}
    for name in names:
        folded.setdefault(name.strip().upper(), name)

    def find(wanted: str) -> str | None:
        return wanted if wanted in names else folded.get(wanted.strip().upper())

    sources: dict[str, str] = {}
    unmapped = []
    for field in DK_FIELDS:
        wanted = targets.get(field, field)
        found = find(wanted)
        if found is not None:
            sources[field] = found
        elif field in targets:
            unmapped.append(wanted)
    if unmapped:
        raise PackageError(
            "missing_columns",
            f"The parcel layer {display} has no field {', '.join(unmapped)} named in the field map; "
            f"its fields are {', '.join(names)}.",
            f"地块图层 {display} 中没有字段对照里指定的字段 {'、'.join(unmapped)}；图层字段为：{'、'.join(names)}。",
            {"layer": display, "table": "DK", "missing": unmapped, "fields": names},
        )
    if "DKBM" not in sources:
        raise PackageError(
            "missing_columns",
            f"The parcel layer {display} has no parcel code field DKBM. Add it, or say which field holds the "
            f"19-digit parcel code (field map, e.g. DKBM → code); its fields are {', '.join(names) or 'none'}.",
            f"地块图层 {display} 中没有地块编码字段 DKBM。请补上该字段，或在字段对照中指定保存 19 位地块编码的字段；"
            f"图层字段为：{'、'.join(names) or '无'}。",
            {"layer": display, "table": "DK", "missing": ["DKBM"], "fields": names},
        )
    return sources


def _layer_epsg(crs_text: str | None, display: str) -> int:
    if not crs_text:
        raise _crs_error("missing_crs", None, display)
    try:
        crs = pyproj.CRS.from_user_input(crs_text)
    except pyproj.exceptions.CRSError:
        raise _crs_error("unsupported_crs", str(crs_text)[:80], display) from None
    code = crs.to_epsg(min_confidence=70)
    if code is not None:
        code = _SIX_DEGREE_TWINS.get(code, code)
    if code is None or code not in SUPPORTED_EPSG:
        found = f"{crs.name} (EPSG:{code})" if code else crs.name
        raise _crs_error("unsupported_crs", found, display)
    return int(code)


def _crs_error(reason: str, found: str | None, display: str, found_zh: str | None = None) -> GeometryInputError:
    accepted_en = ("Deliver it in CGCS2000: a 3-degree Gauss-Kruger zone (EPSG:4513–4554) or geographic EPSG:4490 "
                   "(EPSG:4326 is also taken).")
    accepted_zh = ("请使用 CGCS2000 坐标系：3 度带高斯-克吕格投影（EPSG:4513–4554）或地理坐标 EPSG:4490"
                   "（也接受 EPSG:4326）。")
    if reason == "missing_crs":
        return GeometryInputError(
            "CRS_UNSUPPORTED", reason,
            f"The parcel layer {display} does not say its coordinate system (no .prj file); add the .prj the "
            f"survey delivered. {accepted_en}",
            f"地块图层 {display} 没有坐标系信息（缺少 .prj 文件），请补上测绘成果中的 .prj 文件。{accepted_zh}",
            details={"layer": display, "supported": list(SUPPORTED_EPSG)},
        )
    return GeometryInputError(
        "CRS_UNSUPPORTED", reason,
        f"{display} is in {found}, which the registry does not take. {accepted_en} Xi'an 1980 or Beijing 1954 "
        "data must first be converted to CGCS2000.",
        f"{display} 的坐标系为 {found_zh or found}，本系统不接受。{accepted_zh}"
        "西安 80、北京 54 坐标系的数据须先转换为 CGCS2000。",
        details={"layer": display, "found": found, "supported": list(SUPPORTED_EPSG)},
    )


def _stored_geometries(wkb: np.ndarray | None, epsg: int, rows: np.ndarray, display: str) -> np.ndarray:
    """Parse a chunk's WKB, refuse non-polygons, promote to MultiPolygon and reproject to EPSG:4490."""
    if wkb is None:
        return np.full(len(rows), None, dtype=object)
    try:
        geoms = shapely.from_wkb(wkb)
    except (shapely.errors.GEOSException, shapely.errors.ShapelyError) as e:
        raise _unreadable(display, e) from None
    types = shapely.get_type_id(geoms)
    present = types >= 0
    present[present] = ~shapely.is_empty(geoms[present])
    bad = present & (types != 3) & (types != 6)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise _not_polygons(display, _GEOMETRY_NAMES.get(int(types[k]), str(types[k])), int(rows[k]))
    keep = np.flatnonzero(present)
    out = np.full(len(rows), None, dtype=object)
    try:
        stored = to_storage(_as_multi(geoms[keep]), epsg)
        check_supported_area(stored)
    except GeometryInputError as e:
        index = e.details.get("index")
        if isinstance(index, int) and 0 <= index < len(keep):
            e.details["row"] = int(rows[keep[index]])
            e.details["index"] = int(rows[keep[index]]) - 1
        e.details["layer"] = display
        raise
    out[keep] = stored
    return out


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    """Polygons → one-part MultiPolygons; everything else unchanged. Never repairs."""
    geoms = np.asarray(geoms, dtype=object).copy()
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(int(single.sum())))
    return geoms


# --- attribute conversion -------------------------------------------------------


def _stripped(values: np.ndarray) -> np.ndarray:
    """Strip text; empty and NaN → None. Equal values share one ``str``.

    Codes like YSDM, DLDJ or 四至 repeat on every feature; sharing them keeps
    a million-parcel layer's text at the size of its distinct values.
    """
    shared: dict[str, str] = {}
    out = np.empty(len(values), dtype=object)
    out[:] = [None if v is None or (isinstance(v, float) and math.isnan(v))
              else shared.setdefault(t, t) if (t := str(v).strip()) else None
              for v in values]
    return out


def _numbers_as_text(values: np.ndarray, width: int | None) -> np.ndarray:
    """Whole numbers as digits (zero-padded to ``width``), others as Python writes them; NaN → None."""
    values = np.asarray(values)
    out = np.full(len(values), None, dtype=object)
    if values.dtype.kind in "iu":
        text = values.astype(str)
        ok = np.ones(len(values), dtype=bool)
    else:
        floats = values.astype(np.float64)
        ok = np.isfinite(floats)
        whole = ok & (np.abs(floats) < 2**63)
        whole[whole] = floats[whole] == np.round(floats[whole])
        text = floats.astype(str)
        text[whole] = floats[whole].astype(np.int64).astype(str)
    if width and len(text):
        text = np.char.zfill(text, width)
    out[ok] = text[ok].astype(object)
    return out


def _as_text(values: np.ndarray, field: str, display: str, notes: list[str]) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype == object:
        return _stripped(values)
    if values.dtype.kind in "iuf":
        _note_numbers_as_text(display, field, notes)
        return _numbers_as_text(values, _CODE_WIDTH.get(field))
    if values.dtype.kind == "M":
        out = np.full(len(values), None, dtype=object)
        ok = ~np.isnat(values)
        out[ok] = np.datetime_as_string(values[ok], unit="D").astype(object)
        return out
    return _stripped(values.astype(object))


def _note_numbers_as_text(display: str, field: str, notes: list[str]) -> None:
    note = (f"{display} 的 {field} 字段以数字类型保存，已转为文本"
            f"{'（按标准位数补足前导零）' if field in _CODE_WIDTH else ''}，请核对。"
            f" / Field {field} of {display} is stored as numbers; it was read as text"
            f"{' (zero-padded to the standard width)' if field in _CODE_WIDTH else ''}: check it.")
    if note not in notes:
        notes.append(note)


def _as_code(values: np.ndarray, field: str, display: str, rows: np.ndarray, digits: int | None) -> np.ndarray:
    """A code field: text stays text; integers become text; floats only when exact."""
    values = np.asarray(values)
    if values.dtype == object:
        return _stripped(values)
    if values.dtype.kind in "iu":
        if digits is not None:
            wrong = (values < 10 ** (digits - 1)) | (values >= 10**digits)
            if wrong.any():
                k = int(np.flatnonzero(wrong)[0])
                raise _wrong_type(display, field, rows[k], str(values[k]),
                                  f"is stored as a number and has not {digits} digits",
                                  f"以数字类型保存，且不是 {digits} 位")
        return _numbers_as_text(values, None)
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        inexact = finite & ((np.abs(values) >= _EXACT_FLOAT_INT) | (values != np.round(values)))
        if digits is not None:
            inexact |= finite & ((values < 10 ** (digits - 1)) | (values >= 10**digits))
        if inexact.any():
            k = int(np.flatnonzero(inexact)[0])
            raise _wrong_type(display, field, rows[k], repr(float(values[k])),
                              "is stored as a floating-point number, which cannot hold the code's digits exactly "
                              "(leading zeros and the last digits are lost)",
                              "以浮点数类型保存，无法准确保存编码的每一位（会丢失前导零和末尾数字）")
        return _numbers_as_text(values, None)
    return _as_text(values, field, display, [])


def _as_float(values: np.ndarray, field: str, display: str, rows: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    text = _stripped(values.astype(object))
    parsed = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    wrong = np.isnan(parsed) & np.array([t is not None for t in text], dtype=bool)
    if wrong.any():
        k = int(np.flatnonzero(wrong)[0])
        raise _wrong_type(display, field, rows[k], str(text[k])[:50], "is not a number", "不是数字")
    return parsed


def _wrong_type(display: str, field: str, row: Any, value: str, why_en: str, why_zh: str) -> PackageError:
    return PackageError(
        "wrong_field_type",
        f"Field {field} of {display} {why_en} (row {row}: {value}). Store {field} as text and export again.",
        f"{display} 的 {field} 字段{why_zh}（第 {row} 行：{value}）。请将 {field} 改为文本类型后重新导出。",
        {"file": display, "field": field, "row": int(row), "value": value},
    )


def _dk_column(values: np.ndarray, field: str, rows: np.ndarray, display: str, notes: list[str]) -> np.ndarray:
    if field in DK_NUMERIC:
        return _as_float(values, field, display, rows)
    if field == "DKBM":
        return _as_code(values, field, display, rows, digits=19)
    return _as_text(values, field, display, notes)


# --- tables ---------------------------------------------------------------------


def _read_table(table: _Table, notes: list[str]) -> pd.DataFrame:
    suffix = table.path.suffix.lower()
    if suffix == ".csv":
        columns = _read_csv(table, notes)
    else:
        encoding = _dbf_encoding(table.path) if suffix == ".dbf" else _Encoding("utf-8", "format")

        def read(codec: str) -> dict[str, np.ndarray]:
            try:
                meta, _, _, values = raw.read(table.path, layer=table.layer, read_geometry=False,
                                              encoding=codec if suffix == ".dbf" else None)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as e:
                raise _unreadable(table.display, e, table.path) from None
            return dict(zip((str(n) for n in meta["fields"]), values, strict=True))

        columns, _ = _with_fallback(encoding, table.display, notes, read)
    return _table_frame(table, columns, notes)


def _read_csv(table: _Table, notes: list[str]) -> dict[str, np.ndarray]:
    with open(table.path, "rb") as f:
        head = f.read(64 * 1024)
    first_line = head.split(b"\n", 1)[0]
    delimiter = max((",", ";", "\t", "|"), key=lambda d: first_line.count(d.encode()))

    def read(codec: str) -> pd.DataFrame:
        try:
            return pd.read_csv(table.path, dtype=object, keep_default_na=False, na_filter=False,
                               encoding="utf-8-sig" if codec == "utf-8" else codec, sep=delimiter)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (pd.errors.ParserError, csv.Error, OSError) as e:
            raise _unreadable(table.display, e, table.path) from None

    frame, _ = _with_fallback(_Encoding("utf-8", "csv"), table.display, notes, read)
    return {str(c): frame[c].to_numpy(dtype=object) for c in frame.columns}


def _table_frame(table: _Table, columns: dict[str, np.ndarray], notes: list[str]) -> pd.DataFrame:
    by_name: dict[str, np.ndarray] = {}
    for name, column in columns.items():
        by_name.setdefault(name.strip().lstrip("\ufeff").upper(), column)
    missing = [c for c in TABLE_REQUIRED[table.name] if c not in by_name]
    if missing:
        raise PackageError(
            "missing_columns",
            f"Table {table.name} ({table.display}) lacks the column(s) {', '.join(missing)} that NY/T 2539 "
            f"requires; it has {', '.join(by_name) or 'none'}.",
            f"{table.name} 表（{table.display}）缺少 NY/T 2539 规定的字段 {'、'.join(missing)}；"
            f"现有字段：{'、'.join(by_name) or '无'}。",
            {"table": table.name, "file": table.display, "missing": missing, "columns": list(by_name)},
        )
    n = len(next(iter(by_name.values()))) if by_name else 0
    rows = np.arange(1, n + 1)
    data = {}
    for field in TABLE_FIELDS[table.name]:
        values = by_name.get(field)
        if values is None:
            data[field] = np.full(n, None, dtype=object)
        elif field.endswith(("BM", "ZJHM")):
            data[field] = _as_code(values, field, table.display, rows, None)
        else:
            data[field] = _as_text(values, field, table.display, notes)
    return pd.DataFrame({k: pd.Series(v, dtype=object, copy=False) for k, v in data.items()}, copy=False)


# --- writing helpers ------------------------------------------------------------


def _text_for_write(column: Any, n: int) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    if column is None:
        return out
    values = np.asarray(column, dtype=object)
    out[:] = [None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v)
              for v in values]
    return out


def _write_column(column: Any, field: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    if field not in DK_NUMERIC:
        return _text_for_write(column, n), None
    if column is None:
        values = np.full(n, np.nan)
    else:
        numbers = pd.to_numeric(pd.Series(column, dtype=object), errors="coerce")
        values = numbers.to_numpy(np.float64, na_value=np.nan)
    if field == "BSM":
        finite = np.isfinite(values)
        if (values[finite] == np.round(values[finite])).all() and (np.abs(values[finite]) < 2**62).all():
            return np.where(finite, values, 0).astype(np.int64), ~finite
    return values, None

