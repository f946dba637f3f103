"""OGC API – Features (OGC 17-069r4, Part 1: Core, GeoJSON) over the registry's current parcels.

One collection, ``parcels``: every current parcel version the caller's scope
holds, with the same properties as ``GET /api/v1/parcels``. Coordinates are
CGCS2000 longitude/latitude (EPSG:4490), served as CRS84 as Part 1 requires:
the two frames differ by well under a metre in China, less than survey
accuracy of the parcels themselves.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from app.auth.services import Principal
from app.db import UnitOfWork
from app.errors import DomainError, NotFound
from app.parcels.models import ParcelVersion
from app.parcels.queries import ParcelRepository
from app.parcels.services import feature
from app.queries import code_prefix

COLLECTION = "parcels"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Deep pages go by the `next` links (a keyset cursor, as cheap on page 1,000 as on page 1).
MAX_OFFSET = 100_000
GEOJSON = "application/geo+json"
JSON = "application/json"


class BadParameter(DomainError):
    """A query parameter OGC API – Features Core answers with 400."""

    status = 400

    def __init__(self, name: str, zh: str, en: str):
        super().__init__(f"参数 {name} 无效：{zh}", f"parameter {name} is invalid: {en}",
                         errors={name: [en]})


def landing(base: str) -> dict:
    return {
        "title": "sanquan 三权登记 — OGC API Features",
        "description": "农村土地承包经营权、宅基地使用权地块（CGCS2000）。"
                       "Current parcels of the rural rights registry.",
        "links": [
            {"href": f"{base}", "rel": "self", "type": JSON, "title": "this document"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON, "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "feature collections"},
            {"href": f"{base.rsplit('/ogc', 1)[0]}/api/v1/openapi.json", "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0", "title": "the API definition"},
        ],
    }


def conformance() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


def collections(uow: UnitOfWork, *, actor: Principal, base: str) -> dict:
    return {"collections": [collection(uow, actor=actor, base=base, collection_id=COLLECTION)],
            "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}]}


def collection(uow: UnitOfWork, *, actor: Principal, base: str, collection_id: str) -> dict:
    """The parcels collection with the extent of what the caller may see.

    Raises:
        NotFound: any other collection id.
    """
    _known(collection_id)
    with uow:
        extent = uow.session.execute(select(
            func.min(ParcelVersion.minx), func.min(ParcelVersion.miny), func.max(ParcelVersion.maxx),
            func.max(ParcelVersion.maxy)).where(ParcelVersion.valid_to.is_(None),
                                                code_prefix(ParcelVersion.parcel_code, actor.scope))).one()
    href = f"{base}/collections/{COLLECTION}"
    body: dict[str, Any] = {
        "id": COLLECTION, "title": "地块 Parcels", "itemType": "feature", "crs": [CRS84],
        "description": "现势地块（NY/T 2539 地块编码为要素 id） "
                       "Current parcels; the feature id is the parcel code (DKBM)",
        "links": [{"href": href, "rel": "self", "type": JSON},
                  {"href": f"{href}/items", "rel": "items", "type": GEOJSON, "title": "parcels"}],
    }
    if extent[0] is not None:
        body["extent"] = {"spatial": {"bbox": [[float(v) for v in extent]], "crs": CRS84}}
    return body


def items(uow: UnitOfWork, *, actor: Principal, base: str, collection_id: str, args: dict) -> dict:
    """A page of parcels as a GeoJSON FeatureCollection with OGC paging links.

    Args:
        args: the raw query parameters: ``bbox`` (lon,lat,lon,lat), ``limit`` (1–10,000, default 100),
            ``offset`` (≤ 100,000), ``cursor`` (from a ``next`` link).

    Raises:
        BadParameter: a malformed or out-of-range parameter (400).
        NotFound: any collection but ``parcels``.
    """
    _known(collection_id)
    bbox, limit, offset, cursor = _parse(args)
    with uow:
        repo = ParcelRepository(uow.session)
        rows = repo.query(prefix_clause=code_prefix(ParcelVersion.parcel_code, actor.scope), collective=None,
                          bbox=bbox, contains=None, after=cursor, limit=offset + limit + 1)[offset:]
    more, rows = len(rows) > limit, rows[:limit]
    href = f"{base}/collections/{COLLECTION}/items"
    common = {"limit": limit, "bbox": ",".join(repr(v) for v in bbox) if bbox else None}
    links = [{"href": _url(href, common | {"cursor": cursor, "offset": offset or None}), "rel": "self",
              "type": GEOJSON},
             {"href": f"{base}/collections/{COLLECTION}", "rel": "collection", "type": JSON}]
    if more:
        links.append({"href": _url(href, common | {"cursor": rows[-1].parcel_code}), "rel": "next",
                      "type": GEOJSON, "title": "next page"})
    return {"type": "FeatureCollection", "features": [feature(r, r.geom, None) for r in rows],
            "numberReturned": len(rows), "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "links": links}


def item(uow: UnitOfWork, *, actor: Principal, base: str, collection_id: str, feature_id: str) -> dict:
    """One parcel as a GeoJSON Feature.

    Raises:
        NotFound: unknown collection or parcel, or a parcel outside the caller's scope.
    """
    _known(collection_id)
    with uow:
        version = ParcelRepository(uow.session).current(feature_id) if actor.sees(feature_id) else None
        if version is None:
            raise NotFound("地块", "Parcel", feature_id)
        body = feature(version, version.geom, None)
    href = f"{base}/collections/{COLLECTION}"
    body["links"] = [{"href": f"{href}/items/{feature_id}", "rel": "self", "type": GEOJSON},
                     {"href": href, "rel": "collection", "type": JSON}]
    return body


def _url(href: str, params: dict) -> str:
    return f"{href}?{urlencode({k: v for k, v in params.items() if v is not None}, safe=',')}"


def _known(collection_id: str) -> None:
    if collection_id != COLLECTION:
        raise NotFound("要素集", "Collection", collection_id)


def _parse(args: dict) -> tuple[tuple | None, int, int, str | None]:
    unknown = sorted(set(args) - {"bbox", "limit", "offset", "cursor", "f"})
    if unknown:
        raise BadParameter(unknown[0], "不支持此参数", "not a parameter of this endpoint")
    if args.get("f") not in (None, "json", "geojson"):
        raise BadParameter("f", "只支持 json", "only json is offered")
    bbox = None
    if args.get("bbox"):
        try:
            bbox = tuple(float(v) for v in args["bbox"].split(","))
        except ValueError:
            raise BadParameter("bbox", "应为四个数字", "four numbers expected") from None
        if len(bbox) != 4 or not (bbox[0] <= bbox[2] and bbox[1] <= bbox[3]) or not all(map(_finite, bbox)):
            raise BadParameter("bbox", "应为 最小经度,最小纬度,最大经度,最大纬度",
                               "minlon,minlat,maxlon,maxlat expected")
    limit = _integer(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _integer(args, "offset", 0, 0, MAX_OFFSET)
    cursor = args.get("cursor")
    if cursor is not None and not (cursor.isdigit() and len(cursor) <= 19):
        raise BadParameter("cursor", "应取自 next 链接", "take it from a next link")
    return bbox, limit, offset, cursor


def _integer(args: dict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(name, f"应为 {low}–{high} 的整数", f"an integer from {low} to {high} expected")
    return int(raw)


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
