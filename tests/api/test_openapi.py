"""The OpenAPI document is a valid OpenAPI 3 description of every endpoint, /ogc included."""
from __future__ import annotations

from openapi_spec_validator import validate


def test_openapi_document_is_valid_openapi_3(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises, naming the first invalid member


def test_uploads_are_one_multipart_body_with_their_form_fields(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/documents", "/api/v1/imports"):
        post = spec["paths"][path]["post"]
        assert all(p["in"] != "formData" for p in post.get("parameters", []))
        ref = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert body["properties"]["file"]["format"] == "binary"
        assert "file" in body["required"] and len(body["properties"]) > 1


def test_share_limits_are_numbers(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    total = spec["components"]["schemas"]["SharePlan"]["properties"]["total_shares"]
    assert isinstance(total["maximum"], (int, float)) and isinstance(total["minimum"], (int, float))


def test_ogc_endpoints_are_described(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/{collection_id}/items",
                 "/ogc/collections/{collection_id}/items/{feature_id}"):
        assert "get" in paths[path], path
