"""Swagger UI's files, served from the installed package rather than a CDN."""
from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("docs_static", __name__)


@blp.get("/api/v1/docs/static/<path:filename>")
def swagger_static(filename: str):
    """Serve a Swagger UI asset."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
