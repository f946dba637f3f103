"""API conventions: auth, roles, idempotency, error shape and language, pagination, docs."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import COLLECTIVE, square


def test_health_is_public_and_names_engine_and_revision(app, database_url):
    r = app.test_client().get("/api/v1/health")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert body["database"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")
    from alembic.script import ScriptDirectory

    from app.migrate import SCRIPT_LOCATION
    assert body["schema_revision"] == ScriptDirectory(SCRIPT_LOCATION).get_current_head()


def test_openapi_and_local_docs_are_public(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/parcels" in spec["paths"] and "/api/v1/collectives/{code}/households" in spec["paths"]
    summaries = [op.get("summary") for path in spec["paths"].values() for op in path.values()
                 if isinstance(op, dict) and "responses" in op]
    assert all(summaries), "every route has a one-line docstring summary"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"/api/v1/docs/static/swagger-ui-bundle.js" in page.data
    assert b"cdn" not in page.data.lower()
    asset = client.get("/api/v1/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    asset.close()


def test_requests_without_valid_token_are_401(app):
    client = app.test_client()
    r = client.get("/api/v1/collectives")
    assert r.status_code == 401 and r.get_json()["code"] == 401
    r = client.get("/api/v1/collectives", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.get("/api/v1/collectives", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_tokens_are_stored_only_as_hashes(admin, uow_factory):
    from sqlalchemy import select

    from app.auth.models import User
    r = admin.post("/api/v1/users", json={"name": "张", "role": "clerk", "scope": "210681"})
    token = r.get_json()["token"]
    with uow_factory(write=False) as uow:
        stored = uow.session.scalars(select(User.token_sha256)).all()
    assert token not in stored and len(token) >= 40


def test_admin_creates_users_whose_token_works(admin, app):
    r = admin.post("/api/v1/users", json={"name": "审计员", "role": "auditor", "scope": "2106"})
    assert r.status_code == 201
    token = r.get_json()["token"]
    me = app.test_client().get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["role"], me["scope"]) == ("auditor", "2106")


@pytest.mark.parametrize("role", ["clerk", "exchange", "arbitrator", "auditor"])
def test_only_admin_creates_users(callers, role):
    r = callers[role].post("/api/v1/users", json={"name": "x", "role": "admin", "scope": ""})
    assert r.status_code == 403


def test_user_scope_must_be_division_prefix(admin):
    for scope in ("99", "abc", "2"):
        assert admin.post("/api/v1/users", json={"name": "x", "role": "clerk", "scope": scope}).status_code == 422


def test_bootstrap_admin_from_setting(settings, database_url):
    from dataclasses import replace

    from app import create_app
    app = create_app(replace(settings, admin_token="boot-token-0123456789abcdef"))
    try:
        r = app.test_client().get("/api/v1/users/me", headers={"Authorization": "Bearer boot-token-0123456789abcdef"})
        assert r.status_code == 200 and r.get_json()["role"] == "admin" and r.get_json()["scope"] == ""
    finally:
        app.extensions["sanquan"].engine.dispose()


def test_auditor_reads_everything_in_scope_but_writes_nothing(callers, make_parcel, make_household):
    auditor = callers["auditor"]
    f = make_parcel()
    h = make_household(collective=COLLECTIVE)
    assert auditor.get(f"/api/v1/parcels/{f['id']}").status_code == 200
    assert auditor.get(f"/api/v1/households/{h['code']}").status_code == 200
    assert auditor.get("/api/v1/ledger/210681").status_code == 200
    writes = [("/api/v1/collectives", {"code": "21068110100102", "name": "x"}),
              (f"/api/v1/collectives/{COLLECTIVE}/households", {"head": h["members"][0] | {}}),
              ("/api/v1/parcels", {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
                                   "geometry": square(500, 0)}),
              (f"/api/v1/collectives/{COLLECTIVE}/members",
               {"person_id": h["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01"})]
    for url, body in writes:
        assert auditor.post(url, json=body).status_code in (403, 422), url
    assert auditor.post("/api/v1/collectives", json=writes[0][1]).status_code == 403


def test_ledger_not_readable_by_exchange_or_other_county(callers, make_parcel):
    make_parcel()
    assert callers["exchange"].get("/api/v1/ledger/210681").status_code == 403
    assert callers["other_clerk"].get("/api/v1/ledger/210681").status_code == 404


def test_error_message_chinese_by_default_english_on_request(clerk):
    body = {"code": COLLECTIVE}
    zh = clerk.post("/api/v1/collectives", json=body).get_json()
    en = clerk.post("/api/v1/collectives", json=body, headers={"Accept-Language": "en"}).get_json()
    assert zh["code"] == 422 and zh["status"] == "Unprocessable Entity"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"])
    assert en["message"].isascii() and "name" in en["errors"]


def test_rule_violation_carries_rule_and_basis_in_both_languages(clerk, make_household):
    h = make_household()
    pid = h["members"][0]["id"]
    clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members",
               json={"person_id": pid, "basis": "original", "decided_on": "2020-01-01"})
    url = f"/api/v1/collectives/{COLLECTIVE}/members/{pid}/termination"
    zh = clerk.post(url, json={"ground": "settled_in_city", "decided_on": "2024-01-01"}).get_json()
    en = clerk.post(url, json={"ground": "settled_in_city", "decided_on": "2024-01-01"},
                    headers={"Accept-Language": "en-GB,en;q=0.9"}).get_json()
    assert zh["rule"] == en["rule"] == "MEMBERSHIP_GROUND_NOT_LAWFUL"
    assert zh["basis"] == "农村集体经济组织法 第十七、十八条"
    assert "进城落户" in zh["message"] and "settling in a city" in en["message"]


def test_unknown_fields_rejected(clerk):
    r = clerk.post("/api/v1/collectives", json={"code": COLLECTIVE, "name": "x", "village_head": "y"})
    assert r.status_code == 422 and "village_head" in r.get_json()["errors"]


def test_idempotent_retry_returns_first_response_and_changes_nothing(clerk, admin):
    body = {"code": COLLECTIVE, "name": "一组"}
    headers = {"Idempotency-Key": "k-1"}
    first = clerk.post("/api/v1/collectives", json=body, headers=headers)
    size = admin.get("/api/v1/ledger/210681").get_json()["size"]
    again = clerk.post("/api/v1/collectives", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert admin.get("/api/v1/ledger/210681").get_json()["size"] == size


def test_idempotency_key_reused_with_other_body_is_422(clerk, make_parcel):
    make_parcel()
    headers = {"Idempotency-Key": "parcel-7"}
    body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated", "geometry": square(100, 0)}
    assert clerk.post("/api/v1/parcels", json=body, headers=headers).status_code == 201
    other = body | {"geometry": square(200, 0)}
    r = clerk.post("/api/v1/parcels", json=other, headers=headers)
    assert r.status_code == 422 and r.get_json()["rule"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(clerk.get("/api/v1/parcels").get_json()["features"]) == 2


@pytest.mark.parametrize("key", ["a\x00b", "tab\there", "del\x7f", "键"])
def test_an_idempotency_key_of_control_or_non_ascii_characters_is_422_and_nothing_is_written(clerk, key):
    r = clerk.post("/api/v1/collectives", json={"code": COLLECTIVE, "name": "一组"}, headers={"Idempotency-Key": key})
    assert r.status_code == 422 and "Idempotency-Key" in r.get_json()["errors"]
    assert clerk.get(f"/api/v1/collectives/{COLLECTIVE}").status_code == 404


def test_idempotency_keys_are_per_user(callers):
    body = {"code": COLLECTIVE, "name": "一组"}
    headers = {"Idempotency-Key": "shared"}
    assert callers["clerk"].post("/api/v1/collectives", json=body, headers=headers).status_code == 201
    r = callers["admin"].post("/api/v1/collectives", json=body, headers=headers)
    assert r.status_code == 409 and r.get_json()["rule"] == "COLLECTIVE_EXISTS"


def test_pagination_has_a_hard_maximum(clerk):
    assert clerk.get("/api/v1/collectives?limit=1000").status_code == 200
    r = clerk.get("/api/v1/collectives?limit=1001")
    assert r.status_code == 422 and "limit" in r.get_json()["errors"]
    assert clerk.get("/api/v1/parcels?limit=0").status_code == 422


def test_body_too_large_is_413(app, clerk):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    r = clerk.post("/api/v1/collectives", data=b'{"code": "' + b"1" * 2000 + b'"}',
                   content_type="application/json")
    assert r.status_code == 413 and r.get_json()["code"] == 413


def test_idempotency_key_still_running_is_409(clerk, uow_factory):
    from sqlalchemy import update

    from app.auth.models import IdempotencyRecord
    body, headers = {"code": COLLECTIVE, "name": "x"}, {"Idempotency-Key": "busy"}
    assert clerk.post("/api/v1/collectives", json=body, headers=headers).status_code == 201
    with uow_factory() as uow:  # as if the first request were still running
        uow.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "busy")
                            .values(status_code=None, response_body=None))
        uow.commit()
    r = clerk.post("/api/v1/collectives", json=body, headers=headers)
    assert r.status_code == 409 and r.get_json()["rule"] == "IDEMPOTENCY_KEY_IN_USE"


@pytest.mark.parametrize("death", [RuntimeError("bug"), SystemExit(1)], ids=["error", "worker killed"])
def test_a_request_that_died_before_its_commit_leaves_its_key_free(clerk, admin, monkeypatch, death):
    """A worker killed mid-request (gunicorn's timeout raises SystemExit in it) or a bug: nothing was
    written, so the key was not used; the retry runs once and a second retry replays it."""
    from app.parties import services

    body, headers = {"code": COLLECTIVE, "name": "一组"}, {"Idempotency-Key": "dies-once"}
    real = services.collective_view

    def dying(collective):  # after the flush, before the commit
        raise death

    monkeypatch.setattr(services, "collective_view", dying)
    if isinstance(death, SystemExit):
        with pytest.raises(SystemExit):
            clerk.post("/api/v1/collectives", json=body, headers=headers)
    else:
        assert clerk.post("/api/v1/collectives", json=body, headers=headers).status_code == 500
    assert clerk.get(f"/api/v1/collectives/{COLLECTIVE}").status_code == 404
    monkeypatch.setattr(services, "collective_view", real)
    retry = clerk.post("/api/v1/collectives", json=body, headers=headers)
    assert retry.status_code == 201, retry.get_json()
    again = clerk.post("/api/v1/collectives", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == retry.get_json()
    assert admin.get("/api/v1/ledger/210681").get_json()["size"] == 1


def test_two_concurrent_requests_with_one_key_write_once(app, clerk, admin, monkeypatch):
    """Both pass the key check before either commits; the claim in the write transaction lets one through."""
    import threading

    from werkzeug.test import EnvironBuilder

    from app.parties import services

    barrier, real = threading.Barrier(2), services._document_county

    def together(actor, county):  # both requests are past the key check, before either writes
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        return real(actor, county)

    monkeypatch.setattr(services, "_document_county", together)
    form = EnvironBuilder(method="POST", data={"kind": "evidence", "title": "发包记录",
                                               "file": (io.BytesIO(b"%PDF-1.4 evidence"), "e.pdf")})
    request = form.get_request()
    payload, content_type = request.get_data(), request.content_type
    headers = {"Authorization": f"Bearer {clerk.token}", "Idempotency-Key": "one-upload"}

    def upload(_):
        r = app.test_client().post("/api/v1/documents", data=payload, content_type=content_type, headers=headers)
        return r.status_code, (r.get_json() or {}).get("rule"), r.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(upload, range(2)), key=lambda o: (o[0] != 201 or o[2] is not None))
    assert outcomes[0] == (201, None, None)
    assert outcomes[1] in ((409, "IDEMPOTENCY_KEY_IN_USE", None), (201, None, "true")), outcomes
    assert admin.get("/api/v1/ledger/210681").get_json()["size"] == 1
    again = app.test_client().post("/api/v1/documents", data=payload, content_type=content_type, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("payload", [{}, [], {"unexpected": 1}, "text", None])
def test_no_write_endpoint_answers_garbage_with_a_500(app, admin, payload):
    """Every POST/PUT route, fed bodies of the wrong shape, answers 4xx: the API's in its error shape, the
    console's as a page (tests/console)."""
    from werkzeug.routing import AnyConverter, IntegerConverter

    def value(converter):
        if isinstance(converter, IntegerConverter):
            return 1
        return min(converter.items) if isinstance(converter, AnyConverter) else "210681101001010001"

    adapter = app.url_map.bind("localhost")
    seen = 0
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"POST", "PUT"}):
            values = {arg: value(rule._converters[arg]) for arg in rule.arguments}
            url = adapter.build(rule.endpoint, values, method=method)
            r = admin.client.open(url, method=method, json=payload,
                                  headers={"Authorization": f"Bearer {admin.token}"})
            assert r.status_code < 500, (method, url, r.status_code, r.get_data(as_text=True)[:200])
            if r.status_code >= 400 and not url.startswith("/console/"):  # the console answers with pages
                assert r.get_json()["message"], (method, url)
            seen += 1
    assert seen >= 20
