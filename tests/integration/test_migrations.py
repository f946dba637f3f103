"""Migrations: the models and the migration history agree, and every step downgrades."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

import app.models  # noqa: F401
from app.db import Base, make_engine
from app.ids import number_of
from app.migrate import downgrade, include_object, upgrade
from app.transfers.models import TransferPayment
from tests.conftest import PG_URL, SKIP_PG


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(engine):
    downgrade(engine, "base")
    tables = set(inspect(engine).get_table_names())
    assert tables <= {"alembic_version", "spatial_ref_sys"}
    upgrade(engine)
    assert {"parcel_versions", "ledger_entries", "memberships"} <= set(inspect(engine).get_table_names())


def test_widening_right_ids_keeps_every_row_both_ways(callers, clerk, make_household, make_parcel, engine):
    """0013 widens the right id and its references (on SQLite by editing the declared types in place); the
    registry's rows and its ledger come through a downgrade below it and the upgrade back."""
    household = make_household()["code"]
    right = clerk.post("/api/v1/rights", json={"type": "contract", "holder": household, "start": "2018-01-01",
                                               "end": "2047-12-31", "parcels": [make_parcel()["id"]]}).get_json()
    before = clerk.get(f"/api/v1/rights/{right['id']}").get_json()

    downgrade(engine, "0012")
    assert {c["name"]: c["type"] for c in inspect(engine).get_columns("rights")}["id"].length == 19
    upgrade(engine)
    widths = {(t, c["name"]): getattr(c["type"], "length", None) for t in ("rights", "transfers", "right_parcels")
              for c in inspect(engine).get_columns(t)}
    assert widths["rights", "id"] == widths["transfers", "counter_right_id"] \
        == widths["right_parcels", "right_id"] == 24
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []

    assert clerk.get(f"/api/v1/rights/{right['id']}").get_json() == before
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True


def test_0019_gives_a_transfers_and_a_management_rights_rows_their_county(callers, clerk, make_household,
                                                                          make_parcel, engine):
    """0019 adds ``county_code`` to four child tables, filled from their parents for the rows already there."""
    a, b = make_household(), make_household()
    a1, a2 = make_parcel(100, 0)["id"], make_parcel(200, 0)["id"]
    today = dt.date.today().isoformat()

    def offer(holder, to, parcel):  # the holder's contract on the parcel, and its signed consent to let it go
        right = clerk.post("/api/v1/rights", json={"type": "contract", "holder": holder["code"], "start": "2018-01-01",
                                                   "end": "2047-12-31", "parcels": [parcel]}).get_json()["id"]
        return {"right": right, "from": holder["code"], "to": to["code"], "parcels": [parcel], "consent": {
            "signed_by_person_id": holder["members"][0]["id"], "signed_on": today, "voluntary": True}}

    sale = clerk.post("/api/v1/transfers", json=offer(a, b, a1) | {"kind": "transfer", "price": "9000.00"})
    assert sale.status_code == 201, sale.get_json()
    paid = clerk.post(f"/api/v1/transfers/{sale.get_json()['id']}/payments",
                      json={"amount": "1000.00", "paid_on": today, "reference": "r"})
    assert paid.status_code == 201, paid.get_json()
    lease = clerk.post("/api/v1/transfers", json=offer(b, a, a2) | {"kind": "lease", "price": "600.00",
                                                                     "term_end": "2040-12-31"})
    assert lease.status_code == 201, lease.get_json()
    lease = lease.get_json()
    url = f"/api/v1/transfers/{lease['id']}"
    clerk.post(f"{url}/payments", json={"amount": "600.00", "paid_on": today, "reference": "r"})
    assert clerk.post(f"{url}/complete", json={}).status_code == 200
    tables = ("transfer_parcels", "transfer_payments", "transfer_holds", "management_right_parcels")

    def counties() -> dict[str, list]:
        with engine.connect() as conn:
            return {t: conn.exec_driver_sql(f"SELECT county_code FROM {t}").scalars().all() for t in tables}

    written = counties()
    assert {t: len(rows) for t, rows in written.items()} == {
        "transfer_parcels": 2, "transfer_payments": 2, "transfer_holds": 2, "management_right_parcels": 1}
    assert {c for rows in written.values() for c in rows} == {"210681"}

    downgrade(engine, "0018")
    assert all("county_code" not in {c["name"] for c in inspect(engine).get_columns(t)} for t in tables)
    upgrade(engine)
    assert counties() == written
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True


def test_0020_keys_every_county_table_by_its_county_and_keeps_every_row(callers, clerk, make_household,
                                                                         make_parcel, engine):
    """0020 makes each county table's key hold its county and each reference name the county of the row it
    refers to: the rows, the R*Tree of parcel boxes (SQLite) and the ledger come through a downgrade below it and
    the upgrade back, and the database then refuses a row that refers to another county's."""
    a, b = make_household(), make_household()
    a1 = make_parcel(100, 0)["id"]
    make_parcel(200, 0)
    today = dt.date.today().isoformat()
    right = clerk.post("/api/v1/rights", json={"type": "contract", "holder": a["code"], "start": "2018-01-01",
                                               "end": "2047-12-31", "parcels": [a1]}).get_json()["id"]
    sale = clerk.post("/api/v1/transfers", json={
        "kind": "transfer", "price": "9000.00", "right": right, "from": a["code"], "to": b["code"], "parcels": [a1],
        "consent": {"signed_by_person_id": a["members"][0]["id"], "signed_on": today, "voluntary": True}})
    assert sale.status_code == 201, sale.get_json()
    sale = sale.get_json()
    assert clerk.post(f"/api/v1/transfers/{sale['id']}/payments",
                      json={"amount": "1000.00", "paid_on": today, "reference": "r"}).status_code == 201
    reads = [f"/api/v1/transfers/{sale['id']}", f"/api/v1/rights/{right}", f"/api/v1/parcels/{a1}",
             f"/api/v1/households/{a['code']}"]
    before = [clerk.get(url).get_json() for url in reads]

    def keys() -> dict[str, list[str]]:
        found = inspect(engine)
        return {t: found.get_pk_constraint(t)["constrained_columns"]
                for t in ("persons", "households", "rights", "transfers", "transfer_payments")}

    downgrade(engine, "0019")
    assert keys() == {"persons": ["id"], "households": ["code"], "rights": ["id"], "transfers": ["id"],
                      "transfer_payments": ["id"]}
    upgrade(engine)
    assert keys() == {"persons": ["county_code", "id"], "households": ["code", "county_code"],
                      "rights": ["id", "county_code"], "transfers": ["county_code", "id"],
                      "transfer_payments": ["county_code", "id"]}
    references = {tuple(fk["constrained_columns"]): (fk["referred_table"], tuple(fk["referred_columns"]))
                  for fk in inspect(engine).get_foreign_keys("transfer_payments")}
    assert references == {("transfer_id", "county_code"): ("transfers", ("id", "county_code"))}
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert [clerk.get(url).get_json() for url in reads] == before
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True

    # a payment of county 210682 naming Donggang's transfer refers to no transfer of its own county
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(TransferPayment).values(
            id=999, county_code="210682", transfer_id=number_of(sale["id"]), amount=1, paid_on=dt.date.today(),
            reference="x", ledger_seq=1))
    # and numbering goes on: the next payment is the county's next number
    paid = clerk.post(f"/api/v1/transfers/{sale['id']}/payments",
                      json={"amount": "1000.00", "paid_on": today, "reference": "r2"})
    assert paid.status_code == 201, paid.get_json()


def test_0021_claims_every_registered_id_number_once(make_household, engine):
    """0021 fills ``id_numbers`` from the persons registered before it, one row a person."""
    people = [p for _ in range(3) for p in make_household()["members"]]

    def claims() -> dict[str, tuple]:
        with engine.connect() as conn:
            return {n: (c, p) for n, c, p in conn.exec_driver_sql(
                "SELECT id_number, county_code, person_id FROM id_numbers")}

    written = claims()
    assert written == {p["id_number"]: ("210681", number_of(p["id"])) for p in people}
    downgrade(engine, "0020")
    assert "id_numbers" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert claims() == written


@pytest.mark.skipif(PG_URL is None, reason=SKIP_PG)
def test_a_postgresql_database_that_sorts_codes_linguistically_is_refused_by_name():
    """Under zh_CN's collation '21068:' sorts before '2106810', so a scope's index range would find nothing."""
    import psycopg
    from sqlalchemy.engine import make_url

    from app.migrate import CollationError

    url = make_url(PG_URL)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"sanquan_collation_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'zh-Hans-CN' "
                     "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        with pytest.raises(CollationError, match="zh-Hans-CN"):
            upgrade(engine)
        assert "alembic_version" not in inspect(engine).get_table_names()  # refused before any change
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")
