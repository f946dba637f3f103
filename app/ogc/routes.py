"""OGC API – Features at /ogc (readable by GDAL's OAPIF driver and QGIS), behind the same token and scope."""
from __future__ import annotations

from flask import jsonify, request

from app.auth.access import current_principal
from app.extensions import Blueprint, unit_of_work
from app.ogc import services
from app.ogc.schemas import (
    ITEMS_PARAMETERS,
    OgcCollectionSchema,
    OgcCollectionsSchema,
    OgcConformanceSchema,
    OgcFeatureCollectionSchema,
    OgcFeatureSchema,
    OgcLandingSchema,
)

blp = Blueprint("ogc", __name__, url_prefix="/ogc",
                description="OGC API – Features (Core, GeoJSON): the current parcels, in CRS84.")


def _base() -> str:
    return request.host_url.rstrip("/") + "/ogc"


def _answer(body: dict, media_type: str = services.JSON):
    response = jsonify(body)
    response.mimetype = media_type
    return response


@blp.route("", methods=["GET"], strict_slashes=False)
@blp.response(200, OgcLandingSchema)
def landing():
    """Landing page: links to the conformance declaration, the collections and the API definition."""
    return _answer(services.landing(_base()))


@blp.route("/conformance", methods=["GET"])
@blp.response(200, OgcConformanceSchema)
def conformance():
    """The conformance classes implemented (Core, GeoJSON, OpenAPI 3.0)."""
    return _answer(services.conformance())


@blp.route("/collections", methods=["GET"])
@blp.response(200, OgcCollectionsSchema)
def collections():
    """The feature collections (one: parcels)."""
    return _answer(services.collections(unit_of_work(write=False), actor=current_principal(), base=_base()))


@blp.route("/collections/<collection_id>", methods=["GET"])
@blp.response(200, OgcCollectionSchema)
def collection(collection_id):
    """One collection with its extent."""
    return _answer(services.collection(unit_of_work(write=False), actor=current_principal(), base=_base(),
                                       collection_id=collection_id))


@blp.route("/collections/<collection_id>/items", methods=["GET"])
@blp.doc(parameters=ITEMS_PARAMETERS)
@blp.response(200, OgcFeatureCollectionSchema, content_type=services.GEOJSON)
def items(collection_id):
    """A page of features: bbox, limit, offset, and next links."""
    return _answer(services.items(unit_of_work(write=False), actor=current_principal(), base=_base(),
                                  collection_id=collection_id, args=request.args.to_dict()), services.GEOJSON)


@blp.route("/collections/<collection_id>/items/<feature_id>", methods=["GET"])
@blp.response(200, OgcFeatureSchema, content_type=services.GEOJSON)
def item(collection_id, feature_id):
    """One feature by its id, the parcel code."""
    return _answer(services.item(unit_of_work(write=False), actor=current_principal(), base=_base(),
                                 collection_id=collection_id, feature_id=feature_id), services.GEOJSON)
