"""Land contract rights through the API, on both engines."""
from __future__ import annotations

import datetime as dt

import pytest

from app.ids import row_key
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


# --- contracts over time: who holds a parcel, and a household's successive contracts ---------------

TODAY = dt.date.today()


def _register(clerk, holder, parcels, start=START, end=END, expect=201):
    r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": holder["code"], "parcels": parcels,
                                           "start": start, "end": end})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def _open(clerk, giver, right, parcels, to=None, signed_on=TODAY, notice=None, expect=201):
    body = {"kind": "exit" if to is None else "transfer", "right": right, "from": giver["code"], "parcels": parcels,
            "price": "12000.00", "consent": {"signed_by_person_id": giver["members"][0]["id"],
                                             "signed_on": signed_on.isoformat(), "voluntary": True}}
    body |= {"to": to["code"]} if to is not None else {"notice_given_on": (notice or signed_on).isoformat()}
    r = clerk.post("/api/v1/transfers", json=body)
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def _complete(clerk, t, paid_on=TODAY, on=TODAY):
    url = f"/api/v1/transfers/{t['id']}"
    if t["kind"] == "transfer":
        assert clerk.post(f"{url}/issuer-consent", json={"decision": "granted"}).status_code == 200
    r = clerk.post(f"{url}/payments", json={"amount": t["price"], "paid_on": paid_on.isoformat(), "reference": "银行"})
    assert r.status_code == 201, r.get_json()
    r = clerk.post(f"{url}/complete", json={"completed_on": on.isoformat()})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _ids(clerk, query):
    r = clerk.get(f"/api/v1/rights?{query}")
    assert r.status_code == 200, r.get_json()
    return [right["id"] for right in r.get_json()["items"]]


def test_rights_by_parcel_name_who_holds_it_now_that_day_or_ever(clerk, make_household, make_parcel):
    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, a2, b1 = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    ra = _register(clerk, a, [a1, a2], "2018-01-01", "2047-12-31")["id"]
    rb = _register(clerk, b, [b1], "2018-01-01", "2047-12-31")["id"]
    _complete(clerk, _open(clerk, a, ra, [a1], to=b))
    # A's contract is still active (it keeps a2), but a1 is B's now
    assert _ids(clerk, f"parcel={a1}&status=active") == [rb]
    assert _ids(clerk, f"parcel={a1}") == [rb]
    assert _ids(clerk, f"parcel={a1}&status=ended") == []
    assert _ids(clerk, f"parcel={a2}&status=active") == [ra]
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    assert _ids(clerk, f"parcel={a1}&as_of={yesterday}") == [ra]
    assert _ids(clerk, f"parcel={a1}&as_of={TODAY.isoformat()}") == [rb]
    assert _ids(clerk, f"parcel={a1}&history=true") == [ra, rb]
    assert _ids(clerk, f"parcel={a1}&history=true&status=active") == [ra, rb]
    params = {p["name"]: p for p in clerk.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/rights"]["get"]
              ["parameters"]}
    assert "now" in params["parcel"]["description"] and "history=true" in params["parcel"]["description"]
    assert "as_of" in params["parcel"]["description"] and "ever held" in params["history"]["description"]


def test_no_new_land_in_the_term_of_a_returned_contract_and_a_later_term_is_a_new_contract(clerk, admin,
                                                                                          make_household,
                                                                                          make_parcel):
    """农村土地承包法 第三十条: 承包方在承包期内交回承包地的，在承包期内不得再要求承包土地."""
    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, a2, b1, new = (make_parcel(x, 0)["id"] for x in (100, 200, 300, 400))
    first = _register(clerk, a, [a1, a2], "1998-01-01", "2027-12-31")
    rb = _register(clerk, b, [b1], "1998-01-01", "2027-12-31")["id"]
    noticed, returned = TODAY - dt.timedelta(days=400), TODAY - dt.timedelta(days=200)
    _complete(clerk, _open(clerk, a, first["id"], [a1, a2], signed_on=noticed), paid_on=noticed, on=returned)
    assert clerk.get(f"/api/v1/rights/{first['id']}").get_json()["status"] == "ended"
    size = admin.get("/api/v1/ledger/210681").get_json()["size"]

    again = _register(clerk, a, [new], "1998-01-01", "2027-12-31", expect=422)
    assert again["rule"] == "NO_NEW_LAND_AFTER_RETURN" and again["basis"] == "农村土地承包法 第三十条"
    assert again["details"]["right"] == first["id"] and again["details"]["returned_on"] == returned.isoformat()
    by_transfer = _open(clerk, b, rb, [b1], to=a, expect=422)
    assert by_transfer["rule"] == "NO_NEW_LAND_AFTER_RETURN"
    assert admin.get("/api/v1/ledger/210681").get_json()["size"] == size

    later = _register(clerk, a, [new], "2028-01-01", "2057-12-31")
    code = a["code"] + "J"
    assert (later["id"], later["code"], later["status"]) == (code + "-2", code, "active")
    assert first["id"] == first["code"] == code
    now = clerk.get(f"/api/v1/rights/{code}").get_json()
    assert (now["id"], [p["code"] for p in now["parcels"]], now["start"]) == (code + "-2", [new], "2028-01-01")
    then = clerk.get(f"/api/v1/rights/{code}?as_of={(returned - dt.timedelta(days=1)).isoformat()}").get_json()
    assert (then["id"], then["status"], sorted(p["code"] for p in then["parcels"])) == (code, "ended",
                                                                                      sorted([a1, a2]))
    assert clerk.get(f"/api/v1/rights/{code}-2").get_json()["id"] == code + "-2"
    assert _ids(clerk, f"holder={a['code']}&history=true") == [code, code + "-2"]
    assert _ids(clerk, f"holder={a['code']}&status=active") == [code + "-2"]
    cert = clerk.post(f"/api/v1/rights/{code}/certificates", json={})
    assert cert.status_code == 201 and cert.get_json()["right"] == code + "-2"


def test_a_contract_emptied_by_transfer_gives_way_to_a_new_one_when_land_comes_back(clerk, make_household,
                                                                                    make_parcel):
    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, b1, b2 = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    ra = _register(clerk, a, [a1], "2018-01-01", "2047-12-31")["id"]
    rb = _register(clerk, b, [b1, b2], "2018-01-01", "2047-12-31")["id"]
    _complete(clerk, _open(clerk, a, ra, [a1], to=b))  # 转让 of all its land: A's contract ends (第三十四条)
    assert clerk.get(f"/api/v1/rights/{ra}").get_json()["status"] == "ended"

    done = _complete(clerk, _open(clerk, b, rb, [b2], to=a))  # A takes land again, in the same term
    assert done["status"] == "completed"
    theirs = clerk.get(f"/api/v1/rights/{ra}").get_json()
    assert (theirs["id"], theirs["code"], theirs["status"]) == (ra + "-2", ra, "active")
    assert (theirs["start"], theirs["end"], theirs["acquisition"]) == (TODAY.isoformat(), "2047-12-31", "transfer")
    assert [p["code"] for p in theirs["parcels"]] == [b2]
    assert _ids(clerk, f"holder={a['code']}&history=true") == [ra, ra + "-2"]
    assert _ids(clerk, f"parcel={b2}&history=true") == [ra + "-2", rb]  # in the order of ids
    history = clerk.get(f"/api/v1/parcels/{b2}/history").get_json()["rights"]
    assert [(h["right"], h["valid_to"]) for h in history] == [(rb, TODAY.isoformat()), (ra + "-2", None)]

    # and it can pass land on again: the transfer names the code, the contract in force moves it
    more = _complete(clerk, _open(clerk, a, ra, [b2], to=b))
    assert more["right"] == ra + "-2"
    assert clerk.get(f"/api/v1/rights/{ra}").get_json()["status"] == "ended"
    listed = clerk.get(f"/api/v1/transfers?right={ra}").get_json()["items"]  # the code: both contracts' transfers
    assert [t["right"] for t in listed] == [ra, ra + "-2"]
    # the household's history holds every entry about its later contract too (a payment names only the right)
    about_later = {e["seq"] for e in clerk.get("/api/v1/ledger/210681?limit=1000").get_json()["items"]
                   if ra + "-2" in e["subjects"]}
    history = {e["seq"] for e in clerk.get(f"/api/v1/households/{a['code']}/history?limit=1000").get_json()["items"]}
    assert about_later and about_later <= history


def test_a_household_whose_contract_emptied_by_transfer_may_sign_a_new_contract(clerk, make_household, make_parcel):
    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, b1, fresh = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    ra = _register(clerk, a, [a1], "2018-01-01", "2047-12-31")["id"]
    _register(clerk, b, [b1], "2018-01-01", "2047-12-31")
    _complete(clerk, _open(clerk, a, ra, [a1], to=b))
    signed = _register(clerk, a, [fresh], "2018-01-01", "2047-12-31")  # a transfer is not a return (第三十条)
    assert (signed["id"], signed["code"], [p["code"] for p in signed["parcels"]]) == (ra + "-2", ra, [fresh])
    assert _ids(clerk, f"holder={a['code']}") == [ra, ra + "-2"]


def test_voiding_transfers_follows_a_households_later_contract(clerk, uow_factory, make_household, make_parcel):
    """An award voids a transfer as if never made (民法典 第一百五十条): the land leaves the contract the
    completion put it in, the household's later one too; an ended contract cannot reopen beside a later one."""
    from app.auth.services import Principal
    from app.errors import RuleViolation
    from app.transfers.services import void_transfer

    def void(transfer):
        with uow_factory() as uow:
            void_transfer(uow.session, actor=Principal(id=None, name="仲裁委员会", role="arbitrator", scope="210681"),
                          transfer_id=row_key(transfer["id"]), on=TODAY, grounds="受胁迫", cause={"dispute": 1})
            uow.commit()

    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, b1, b2 = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    ra = _register(clerk, a, [a1], "2018-01-01", "2047-12-31")["id"]
    rb = _register(clerk, b, [b1, b2], "2018-01-01", "2047-12-31")["id"]
    emptied = _complete(clerk, _open(clerk, a, ra, [a1], to=b))
    received = _complete(clerk, _open(clerk, b, rb, [b2], to=a))
    with pytest.raises(RuleViolation) as refused:
        void(emptied)
    assert refused.value.rule == "PARCEL_NOT_IN_RIGHT" and refused.value.details["later_right"] == ra + "-2"
    void(received)
    assert clerk.get(f"/api/v1/rights/{ra}-2").get_json()["status"] == "ended"
    assert sorted(p["code"] for p in clerk.get(f"/api/v1/rights/{rb}").get_json()["parcels"]) == sorted([a1, b1, b2])
    void(emptied)  # no later contract in force now: the first reopens with its land
    back = clerk.get(f"/api/v1/rights/{ra}").get_json()
    assert (back["id"], back["status"], [p["code"] for p in back["parcels"]]) == (ra, "active", [a1])
