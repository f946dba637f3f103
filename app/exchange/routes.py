"""The exchange desk: listings, bids, awards."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.auth.access import current_principal
from app.exchange import services
from app.exchange.schemas import (
    BidCreateSchema,
    BidSchema,
    ListingAwardSchema,
    ListingCreateSchema,
    ListingPageSchema,
    ListingQueryArgsSchema,
    ListingSchema,
    ListingStepSchema,
)
from app.extensions import Blueprint, settings, unit_of_work

blp = Blueprint("exchange", __name__, description="The rural property exchange desk (农村产权交易): listings, "
                "their public announcement, bids and awards")
_ID = "<row:listing_id>"


def policy() -> services.ExchangePolicy:
    return services.ExchangePolicy(announcement_days=settings().announcement_working_days)


@blp.route("/listings")
class Listings(MethodView):
    @blp.arguments(ListingCreateSchema)
    @blp.response(201, ListingSchema)
    def post(self, data):
        """List a right on the desk, with the holder's consent, and start its public announcement.

        Refusals: 422 NO_SURRENDER_CONDITION, CONSENT_REQUIRED, ANNOUNCEMENT_TOO_SHORT, PRICE_REQUIRED,
        TRANSFER_KIND_NOT_LAWFUL; 409 RIGHT_BUSY, RIGHT_IN_DISPUTE, RIGHT_NOT_HELD.
        """
        return services.create_listing(unit_of_work(), actor=current_principal(), policy=policy(), **data)

    @blp.arguments(ListingQueryArgsSchema, location="query")
    @blp.response(200, ListingPageSchema)
    def get(self, args):
        """The notice board: the listings of the caller's scope, oldest first."""
        return services.list_listings(unit_of_work(write=False), actor=current_principal(), **args)


@blp.route(f"/listings/{_ID}")
class ListingOne(MethodView):
    @blp.response(200, ListingSchema)
    def get(self, listing_id):
        """One listing with its announcement dates, its bids (to the desk) and its award."""
        return services.get_listing(unit_of_work(write=False), actor=current_principal(), listing_id=listing_id)


@blp.route(f"/listings/{_ID}/announcement.pdf")
class AnnouncementPdf(MethodView):
    @blp.response(200, description="the announcement as PDF", content_type="application/pdf")
    def get(self, listing_id):
        """Print a listing's public announcement (挂牌公告): the right, its parcels with a map, the price, who may
        bid, and the announcement's working days."""
        pdf = services.announcement_pdf(unit_of_work(write=False), actor=current_principal(), listing_id=listing_id)
        return Response(pdf, mimetype="application/pdf")


@blp.route(f"/listings/{_ID}/certificate.pdf")
class CertificatePdf(MethodView):
    @blp.response(200, description="the transaction certificate as PDF", content_type="application/pdf")
    def get(self, listing_id):
        """Print the transaction certificate (交易鉴证书) once the awarded transfer has completed, with a QR code
        `GET /certificates/check` verifies. Before that: 409 LISTING_NOT_COMPLETED."""
        pdf = services.certificate_pdf(unit_of_work(write=False), actor=current_principal(), listing_id=listing_id)
        return Response(pdf, mimetype="application/pdf")


@blp.route(f"/listings/{_ID}/contract.pdf")
class ContractPdf(MethodView):
    @blp.response(200, description="the contract as PDF", content_type="application/pdf")
    def get(self, listing_id):
        """Print the written contract (流转合同) of an awarded lease or share-in: the awarded transfer's, with the
        clauses the listing offered. Before the award: 409 LISTING_NOT_AWARDED; a transfer listing: 409
        CONTRACT_NOT_APPLICABLE."""
        pdf = services.contract_pdf(unit_of_work(write=False), actor=current_principal(), listing_id=listing_id,
                                    neighbour_tolerance_m=settings().neighbour_tolerance_m)
        return Response(pdf, mimetype="application/pdf")


@blp.route(f"/listings/{_ID}/withdraw")
class Withdraw(MethodView):
    @blp.arguments(ListingStepSchema)
    @blp.response(200, ListingSchema)
    def post(self, data, listing_id):
        """The holder withdraws the listing before its award."""
        return services.withdraw_listing(unit_of_work(), actor=current_principal(), listing_id=listing_id, **data)


@blp.route(f"/listings/{_ID}/bids")
class Bids(MethodView):
    @blp.arguments(BidCreateSchema)
    @blp.response(201, BidSchema)
    def post(self, data, listing_id):
        """Record a bid on the day it was made. Refusals: 422 BID_BELOW_ASKING, SAME_COLLECTIVE_ONLY,
        RECIPIENT_IS_HOLDER; 409 LISTING_CLOSED, RIGHT_IN_DISPUTE (the listing is suspended)."""
        return services.place_bid(unit_of_work(), actor=current_principal(), listing_id=listing_id, **data)


@blp.route(f"/listings/{_ID}/award")
class Award(MethodView):
    @blp.arguments(ListingStepSchema)
    @blp.response(200, ListingAwardSchema)
    def post(self, data, listing_id):
        """Award the listing after its announcement: the highest bid wins, a member first on equal terms; the
        winning bid opens a pending transfer. Refusals: 409 ANNOUNCEMENT_NOT_OVER, NO_QUALIFIED_BID,
        LISTING_CLOSED, RIGHT_IN_DISPUTE."""
        return services.award_listing(unit_of_work(), actor=current_principal(), listing_id=listing_id, **data)
