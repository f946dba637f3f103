"""Parcels."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.auth.access import current_principal
from app.extensions import Blueprint, settings, unit_of_work
from app.parcels import services
from app.parcels.schemas import (
    CrsArgsSchema,
    FeatureCollectionSchema,
    FeatureSchema,
    ParcelCreateSchema,
    ParcelQueryArgsSchema,
)
from gis.geojson import GeometryLimits

blp = Blueprint("parcels", __name__, description="Parcels with geometry, area and 四至")


def policy() -> services.ParcelPolicy:
    s = settings()
    return services.ParcelPolicy(overlap_tolerance_m2=s.overlap_tolerance_m2,
                                 neighbour_tolerance_m=s.neighbour_tolerance_m, max_area_m2=s.max_parcel_area_m2,
                                 limits=GeometryLimits(max_vertices=s.max_vertices, max_parts=s.max_parts))


@blp.route("/parcels")
class Parcels(MethodView):
    @blp.arguments(ParcelCreateSchema)
    @blp.response(201, FeatureSchema)
    def post(self, data):
        """Register a parcel; refuses invalid geometry and overlaps above the tolerance.

        Area is measured in the parcel's CGCS2000 3-degree Gauss-Kruger zone.
        Refusals: 422 GEOMETRY_INVALID, GEOMETRY_TOO_COMPLEX, CRS_UNSUPPORTED,
        OUTSIDE_SUPPORTED_AREA, PARCEL_CODE_INVALID; 409 PARCEL_OVERLAP (details
        list each overlapped code and m²), PARCEL_CODE_TAKEN; 403 for roles
        other than admin and clerk; 404 for a collective outside your scope.
        """
        return services.register_parcel(unit_of_work(), actor=current_principal(), policy=policy(), **data)

    @blp.arguments(ParcelQueryArgsSchema, location="query")
    @blp.response(200, FeatureCollectionSchema)
    def get(self, args):
        """List current parcels by collective, bounding box or containing point."""
        return services.list_parcels(unit_of_work(write=False), actor=current_principal(), policy=policy(), **args)


@blp.route("/parcels/<code>")
class ParcelItem(MethodView):
    @blp.arguments(CrsArgsSchema, location="query")
    @blp.response(200, FeatureSchema)
    def get(self, args, code):
        """Show a parcel's current version as a GeoJSON Feature."""
        return services.get_parcel(unit_of_work(write=False), actor=current_principal(), policy=policy(),
                                   code=code, **args)


@blp.route("/parcels/<code>/map.png")
class ParcelMap(MethodView):
    @blp.response(200, description="PNG map", content_type="image/png")
    def get(self, code):
        """Draw a parcel with its neighbours, a north arrow and a scale bar."""
        png = services.parcel_map(unit_of_work(write=False), actor=current_principal(), code=code)
        return Response(png, mimetype="image/png")
