"""``GET /api/v1/health``."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import fields

from app.db import UnitOfWork
from app.extensions import Blueprint, Schema, unit_of_work
from app.migrate import current_revision

blp = Blueprint("health", __name__, description="Liveness and schema revision")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String(metadata={"description": "sqlite or postgresql"})
    schema_revision = fields.String(allow_none=True)
    version = fields.String()


def status(uow: UnitOfWork) -> dict:
    """The service's status: database engine and schema revision."""
    with uow:
        return {"status": "ok", "database": uow.dialect, "schema_revision": current_revision(uow.session),
                "version": current_app.config["API_VERSION"]}


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """Report that the service and its database answer."""
        return status(unit_of_work(write=False))
