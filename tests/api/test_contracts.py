"""A lease's written contract (流转合同, 农村土地承包法 第四十条) and the registration of a management right of five
years or more (第四十一条), on both engines. Every test ends with the county's log verified and replayed, which
covers the contract's clauses and the management rights with their registrations.
"""
from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from app.ids import number_of
from tests.api.test_exchange import BID, OUTSIDER, award, bid, desk, ledger_size, listed  # noqa: F401  (fixture)
from tests.api.test_transfers import TODAY, land  # noqa: F401  (fixture)
from tests.pdf_fonts import fonts_not_carried

#: the eight clauses of 第四十条 and the attachments clause (第四十三条), as the contract heads them
HEADINGS = ("流转土地的名称、坐落、面积、质量等级", "流转期限和起止日期", "流转土地的用途", "双方当事人的权利和义务",
            "流转价款及支付方式", "补偿费的归属", "地上附着物及相关设施的处理", "违约责任")
TERMS = {"use": "种植玉米、大豆等粮食作物", "payment": "每年12月31日前支付当年租金"}


def printed(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.get_json()
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages).replace("\n", "")


def completed_lease(desk, clerk, land, *, term_end="2035-12-31", terms=None, to=OUTSIDER) -> dict:
    """A lease listed (with ``terms``), bid on by ``to``, awarded, paid and completed: its transfer."""
    made = listed(desk, land, kind="lease", term_end=term_end, asking_price="3000.00", terms=terms)
    assert bid(desk, made["id"], to, "3200.00").status_code == 201
    won = award(desk, made["id"]).get_json()
    url = f"/api/v1/transfers/{won['transfer']['id']}"
    assert clerk.post(f"{url}/payments", json={"amount": "3200.00", "paid_on": TODAY.isoformat(),
                                               "reference": "银行3"}).status_code == 201
    done = clerk.post(f"{url}/complete", json={}).get_json()
    assert done["status"] == "completed" and done["management_right"], done
    return done | {"listing": made["id"]}


def test_a_lease_awarded_at_the_desk_prints_its_contract_with_every_clause(desk, clerk, land):
    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00", terms=TERMS)
    assert made["contract_terms"]["use"] == TERMS["use"]
    early = desk.get(f"/api/v1/listings/{made['id']}/contract.pdf")
    assert early.status_code == 409 and early.get_json()["rule"] == "LISTING_NOT_AWARDED"
    bid(desk, made["id"], OUTSIDER, "3200.00")
    won = award(desk, made["id"]).get_json()
    # the clauses offered are the awarded transfer's: agreed ones as written, the rest the law's baseline
    terms = won["transfer"]["contract_terms"]
    assert (terms["use"], terms["payment"]) == (TERMS["use"], TERMS["payment"])
    assert "第四十二条" in terms["liability"] and "第四十三条" in terms["attachments"]

    text = printed(desk.get(f"/api/v1/listings/{made['id']}/contract.pdf"))
    for words in ("土地经营权出租（转包）合同", f"流转合字第{number_of(won['transfer']['id'])}号", *HEADINGS,
                  land["a"]["members"][0]["name"], "丹东绿野农业合作社", OUTSIDER["credit_code"], land["a1"],
                  "3,200.00", TERMS["use"], TERMS["payment"], "2035年12月31日", "第四十一条", "不以退出或者转让",
                  "甲方（签章）", "乙方（签章）", "发包方备案"):
        assert words in text, words
    assert text == printed(desk.get(f"/api/v1/transfers/{won['transfer']['id']}/contract.pdf"))
    assert fonts_not_carried(desk.get(f"/api/v1/listings/{made['id']}/contract.pdf").data) == []


def test_a_lease_opened_by_hand_takes_its_clauses_and_prints_its_payments(clerk, land):
    r = clerk.post("/api/v1/transfers", json={
        "kind": "share_in", "right": land["ra"], "from": land["a"]["code"], "to": land["b"]["code"],
        "parcels": [land["a1"]], "price": "8000.00", "term_end": "2036-12-31",
        "terms": {"liability": "违约方支付违约金一千元"},
        "consent": {"signed_by_person_id": land["a"]["members"][0]["id"], "signed_on": TODAY.isoformat(),
                    "voluntary": True}})
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert t["contract_terms"]["liability"] == "违约方支付违约金一千元"
    assert "入股" in t["contract_terms"]["payment"]  # a share-in is paid in dividends
    clerk.post(f"/api/v1/transfers/{t['id']}/payments", json={"amount": "8000.00", "paid_on": TODAY.isoformat(),
                                                              "reference": "银行9"})
    text = printed(clerk.get(f"/api/v1/transfers/{t['id']}/contract.pdf"))
    for words in ("土地经营权入股合同", "违约方支付违约金一千元", "8,000.00", "银行9", land["b"]["members"][0]["name"]):
        assert words in text, words


@pytest.mark.parametrize("over, field", [
    ({"kind": "transfer", "terms": {"use": "种植"}, "term_end": None}, "terms"),  # only a lease or share-in
    ({"terms": {"use": "种\x00植"}}, None),  # a control character: the edge refuses it
    ({"terms": {"use": "种" * 501}}, "terms"),
    ({"terms": {"use": "   "}}, "terms"),
    ({"terms": {"rent": "100"}}, "terms"),
])
def test_bad_clauses_are_refused_and_change_nothing(desk, callers, land, over, field):
    from tests.api.test_exchange import listing

    size = ledger_size(callers)
    r = desk.post("/api/v1/listings", json=listing(land, **({"kind": "lease", "term_end": "2035-12-31"} | over)))
    assert r.status_code == 422, r.get_json()
    assert field is None or field in r.get_json()["errors"], r.get_json()
    assert ledger_size(callers) == size and desk.get("/api/v1/listings").get_json()["items"] == []


def test_a_contract_is_only_a_leases_and_only_while_it_stands(desk, clerk, callers, land):
    sale = listed(desk, land)  # a 转让 of contract land
    r = desk.get(f"/api/v1/listings/{sale['id']}/contract.pdf")
    assert r.status_code == 409 and r.get_json()["rule"] == "CONTRACT_NOT_APPLICABLE"
    desk.post(f"/api/v1/listings/{sale['id']}/withdraw", json={"on": TODAY.isoformat()})
    lease = clerk.post("/api/v1/transfers", json={
        "kind": "lease", "right": land["ra"], "from": land["a"]["code"], "to": OUTSIDER, "parcels": [land["a1"]],
        "price": "900.00", "term_end": "2030-12-31",
        "consent": {"signed_by_person_id": land["a"]["members"][0]["id"], "signed_on": TODAY.isoformat(),
                    "voluntary": True}}).get_json()
    assert clerk.post(f"/api/v1/transfers/{lease['id']}/withdraw").status_code == 200
    r = clerk.get(f"/api/v1/transfers/{lease['id']}/contract.pdf")
    assert r.status_code == 409 and r.get_json()["rule"] == "TRANSFER_CLOSED"
    assert clerk.get("/api/v1/transfers/999999/contract.pdf").status_code == 404
    assert callers["other_clerk"].get(f"/api/v1/transfers/{lease['id']}/contract.pdf").status_code == 404


def test_a_lease_of_five_years_or_more_is_registered_and_its_registration_checks(desk, clerk, callers, land):
    done = completed_lease(desk, clerk, land, terms=TERMS)
    url = f"/api/v1/management-rights/{done['management_right']}"
    right = clerk.get(url).get_json()
    assert (right["kind"], right["contract_right"], right["parcels"], right["end"]) == (
        "lease", land["ra"], [land["a1"]], "2035-12-31")
    assert right["registrable"] is True and right["registration"] is None
    assert right["holder"]["credit_code"] == OUTSIDER["credit_code"]
    early = clerk.get(f"{url}/registration.pdf")
    assert early.status_code == 409 and early.get_json()["rule"] == "NOT_REGISTERED"
    assert desk.post(f"{url}/registration", json={"registered_on": TODAY.isoformat()}).status_code == 403

    r = clerk.post(f"{url}/registration", json={"registered_on": TODAY.isoformat()})
    assert r.status_code == 201, r.get_json()
    number = r.get_json()["registration"]["number"]
    assert number == f"辽({TODAY.year})东港市土地经营权第000001号"
    assert clerk.get(url).get_json()["registration"] == r.get_json()["registration"]
    again = clerk.post(f"{url}/registration", json={"registered_on": TODAY.isoformat()})
    assert again.status_code == 409 and again.get_json()["rule"] == "ALREADY_REGISTERED"

    text = printed(clerk.get(f"{url}/registration.pdf"))
    for words in ("土地经营权登记证明", number, "丹东绿野农业合作社", land["a"]["members"][0]["name"], land["a1"],
                  "2035年12月31日", "第四十一条", "不得对抗善意第三人"):
        assert words in text, words
    entry = next(e for e in callers["admin"].get("/api/v1/ledger/210681?limit=1000").get_json()["items"]
                 if e["kind"] == "management_right.registered")
    qr = f"{number}|210681|{entry['seq']}|{entry['leaf_hash']}"
    checked = callers["auditor"].get(f"/api/v1/certificates/check?qr={quote(qr)}").get_json()
    assert checked["genuine"] is True and checked["entry"]["kind"] == "management_right.registered", checked
    assert callers["other_clerk"].get(url).status_code == 404


@pytest.mark.parametrize("term_end, registered_on, status, rule", [
    ((TODAY + dt.timedelta(days=365 * 5 - 10)).isoformat(), TODAY, 422, "REGISTRATION_TERM_TOO_SHORT"),
    ("2035-12-31", TODAY + dt.timedelta(days=1), 422, "DATE_ORDER"),
    ("2035-12-31", TODAY - dt.timedelta(days=1), 422, "DATE_ORDER"),  # before the right began
])
def test_a_registration_the_law_does_not_allow_is_refused_and_changes_nothing(desk, clerk, callers, land, term_end,
                                                                              registered_on, status, rule):
    done = completed_lease(desk, clerk, land, term_end=term_end)
    url = f"/api/v1/management-rights/{done['management_right']}"
    size = ledger_size(callers)
    r = clerk.post(f"{url}/registration", json={"registered_on": registered_on.isoformat()})
    assert r.status_code == status and r.get_json()["rule"] == rule, r.get_json()
    assert ledger_size(callers) == size and clerk.get(url).get_json()["registration"] is None


def test_five_years_are_counted_to_the_day():
    from app.transfers.registration import runs_at_least

    assert runs_at_least(dt.date(2026, 3, 1), dt.date(2031, 2, 28), 5)
    assert not runs_at_least(dt.date(2026, 3, 2), dt.date(2031, 2, 28), 5)
    assert runs_at_least(dt.date(2028, 2, 29), dt.date(2033, 2, 28), 5)  # from 29 February: whole on 1 March
    assert not runs_at_least(dt.date(2028, 2, 29), dt.date(2033, 2, 27), 5)


@pytest.mark.no_replay_check
def test_a_registration_rewritten_behind_the_ledger_is_named_by_the_replay(app, desk, clerk, land):
    from sqlalchemy import select, update

    from app.audit.verify import verify_database
    from app.db import UnitOfWork
    from app.transfers.models import ManagementRight

    done = completed_lease(desk, clerk, land)
    clerk.post(f"/api/v1/management-rights/{done['management_right']}/registration",
               json={"registered_on": TODAY.isoformat()})
    ext = app.extensions["sanquan"]

    def verify():
        with UnitOfWork(ext.session_factory, write=False) as uow:
            return verify_database(uow.session, "210681", public_key=ext.signer.public_key,
                                   origin=ext.signer.origin("210681"))

    assert verify().ok
    with UnitOfWork(ext.session_factory) as uow:
        uow.session.execute(update(ManagementRight).values(registered_on=TODAY - dt.timedelta(days=30)))
        uow.commit()
    result = verify()
    assert not result.ok and "management_rights" in result.problem, result.problem
    with UnitOfWork(ext.session_factory) as uow:
        end = uow.session.scalar(select(ManagementRight.end))
        uow.session.execute(update(ManagementRight).values(registered_on=TODAY, end=end + dt.timedelta(days=1)))
        uow.commit()
    result = verify()
    assert not result.ok and "management_rights" in result.problem, result.problem


def test_a_member_household_leasing_at_the_desk_is_named_on_its_contract(desk, clerk, land):
    done = completed_lease(desk, clerk, land, to=land["b"]["code"])
    assert BID < TODAY
    text = printed(clerk.get(f"/api/v1/transfers/{done['id']}/contract.pdf"))
    assert land["b"]["members"][0]["name"] in text and land["b"]["code"] in text
    assert f"{TODAY.year}年{TODAY.month}月{TODAY.day}日（交割之日）" in text


def test_a_share_in_through_the_desk_leaves_the_contract_and_creates_a_management_right(desk, clerk, land):
    made = listed(desk, land, kind="share_in", term_end="2040-12-31", asking_price="5000.00")
    assert bid(desk, made["id"], OUTSIDER, "5000.00").status_code == 201
    t = award(desk, made["id"]).get_json()["transfer"]
    assert "入股" in t["contract_terms"]["payment"]
    url = f"/api/v1/transfers/{t['id']}"
    clerk.post(f"{url}/payments", json={"amount": "5000.00", "paid_on": TODAY.isoformat(), "reference": "入股"})
    done = clerk.post(f"{url}/complete", json={}).get_json()
    assert done["status"] == "completed", done
    right = clerk.get(f"/api/v1/management-rights/{done['management_right']}").get_json()
    assert (right["kind"], right["start"], right["end"], right["holder"]["name"]) == (
        "share_in", TODAY.isoformat(), "2040-12-31", OUTSIDER["name"])
    # 第三十六条: the household keeps its contract, before and after
    for day in (TODAY - dt.timedelta(days=1), TODAY):
        holders = clerk.get(f"/api/v1/rights?parcel={land['a1']}&as_of={day.isoformat()}").get_json()["items"]
        assert [r["id"] for r in holders] == [land["ra"]], day
    assert "土地经营权入股合同" in printed(desk.get(f"/api/v1/listings/{made['id']}/contract.pdf"))
