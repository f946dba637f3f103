"""Rights."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.auth.access import current_principal
from app.extensions import Blueprint, lean_response, settings, unit_of_work
from app.parcels.schemas import CrsArgsSchema, ParcelHistorySchema
from app.parties.schemas import HistoryArgsSchema, HouseholdHistorySchema
from app.rights import certificates, histories, services
from app.rights.schemas import (
    AsOfArgsSchema,
    CertificateCreateSchema,
    CertificateSchema,
    HomesteadStandardOutSchema,
    HomesteadStandardSchema,
    HouseDisposalCreateSchema,
    HouseDisposalSchema,
    QrCheckArgsSchema,
    QrCheckSchema,
    RightCreateSchema,
    RightPageSchema,
    RightQueryArgsSchema,
    RightSchema,
    SharePlanOutSchema,
    SharePlanSchema,
)

blp = Blueprint("rights", __name__, description="Land contract, homestead and income-share rights")


def _policy() -> services.RightsPolicy:
    s = settings()
    return services.RightsPolicy(max_start_ahead_days=s.right_start_horizon_days, homestead_max_m2=s.homestead_max_m2)


@blp.route("/rights")
class Rights(MethodView):
    @blp.arguments(RightCreateSchema)
    @blp.response(201, RightSchema)
    def post(self, data):
        """Register a right, or add parcels to a household's family contract.

        Contract refusals: 422 TERM_NOT_LAWFUL (农村土地承包法 第二十一条: cultivated land
        exactly 30 years, end date inclusive; grassland 30–50; forest 30–70),
        PARCEL_KIND_MISMATCH, NOT_A_MEMBER, DATE_ORDER; 409 PARCEL_ALREADY_CONTRACTED,
        CONTRACT_TERM_MISMATCH; 422 NO_NEW_LAND_AFTER_RETURN (第三十条: no new land in the term of a
        contract the household returned land from). Homestead refusals (土地管理法 第六十二条): 409
        ONE_HOMESTEAD_PER_HOUSEHOLD, PARCEL_ALREADY_HELD; 422 HOMESTEAD_AREA_EXCEEDS_STANDARD,
        HOMESTEAD_REAPPLICATION_BARRED, PARCEL_KIND_MISMATCH, NOT_A_MEMBER.
        """
        return services.register_right(unit_of_work(), actor=current_principal(), policy=_policy(), **data)

    @blp.arguments(RightQueryArgsSchema, location="query")
    @blp.response(200, RightPageSchema)
    def get(self, args):
        """List rights by holder, parcel, type and status, or as they stood on a day."""
        return services.list_rights(unit_of_work(write=False), actor=current_principal(), **args)


_RIGHT = RightSchema()


@blp.route("/rights/<right_id>")
class RightItem(MethodView):
    @blp.arguments(AsOfArgsSchema, location="query")
    @blp.response(200, RightSchema)
    def get(self, args, right_id):
        """Show a right with its parcels and co-holding members.

        A 19-character code names the household's right under it in force now (or on ``as_of``), else
        its latest; ``<code>-<n>`` names the household's n-th right under that code.
        """
        return lean_response(_RIGHT, services.get_right(unit_of_work(write=False), actor=current_principal(),
                                                        right_id=right_id, **args))


@blp.route("/households/<code>/house-disposals")
class HouseDisposals(MethodView):
    @blp.arguments(HouseDisposalCreateSchema)
    @blp.response(201, HouseDisposalSchema)
    def post(self, data, code):
        """Record that a household sold, rented out or gave away its house (no new homestead after it)."""
        return services.record_house_disposal(unit_of_work(), actor=current_principal(), household=code, **data)


@blp.route("/collectives/<code>/homestead-standard")
class HomesteadStandard(MethodView):
    @blp.arguments(HomesteadStandardSchema)
    @blp.response(200, HomesteadStandardOutSchema)
    def put(self, data, code):
        """Set the collective's own homestead area standard (null returns to the county setting)."""
        return services.set_homestead_standard(unit_of_work(), actor=current_principal(), collective=code, **data)


@blp.route("/collectives/<code>/share-plan")
class SharePlan(MethodView):
    @blp.arguments(SharePlanSchema)
    @blp.response(200, SharePlanOutSchema)
    def put(self, data, code):
        """Set the collective's share plan: total shares and the per-household cap.

        Refusals: 409 SHARES_EXCEED_PLAN (shares already quantified exceed the new
        total), SHARE_HOLDING_CAP (a household already holds more than the new cap).
        """
        return services.set_share_plan(unit_of_work(), actor=current_principal(), collective=code, **data)


@blp.route("/rights/<right_id>/certificates")
class Certificates(MethodView):
    @blp.arguments(CertificateCreateSchema)
    @blp.response(201, CertificateSchema)
    def post(self, data, right_id):
        """Issue a numbered certificate for a right (a re-issue needs a reason and supersedes the last)."""
        return certificates.issue_certificate(unit_of_work(), actor=current_principal(), right_id=right_id, **data)


@blp.route("/certificates/check")
class CertificateCheck(MethodView):
    @blp.arguments(QrCheckArgsSchema, location="query")
    @blp.response(200, QrCheckSchema)
    def get(self, args):
        """Check a certificate's QR code: its ledger entry, hash and inclusion proof to the signed checkpoint."""
        return certificates.check_qr(unit_of_work(write=False), actor=current_principal(), **args)


@blp.route("/certificates/<number>")
class CertificateItem(MethodView):
    @blp.response(200, CertificateSchema)
    def get(self, number):
        """Show a certificate's record and the ledger hash its QR code carries."""
        return certificates.get_certificate(unit_of_work(write=False), actor=current_principal(), number=number)


@blp.route("/certificates/<number>.pdf")
class CertificatePdf(MethodView):
    @blp.response(200, description="the certificate as PDF", content_type="application/pdf")
    def get(self, number):
        """Print a certificate: holder, co-holders, parcels with 四至, term, map and a QR code to the ledger."""
        pdf = certificates.certificate_pdf(unit_of_work(write=False), actor=current_principal(), number=number,
                                           neighbour_tolerance_m=settings().neighbour_tolerance_m)
        return Response(pdf, mimetype="application/pdf")


@blp.route("/parcels/<code>/history")
class ParcelHistory(MethodView):
    @blp.arguments(CrsArgsSchema, location="query")
    @blp.response(200, ParcelHistorySchema)
    def get(self, args, code):
        """List every version of a parcel with the ledger entry that made it."""
        return histories.parcel_history(unit_of_work(write=False), actor=current_principal(), code=code, **args)


@blp.route("/collectives/<code>/map.png")
class CollectiveMap(MethodView):
    @blp.response(200, description="PNG map", content_type="image/png")
    def get(self, code):
        """Draw every current parcel of a collective."""
        png = histories.collective_map(unit_of_work(write=False), actor=current_principal(), code=code)
        return Response(png, mimetype="image/png")


@blp.route("/households/<code>/history")
class HouseholdHistory(MethodView):
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, HouseholdHistorySchema)
    def get(self, args, code):
        """Every ledger entry about a household and its rights, each with its hash and inclusion-proof link."""
        return histories.household_history(unit_of_work(write=False), actor=current_principal(), code=code, **args)
