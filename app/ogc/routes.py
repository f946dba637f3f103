"""OGC API – Features at /ogc (readable by GDAL's OAPIF driver and QGIS), behind the same token and scope."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from app.auth.access import current_principal
from app.extensions import unit_of_work
from app.ogc import services

blp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _base() -> str:
    return request.host_url.rstrip("/") + "/ogc"


def _answer(body: dict, media_type: str = services.JSON):
    response = jsonify(body)
    response.mimetype = media_type
    return response


@blp.get("")
@blp.get("/")
def landing():
    """Landing page: links to the conformance declaration, the collections and the API definition."""
    return _answer(services.landing(_base()))


@blp.get("/conformance")
def conformance():
    """The conformance classes implemented (Core, GeoJSON, OpenAPI 3.0)."""
    return _answer(services.conformance())


@blp.get("/collections")
def collections():
    """The feature collections (one: parcels)."""
    return _answer(services.collections(unit_of_work(write=False), actor=current_principal(), base=_base()))


@blp.get("/collections/<collection_id>")
def collection(collection_id):
    """One collection with its extent."""
    return _answer(services.collection(unit_of_work(write=False), actor=current_principal(), base=_base(),
                                       collection_id=collection_id))


@blp.get("/collections/<collection_id>/items")
def items(collection_id):
    """A page of features: bbox, limit, offset, and next links."""
    return _answer(services.items(unit_of_work(write=False), actor=current_principal(), base=_base(),
                                  collection_id=collection_id, args=request.args.to_dict()), services.GEOJSON)


@blp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id, feature_id):
    """One feature by its id, the parcel code."""
    return _answer(services.item(unit_of_work(write=False), actor=current_principal(), base=_base(),
                                 collection_id=collection_id, feature_id=feature_id), services.GEOJSON)
