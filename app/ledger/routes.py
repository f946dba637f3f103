"""The county ledger."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from app.auth.access import current_principal
from app.extensions import Blueprint, Schema, unit_of_work
from app.ledger import services

blp = Blueprint("ledger", __name__, description="Append-only, hash-chained county logs; RFC 6962 Merkle proofs, "
                "signed checkpoints and verification")
#: The largest seq, size or node index the tables hold: their columns are 64-bit signed integers (BIGINT on
#: PostgreSQL, INTEGER on SQLite), so a larger number is a 422 here rather than an overflow in the driver.
SEQ_MAX = 2**63 - 1
_SEQ = validate.Range(min=0, max=SEQ_MAX)
_SIZE = validate.Range(min=1, max=SEQ_MAX)
_HEX = "lowercase hex"


class LedgerQueryArgsSchema(Schema):
    after = fields.Integer(load_default=0, validate=_SEQ)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


class LedgerEntrySchema(Schema):
    seq = fields.Integer()
    recorded_at = fields.AwareDateTime()
    actor = fields.String()
    kind = fields.String()
    subjects = fields.List(fields.String())
    body = fields.Dict(allow_none=True, metadata={
        "description": "the canonical JSON body (RFC 8785) that body_sha256 covers; for roles other than admin and "
                       "clerk with resident ID numbers masked; null when the stored body is no JSON object (it was "
                       "tampered with, and GET /ledger/{county}/verify names the entry)"})
    masked = fields.Boolean(metadata={"description": "true when ID numbers in the body were masked for the caller's "
                                      "role: the body shown then no longer hashes to body_sha256"})
    body_sha256 = fields.String()
    prev_hash = fields.String()
    leaf_hash = fields.String()


class LedgerPageSchema(Schema):
    log = fields.String()
    size = fields.Integer()
    head_hash = fields.String()
    items = fields.List(fields.Nested(LedgerEntrySchema))
    next_after = fields.Integer(allow_none=True, metadata={"description": "pass as ?after= for the next page"})


@blp.route("/ledger/<county>")
class Ledger(MethodView):
    @blp.arguments(LedgerQueryArgsSchema, location="query")
    @blp.response(200, LedgerPageSchema)
    def get(self, args, county):
        """List a county's ledger entries after a sequence number.

        Entry bodies hold residents' ID numbers. As everywhere else, roles other than admin and clerk
        (auditor, arbitrator) see them masked (`210681********1234`), and such an entry says `masked: true`.
        Its `body_sha256`, `prev_hash` and `leaf_hash` are the stored ones, so the chain, the inclusion and
        consistency proofs and the signed checkpoints check from them without the personal data;
        `GET /ledger/{county}/verify` checks every body against its hash on the server. An admin's
        `sanquan ledger export` carries the bodies as stored, for offline verification."""
        return services.list_entries(unit_of_work(write=False), actor=current_principal(), county=county, **args)


class CheckpointArgsSchema(Schema):
    size = fields.Integer(validate=_SEQ, metadata={"description": "the checkpoint at this size (default the newest)"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "note"]),
                           metadata={"description": "`note`: the C2SP tlog-checkpoint signed note as text/plain"})


class CheckpointSchema(Schema):
    log = fields.String()
    size = fields.Integer(metadata={"description": "entries the checkpoint covers"})
    root = fields.String(metadata={"description": f"RFC 6962 Merkle tree hash of entries 1..size, {_HEX}"})
    signed_at = fields.AwareDateTime()
    key_name = fields.String()
    key_id = fields.String(metadata={"description": "signed-note key ID (first 4 bytes of the key hash), hex"})
    signature = fields.String(metadata={"description": "Ed25519 over the checkpoint note text, hex"})
    verifier_key = fields.String(allow_none=True, metadata={
        "description": "the signed-note verifier key (name+id+base64 key) to check it offline"})
    note = fields.String(metadata={"description": "the C2SP tlog-checkpoint signed note"})


class InclusionArgsSchema(Schema):
    seq = fields.Integer(required=True, validate=_SIZE)
    size = fields.Integer(validate=_SEQ, metadata={"description": "tree size (default the whole log)"})


class InclusionSchema(Schema):
    log = fields.String()
    seq = fields.Integer()
    leaf_index = fields.Integer(metadata={"description": "seq − 1, the RFC 9162 leaf index"})
    size = fields.Integer()
    leaf_hash = fields.String()
    root = fields.String()
    proof = fields.List(fields.String(), metadata={"description": f"audit path, nearest sibling first, {_HEX}"})


class ConsistencyArgsSchema(Schema):
    from_ = fields.Integer(required=True, data_key="from", validate=_SIZE, metadata={
        "description": "the size of the earlier tree: RFC 9162 defines consistency proofs for 0 < from ≤ to"})
    to = fields.Integer(validate=_SIZE, metadata={"description": "the size of the later tree (default the whole log)"})


class ConsistencySchema(Schema):
    log = fields.String()
    from_ = fields.Integer(data_key="from", attribute="from", required=True,
                           metadata={"description": "the size of the earlier tree"})
    to = fields.Integer(required=True, metadata={"description": "the size of the later tree"})
    from_root = fields.String()
    to_root = fields.String()
    proof = fields.List(fields.String(), metadata={"description": f"RFC 9162 consistency proof, {_HEX}"})


@blp.route("/ledger/<county>/checkpoint")
class Checkpoint(MethodView):
    @blp.arguments(CheckpointArgsSchema, location="query")
    @blp.response(200, CheckpointSchema)
    @blp.alt_response(200, description="with ?format=note: the signed note", content_type="text/plain")
    def get(self, args, county):
        """The newest signed checkpoint of a county's log (size, Merkle root, time, Ed25519 signature)."""
        view = services.get_checkpoint(unit_of_work(write=False), actor=current_principal(), county=county,
                                       size=args.get("size"))
        if args["format"] == "note":
            return Response(view["note"], mimetype="text/plain")
        return view

    @blp.response(201, CheckpointSchema)
    def post(self, county):
        """Sign a checkpoint of the log as it stands now (admin, auditor)."""
        return services.sign_checkpoint(unit_of_work(), actor=current_principal(), county=county)


@blp.route("/ledger/<county>/proof/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionArgsSchema, location="query")
    @blp.response(200, InclusionSchema)
    def get(self, args, county):
        """RFC 9162 inclusion proof of entry `seq` in the tree of the first `size` entries."""
        return services.inclusion(unit_of_work(write=False), actor=current_principal(), county=county, **args)


@blp.route("/ledger/<county>/proof/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyArgsSchema, location="query")
    @blp.response(200, ConsistencySchema)
    def get(self, args, county):
        """RFC 9162 consistency proof that the tree of size `to` extends the tree of size `from`, with both roots."""
        return services.consistency(unit_of_work(write=False), actor=current_principal(), county=county, **args)
