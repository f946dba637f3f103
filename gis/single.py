"""One parcel's boundary from what a clerk has at hand: a file of one feature (GeoJSON, a zipped Shapefile,
a GeoPackage) or coordinates typed one vertex per line.

Returns GeoJSON geometry with the CRS it is in; :func:`gis.geojson.parse_polygonal` and the CRS checks of
the registry then apply as to any geometry given to the API.
"""
from __future__ import annotations

import io
import json
import re
import warnings
from typing import Any

from gis.errors import GeometryInputError

#: File kinds by their name's ending.
KINDS = {".geojson": "geojson", ".json": "geojson", ".zip": "ogr", ".gpkg": "ogr"}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VERTEX = re.compile(rf"^\s*({_NUMBER})\s*[,，\s]\s*({_NUMBER})\s*$")


def _refuse(reason: str, en: str, zh: str, **details: Any) -> GeometryInputError:
    return GeometryInputError("GEOMETRY_INVALID", reason, en, zh, details=details or None)


def from_text(text: str) -> dict[str, Any]:
    """A polygon from vertices typed one per line (``x,y`` or ``x y``), closed if the last is not the first.

    Raises:
        GeometryInputError: a line that is not two numbers, or fewer than three vertices.
    """
    points = []
    for n, line in enumerate(text.strip().splitlines(), start=1):
        if not line.strip():
            continue
        m = _VERTEX.match(line)
        if m is None:
            raise _refuse("vertex_format", f"line {n} is not two numbers (x,y)", f"第 {n} 行不是两个数（x,y）", line=n)
        points.append([float(m[1]), float(m[2])])
    if len(points) < 3:
        raise _refuse("too_few_vertices", "a boundary needs at least three vertices", "界址至少需要三个点")
    if points[0] != points[-1]:
        points.append(points[0])
    return {"type": "Polygon", "coordinates": [points]}


def from_file(data: bytes, filename: str) -> tuple[dict[str, Any], str | None]:
    """The one feature of a GeoJSON file, zipped Shapefile or GeoPackage: (its geometry, its CRS as
    ``EPSG:<n>`` when the file names one).

    Raises:
        GeometryInputError: an unknown file kind, an unreadable file, or not exactly one feature.
    """
    kind = next((k for end, k in KINDS.items() if filename.lower().endswith(end)), None)
    if kind is None:
        raise _refuse("file_kind", "give a .geojson, a zipped Shapefile (.zip) or a GeoPackage (.gpkg)",
                      "请上传 GeoJSON（.geojson）、压缩的 Shapefile（.zip）或 GeoPackage（.gpkg）文件")
    return _geojson(data) if kind == "geojson" else _ogr(data)


def _geojson(data: bytes) -> tuple[dict[str, Any], str | None]:
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _refuse("file_unreadable", "the file is not GeoJSON", "文件不是有效的 GeoJSON") from None
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features") or []
        if len(features) != 1:
            raise _one(len(features))
        obj = features[0]
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict):
        raise _refuse("file_unreadable", "the file holds no geometry", "文件中没有图形")
    return obj, None  # RFC 7946: GeoJSON is lon/lat; the form's CRS says otherwise when it is not


def _ogr(data: bytes) -> tuple[dict[str, Any], str | None]:
    import pyogrio
    import shapely

    try:
        with warnings.catch_warnings():  # GDAL notes that an in-memory GeoPackage has no .gpkg name
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(io.BytesIO(data))
    except Exception:  # GDAL's errors are many, and all mean the same to the clerk
        raise _refuse("file_unreadable", "the file could not be read as a Shapefile or GeoPackage",
                      "无法读取该 Shapefile 或 GeoPackage 文件") from None
    if len(frame) != 1:
        raise _one(len(frame))
    epsg = frame.crs.to_epsg() if frame.crs is not None else None
    # through JSON: nested lists, as a GeoJSON body arrives, not the tuples shapely maps to
    geometry = json.loads(json.dumps(shapely.geometry.mapping(frame.geometry.iloc[0])))
    return geometry, f"EPSG:{epsg}" if epsg else None


def _one(count: int) -> GeometryInputError:
    return _refuse("not_one_feature", f"the file holds {count} features; give one parcel",
                   f"文件中有 {count} 个要素，请只给一个地块", features=count)
