"""Transfers, voluntary exits and settlements."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.auth.access import current_principal
from app.extensions import Blueprint, settings, unit_of_work
from app.transfers import services
from app.transfers.schemas import (
    CompleteSchema,
    IssuerConsentSchema,
    ManagementRightSchema,
    PaymentSchema,
    RegistrationSchema,
    SettlementCreateSchema,
    SettlementRecordSchema,
    SettlementSchema,
    TransferCreateSchema,
    TransferPageSchema,
    TransferQueryArgsSchema,
    TransferSchema,
)

blp = Blueprint("transfers", __name__, description="Voluntary paid transfers and exits; settlements")
_ID = "<row:transfer_id>"
_MR = "<row:management_right_id>"


@blp.route("/transfers")
class Transfers(MethodView):
    @blp.arguments(TransferCreateSchema)
    @blp.response(201, TransferSchema)
    def post(self, data):
        """Open a voluntary, paid transfer, exchange or exit, signed by the holder."""
        data["from_"] = data.pop("from_")
        return services.create_transfer(unit_of_work(), actor=current_principal(), **data)

    @blp.arguments(TransferQueryArgsSchema, location="query")
    @blp.response(200, TransferPageSchema)
    def get(self, args):
        """List transfers by right, household and status."""
        return services.list_transfers(unit_of_work(write=False), actor=current_principal(), **args)


@blp.route(f"/transfers/{_ID}")
class TransferItem(MethodView):
    @blp.response(200, TransferSchema)
    def get(self, transfer_id):
        """Show a transfer with its payments, consent and the issuer's answer."""
        return services.get_transfer(unit_of_work(write=False), actor=current_principal(), transfer_id=transfer_id)


@blp.route(f"/transfers/{_ID}/issuer-consent")
class IssuerConsent(MethodView):
    @blp.arguments(IssuerConsentSchema)
    @blp.response(200, TransferSchema)
    def post(self, data, transfer_id):
        """Record the issuer's answer to a 转让 (a refusal without legal grounds does not stop it)."""
        return services.decide_issuer_consent(unit_of_work(), actor=current_principal(), transfer_id=transfer_id,
                                              **data)


@blp.route(f"/transfers/{_ID}/payments")
class Payments(MethodView):
    @blp.arguments(PaymentSchema)
    @blp.response(201, TransferSchema)
    def post(self, data, transfer_id):
        """Record a payment towards the price."""
        return services.add_payment(unit_of_work(), actor=current_principal(), transfer_id=transfer_id, **data)


@blp.route(f"/transfers/{_ID}/complete")
class Complete(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, TransferSchema)
    def post(self, data, transfer_id):
        """Complete a paid, consented transfer: the right moves as the law says."""
        policy = services.TransferPolicy(issuer_answer_days=settings().issuer_answer_days)
        return services.complete_transfer(unit_of_work(), actor=current_principal(), policy=policy,
                                          transfer_id=transfer_id, **data)


@blp.route(f"/transfers/{_ID}/withdraw")
class Withdraw(MethodView):
    @blp.response(200, TransferSchema)
    def post(self, transfer_id):
        """Withdraw an open transfer; nothing moves."""
        return services.withdraw_transfer(unit_of_work(), actor=current_principal(), transfer_id=transfer_id)


@blp.route(f"/transfers/{_ID}/contract.pdf")
class ContractPdf(MethodView):
    @blp.response(200, description="the contract as PDF", content_type="application/pdf")
    def get(self, transfer_id):
        """Print a lease's or share-in's written contract (流转合同) with the clauses 农村土地承包法 第四十条 lists,
        as recorded when the transfer opened. Another kind: 409 CONTRACT_NOT_APPLICABLE; a withdrawn, refused or
        voided transfer: 409 TRANSFER_CLOSED."""
        pdf = services.contract_pdf(unit_of_work(write=False), actor=current_principal(), transfer_id=transfer_id,
                                    neighbour_tolerance_m=settings().neighbour_tolerance_m)
        return Response(pdf, mimetype="application/pdf")


@blp.route(f"/management-rights/{_MR}")
class ManagementRightItem(MethodView):
    @blp.response(200, ManagementRightSchema)
    def get(self, management_right_id):
        """Show a land management right (土地经营权) a lease or share-in created, with its registration."""
        return services.get_management_right(unit_of_work(write=False), actor=current_principal(),
                                             management_right_id=management_right_id)


@blp.route(f"/management-rights/{_MR}/registration")
class Registration(MethodView):
    @blp.arguments(RegistrationSchema)
    @blp.response(201, ManagementRightSchema)
    def post(self, data, management_right_id):
        """Register a management right of five years or more (农村土地承包法 第四十一条: unregistered, it cannot be
        asserted against a good-faith third party). Under five years: 422 REGISTRATION_TERM_TOO_SHORT."""
        return services.register_management_right(unit_of_work(), actor=current_principal(),
                                                  management_right_id=management_right_id, **data)


@blp.route(f"/management-rights/{_MR}/registration.pdf")
class RegistrationPdf(MethodView):
    @blp.response(200, description="the registration as PDF", content_type="application/pdf")
    def get(self, management_right_id):
        """Print the registration (土地经营权登记证明) with a map and a QR code `GET /certificates/check`
        verifies. Not registered: 409 NOT_REGISTERED."""
        pdf = services.registration_pdf(unit_of_work(write=False), actor=current_principal(),
                                        management_right_id=management_right_id)
        return Response(pdf, mimetype="application/pdf")


@blp.route("/settlements")
class Settlements(MethodView):
    @blp.arguments(SettlementCreateSchema)
    @blp.response(201, SettlementSchema)
    def post(self, data):
        """Record that a member settled in a city; every right and the membership are kept."""
        return services.record_settlement(unit_of_work(), actor=current_principal(), **data)


@blp.route("/settlements/<row:settlement_id>")
class SettlementItem(MethodView):
    @blp.response(200, SettlementRecordSchema)
    def get(self, settlement_id):
        """A settlement as recorded, with the rights the household kept on settling and each one's status today."""
        return services.get_settlement(unit_of_work(write=False), actor=current_principal(),
                                       settlement_id=settlement_id)
