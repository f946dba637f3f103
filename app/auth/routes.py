"""Users."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from app.auth.access import current_principal
from app.auth.models import ROLES
from app.auth.services import create_user
from app.extensions import Blueprint, Schema, unit_of_work

blp = Blueprint("users", __name__, description="Users and their bearer tokens")


class UserCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope = fields.String(required=True, validate=validate.Length(max=14),
                          metadata={"description": "division-code prefix: '' all, '21' Liaoning, '210681' Donggang"})


class UserSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    scope = fields.String()
    token = fields.String(metadata={"description": "shown once; only its SHA-256 is stored"})


class MeSchema(Schema):
    id = fields.Integer(allow_none=True)
    name = fields.String()
    role = fields.String()
    scope = fields.String()


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user and return its token once (admin only)."""
        return create_user(unit_of_work(), actor=current_principal(), **data)


@blp.route("/users/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """Show who the token belongs to."""
        return current_principal()
