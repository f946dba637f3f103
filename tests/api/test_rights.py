"""Land contract rights through the API, on both engines."""
from __future__ import annotations

import datetime as dt

import pytest

from app.rights.services import term_years
from tests.conftest import COLLECTIVE

START, END = "2028-01-01", "2057-12-31"


@pytest.fixture
def contract(clerk, make_household, make_parcel):
    def make(parcels=None, start=START, end=END, holder=None, expect=201):
        holder = holder or make_household(collective=COLLECTIVE)["code"]
        parcels = parcels if parcels is not None else [make_parcel(0, 0)["id"]]
        r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": holder, "parcels": parcels,
                                               "start": start, "end": end})
        assert r.status_code == expect, r.get_json()
        return r.get_json()
    return make


def test_contract_code_is_household_plus_j_and_lists_parcels_and_members(contract, make_household, make_parcel):
    make_parcel(0, 0)  # creates the collective
    h = make_household(collective=COLLECTIVE)
    a, b = make_parcel(100, 0)["id"], make_parcel(200, 0)["id"]
    right = contract(parcels=[a, b], holder=h["code"])
    assert right["id"] == h["code"] + "J" and len(right["id"]) == 19
    assert [p["code"] for p in right["parcels"]] == [a, b]
    assert right["parcels"][0]["contract_area_m2"] == pytest.approx(2500, rel=0.01)
    assert right["total_area_mu"] == 7.5
    assert [m["id"] for m in right["co_holders"]] == [m["id"] for m in h["members"]]
    assert (right["start"], right["end"], right["status"]) == (START, END, "active")


@pytest.mark.parametrize("start,end,lawful", [
    ("2028-01-01", "2057-12-31", True),     # exactly 30 years, inclusive end
    ("2028-01-01", "2058-01-01", False),    # 30 years and one day
    ("2028-01-01", "2057-12-30", False),    # one day short
    ("2024-02-29", "2054-02-28", True),     # from a leap day
])
def test_cultivated_term_is_exactly_thirty_years(contract, start, end, lawful):
    r = contract(start=start, end=end, expect=201 if lawful else 422)
    if not lawful:
        assert r["rule"] == "TERM_NOT_LAWFUL" and r["basis"] == "农村土地承包法 第二十一条"


def test_grassland_and_forest_ranges(contract, make_parcel):
    make_parcel(0, 0)
    grass = make_parcel(100, 0, land_use="grassland")["id"]
    contract(parcels=[grass], start="2028-01-01", end="2077-12-31")  # 50 years
    forest = make_parcel(200, 0, land_use="forest")["id"]
    r = contract(parcels=[forest], start="2028-01-01", end="2098-01-01", expect=422)  # 70 years + 1 day
    assert r["rule"] == "TERM_NOT_LAWFUL"


def test_term_years_counts_inclusive_end():
    assert term_years(dt.date(2028, 1, 1), dt.date(2057, 12, 31)) == 30
    assert term_years(dt.date(2028, 3, 15), dt.date(2058, 3, 14)) == 30
    assert term_years(dt.date(2028, 1, 1), dt.date(2058, 1, 1)) is None
    assert term_years(dt.date(2028, 1, 1), dt.date.max) is None


def test_end_at_the_last_representable_day_is_refused_not_a_crash(contract, make_parcel):
    assert "end" in contract(end="9999-12-31", expect=422)["errors"]  # past the registry's plausible dates
    latest = contract(parcels=[make_parcel(100, 0)["id"]], end="2199-12-31", expect=422)  # the last plausible day
    assert latest["rule"] == "TERM_NOT_LAWFUL"


def test_one_active_contract_per_parcel(contract, make_parcel):
    parcel = make_parcel(0, 0)["id"]
    first = contract(parcels=[parcel])
    r = contract(parcels=[parcel], expect=409)
    assert r["rule"] == "PARCEL_ALREADY_CONTRACTED" and r["details"]["parcels"][0]["right"] == first["id"]


def test_adding_parcels_extends_the_household_contract(contract, make_household, make_parcel):
    make_parcel(0, 0)
    h = make_household(collective=COLLECTIVE)["code"]
    first = contract(parcels=[make_parcel(100, 0)["id"]], holder=h)
    second = contract(parcels=[make_parcel(200, 0)["id"]], holder=h)
    assert second["id"] == first["id"] and len(second["parcels"]) == 2
    r = contract(parcels=[make_parcel(300, 0)["id"]], holder=h, start="2029-01-01", end="2058-12-31", expect=409)
    assert r["rule"] == "CONTRACT_TERM_MISMATCH"


def test_only_contract_land_and_same_collective(clerk, contract, make_parcel, make_collective):
    make_parcel(0, 0)
    plot = make_parcel(100, 0, kind="homestead", land_use="homestead", size_m=15)["id"]
    assert contract(parcels=[plot], expect=422)["rule"] == "PARCEL_KIND_MISMATCH"
    make_collective(code="21068110100102", name="二组")
    other = make_parcel(300, 0, collective="21068110100102")["id"]
    r = contract(parcels=[other], expect=422)
    assert r["rule"] == "NOT_A_MEMBER" and r["basis"] == "农村土地承包法 第十六条"


def test_bad_requests_store_nothing(clerk, admin, contract, make_parcel):
    parcel = make_parcel(0, 0)["id"]
    size = admin.get("/api/v1/ledger/210681").get_json()["size"]
    assert contract(parcels=[parcel, parcel], expect=422)["errors"]
    assert contract(parcels=[parcel], start="2057-12-31", end="2028-01-01", expect=422)["rule"] == "DATE_ORDER"
    assert contract(parcels=[parcel], start="2040-01-01", end="2069-12-31", expect=422)["rule"] == "DATE_ORDER"
    assert contract(parcels=["2106811010010199999"], expect=404)
    # the failed attempts registered households (make_household) but no right
    kinds = {e["kind"] for e in admin.get(f"/api/v1/ledger/210681?after={size}").get_json()["items"]}
    assert not any(k.startswith("right.") for k in kinds)


def test_other_county_and_roles(callers, contract):
    right = contract()
    assert callers["other_clerk"].get(f"/api/v1/rights/{right['id']}").status_code == 404
    assert callers["auditor"].get(f"/api/v1/rights/{right['id']}").status_code == 200
    body = {"type": "contract", "holder": right["holder"], "parcels": [], "start": START, "end": END}
    assert callers["exchange"].post("/api/v1/rights", json=body | {"parcels": ["x"]}).status_code == 403


def test_queries_by_holder_parcel_and_as_of(clerk, contract, make_household, make_parcel):
    make_parcel(0, 0)
    h = make_household(collective=COLLECTIVE)["code"]
    first = make_parcel(100, 0)["id"]
    right = contract(parcels=[first], holder=h, start="2020-01-01", end="2049-12-31")
    added = make_parcel(200, 0)["id"]
    contract(parcels=[added], holder=h, start="2020-01-01", end="2049-12-31")
    today = dt.date.today()
    got = clerk.get(f"/api/v1/rights?holder={h}").get_json()["items"]
    assert [r["id"] for r in got] == [right["id"]] and len(got[0]["parcels"]) == 2
    assert [r["id"] for r in clerk.get(f"/api/v1/rights?parcel={added}").get_json()["items"]] == [right["id"]]
    before = (today - dt.timedelta(days=1)).isoformat()
    then = clerk.get(f"/api/v1/rights?holder={h}&as_of={before}").get_json()["items"]
    assert [p["code"] for p in then[0]["parcels"]] == [first]  # the added parcel joined today
    assert clerk.get(f"/api/v1/rights?holder={h}&as_of=2019-12-31").get_json()["items"] == []
    assert clerk.get(f"/api/v1/rights?parcel={added}&as_of={before}").get_json()["items"] == []


def test_parcel_history_shows_the_rights_it_was_under(clerk, admin, contract, make_parcel):
    parcel = make_parcel(0, 0)["id"]
    right = contract(parcels=[parcel])
    history = clerk.get(f"/api/v1/parcels/{parcel}/history").get_json()
    assert [(r["right"], r["type"], r["valid_to"]) for r in history["rights"]] == [(right["id"], "contract", None)]
    seq = history["rights"][0]["ledger_seq"]
    entry = admin.get(f"/api/v1/ledger/210681?after={seq - 1}&limit=1").get_json()["items"][0]
    assert entry["kind"] == "right.contract.registered" and parcel in entry["subjects"]


def test_start_horizon_boundary(contract, make_parcel):
    """A term may start up to SANQUAN_RIGHT_START_HORIZON_DAYS (default 1830) ahead, not a day more."""
    make_parcel(0, 0)
    for x, (ahead, expect) in ((100, (1830, 201)), (200, (1831, 422))):
        start = dt.date.today() + dt.timedelta(days=ahead)
        # 30 years with an inclusive end: the day before the 30th anniversary (28 Feb for a 29 Feb start).
        end = dt.date(start.year + 30, start.month, 1) + dt.timedelta(days=start.day - 2)
        r = contract(parcels=[make_parcel(x, 0)["id"]], start=start.isoformat(), end=end.isoformat(), expect=expect)
        if expect == 422:
            assert r["rule"] == "DATE_ORDER" and r["details"]["max_start_ahead_days"] == 1830
