"""Collectives, households, memberships and documents (docs/architecture.md, The HTTP contract)."""
from __future__ import annotations

from flask import send_file
from flask.views import MethodView

from app.auth.access import current_principal
from app.extensions import Blueprint, lean_response, settings, unit_of_work
from app.parties import services
from app.parties.schemas import (
    CollectiveCreateSchema,
    CollectivePageSchema,
    CollectiveQueryArgsSchema,
    CollectiveSchema,
    DocumentFileSchema,
    DocumentFormSchema,
    DocumentSchema,
    HouseholdCreateSchema,
    HouseholdSchema,
    MembershipCreateSchema,
    MembershipPageSchema,
    MembershipQueryArgsSchema,
    MembershipSchema,
    TerminationSchema,
)

blp = Blueprint("parties", __name__, description="Collectives, households, persons and memberships")
documents = Blueprint("documents", __name__, description="Evidence documents")


@blp.route("/collectives")
class Collectives(MethodView):
    @blp.arguments(CollectiveCreateSchema)
    @blp.response(201, CollectiveSchema)
    def post(self, data):
        """Register a collective economic organisation (发包方)."""
        return services.create_collective(unit_of_work(), actor=current_principal(), **data)

    @blp.arguments(CollectiveQueryArgsSchema, location="query")
    @blp.response(200, CollectivePageSchema)
    def get(self, args):
        """List collectives within a division-code prefix."""
        return services.list_collectives(unit_of_work(write=False), actor=current_principal(), **args)


@blp.route("/collectives/<code>")
class CollectiveItem(MethodView):
    @blp.response(200, CollectiveSchema)
    def get(self, code):
        """Show a collective with its household and member counts."""
        return services.get_collective(unit_of_work(write=False), actor=current_principal(), code=code)


@blp.route("/collectives/<code>/households")
class Households(MethodView):
    @blp.arguments(HouseholdCreateSchema)
    @blp.response(201, HouseholdSchema)
    def post(self, data, code):
        """Register a household with its head and members; the next 18-digit code is assigned.

        ID numbers are checked (GB 11643: check digit, birth date, sex digit):
        422 ID_NUMBER_INVALID; 409 PERSON_ALREADY_REGISTERED when a number is
        already in a household.
        """
        return services.register_household(unit_of_work(), actor=current_principal(), collective_code=code, **data)


_HOUSEHOLD = HouseholdSchema()


@blp.route("/households/<code>")
class HouseholdItem(MethodView):
    @blp.response(200, HouseholdSchema)
    def get(self, code):
        """Show a household and its members (ID numbers masked for most roles)."""
        return lean_response(_HOUSEHOLD, services.get_household(unit_of_work(write=False),
                                                                actor=current_principal(), code=code))


@blp.route("/collectives/<code>/members")
class Members(MethodView):
    @blp.arguments(MembershipCreateSchema)
    @blp.response(201, MembershipSchema)
    def post(self, data, code):
        """Recognise a person as a member of the collective economic organisation.

        Refusals: 422 PERSON_NOT_IN_COLLECTIVE, DATE_ORDER; 409 ALREADY_A_MEMBER,
        MEMBER_OF_OTHER_COLLECTIVE (one membership at a time).
        """
        return services.recognise_member(unit_of_work(), actor=current_principal(), collective_code=code, **data)

    @blp.arguments(MembershipQueryArgsSchema, location="query")
    @blp.response(200, MembershipPageSchema)
    def get(self, args, code):
        """List the collective's memberships."""
        return services.list_members(unit_of_work(write=False), actor=current_principal(),
                                     collective_code=code, active=args.get("active"),
                                     limit=args["limit"], cursor=args["cursor"])


@blp.route("/collectives/<code>/members/<row:person_id>/termination")
class Termination(MethodView):
    @blp.arguments(TerminationSchema)
    @blp.response(200, MembershipSchema)
    def post(self, data, code, person_id):
        """End a membership, on a lawful ground only (农村集体经济组织法 第十七、十八条).

        Lawful grounds: death, nationality_lost, joined_other_collective,
        civil_servant, voluntary_exit. Anything else (settled_in_city above
        all, but also study, military service, work elsewhere, divorce,
        prison) is 422 MEMBERSHIP_GROUND_NOT_LAWFUL.
        """
        return services.terminate_membership(unit_of_work(), actor=current_principal(), collective_code=code,
                                             person_id=person_id, **data)


@documents.route("/documents")
class Documents(MethodView):
    @documents.arguments(DocumentFormSchema, location="form")
    @documents.arguments(DocumentFileSchema, location="files")
    @documents.response(201, DocumentSchema)
    def post(self, form, files):
        """Upload an evidence document (multipart: file, kind, title)."""
        upload = files["file"]
        return services.store_document(
            unit_of_work(), actor=current_principal(), stream=upload.stream,
            filename=upload.filename or "upload", content_type=upload.mimetype or "application/octet-stream",
            storage=settings().documents_path, max_bytes=settings().max_document_bytes, **form)


@documents.route("/documents/<row:document_id>")
class DocumentItem(MethodView):
    @documents.response(200, description="The document's bytes")
    def get(self, document_id):
        """Download a document."""
        doc, path = services.open_document(unit_of_work(write=False), actor=current_principal(),
                                           document_id=document_id, storage=settings().documents_path)
        return send_file(path, mimetype=doc["content_type"], as_attachment=True, download_name=doc["filename"],
                         etag=doc["sha256"])
