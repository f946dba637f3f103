"""Certificates: numbering, re-issue, the ledger hash they carry."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from app.rights.certificates import certificate_number
from tests.conftest import COLLECTIVE
from tests.pdf_fonts import fonts_not_carried


def test_certificate_number_format():
    assert certificate_number("210681", 2026, "contract", 123) == "辽(2026)东港市农村土地承包经营权第000123号"
    assert certificate_number("210681", 2027, "homestead", 1) == "辽(2027)东港市宅基地使用权第000001号"
    assert certificate_number("110105", 2026, "income_share", 42) == "京(2026)110105集体收益分配权第000042号"


def _contract(clerk, make_household, make_parcel):
    h = make_household(collective=COLLECTIVE)["code"]
    r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": h, "parcels": [make_parcel(0, 0)["id"]],
                                           "start": "2028-01-01", "end": "2057-12-31"})
    return r.get_json()["id"]


def test_certificates_numbered_per_county_and_year_and_reissued_with_reason(clerk, admin, make_household,
                                                                           make_parcel):
    right = _contract(clerk, make_household, make_parcel)
    first = clerk.post(f"/api/v1/rights/{right}/certificates", json={})
    assert first.status_code == 201
    year = dt.date.today().year
    assert first.get_json()["number"] == f"辽({year})东港市农村土地承包经营权第000001号"
    again = clerk.post(f"/api/v1/rights/{right}/certificates", json={})
    assert again.status_code == 422 and again.get_json()["rule"] == "REISSUE_REASON_REQUIRED"
    second = clerk.post(f"/api/v1/rights/{right}/certificates", json={"reason": "原证遗失"}).get_json()
    assert second["number"].endswith("第000002号") and second["supersedes"] == first.get_json()["number"]
    old = clerk.get(f"/api/v1/certificates/{quote(first.get_json()['number'])}").get_json()
    assert old["superseded_by"] == second["number"]


def test_certificate_qr_payload_matches_the_issuing_ledger_entry(clerk, admin, make_household, make_parcel):
    right = _contract(clerk, make_household, make_parcel)
    cert = clerk.post(f"/api/v1/rights/{right}/certificates", json={}).get_json()
    number, county, seq, leaf = cert["qr_payload"].split("|")
    assert (number, county) == (cert["number"], "210681")
    entry = admin.get(f"/api/v1/ledger/{county}?after={int(seq) - 1}&limit=1").get_json()["items"][0]
    assert entry["leaf_hash"] == leaf == cert["ledger_hash"]
    assert entry["kind"] == "certificate.issued" and entry["body"]["data"]["number"] == cert["number"]


def test_no_certificate_outside_scope_or_for_unknown_right(callers, clerk, make_household, make_parcel):
    right = _contract(clerk, make_household, make_parcel)
    assert callers["other_clerk"].post(f"/api/v1/rights/{right}/certificates", json={}).status_code == 404
    assert callers["auditor"].post(f"/api/v1/rights/{right}/certificates", json={}).status_code == 403
    assert clerk.post("/api/v1/rights/210681101001019999J/certificates", json={}).status_code == 404


def test_certificate_pdf_lists_holder_members_parcels_and_has_a_map(clerk, make_household, make_parcel):
    import io

    from pypdf import PdfReader
    make_parcel(0, 0)
    h = make_household(collective=COLLECTIVE)
    parcels = [make_parcel(100, 0)["id"], make_parcel(150, 0)["id"]]
    r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": h["code"], "parcels": parcels,
                                           "start": "2028-01-01", "end": "2057-12-31"})
    cert = clerk.post(f"/api/v1/rights/{r.get_json()['id']}/certificates", json={}).get_json()
    pdf = clerk.get(f"/api/v1/certificates/{quote(cert['number'])}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in [cert["number"], *(m["name"] for m in h["members"]), *parcels, "农村土地承包经营权"]:
        assert expected in text, expected
    assert any(page.images for page in reader.pages)
    assert fonts_not_carried(pdf.data) == []  # it reads without Chinese fonts on the reader's machine


def test_parcel_and_collective_maps_are_png(clerk, make_parcel):
    a = make_parcel(0, 0)["id"]
    make_parcel(50, 0)
    for url in (f"/api/v1/parcels/{a}/map.png", f"/api/v1/collectives/{COLLECTIVE}/map.png"):
        r = clerk.get(url)
        assert r.status_code == 200 and r.mimetype == "image/png" and r.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert clerk.get("/api/v1/parcels/2106811010010199999/map.png").status_code == 404


def test_certificate_pdf_qr_code_scans_to_its_payload(clerk, make_household, make_parcel):
    """Rasterise the printed page and read the QR code as a phone would."""
    import pypdfium2
    import zxingcpp

    right = _contract(clerk, make_household, make_parcel)
    cert = clerk.post(f"/api/v1/rights/{right}/certificates", json={}).get_json()
    pdf = pypdfium2.PdfDocument(clerk.get(f"/api/v1/certificates/{quote(cert['number'])}.pdf").data)
    found = []
    for page in pdf:
        image = page.render(scale=2).to_pil()
        found += [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert found == [cert["qr_payload"]]


def test_superseded_certificate_prints_marked_void(clerk, make_household, make_parcel):
    import io

    from pypdf import PdfReader

    def text(number):
        pdf = clerk.get(f"/api/v1/certificates/{quote(number)}.pdf")
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)

    right = _contract(clerk, make_household, make_parcel)
    first = clerk.post(f"/api/v1/rights/{right}/certificates", json={}).get_json()["number"]
    assert "作废" not in text(first)
    second = clerk.post(f"/api/v1/rights/{right}/certificates", json={"reason": "原证损毁"}).get_json()["number"]
    old = text(first)
    assert "本证已作废" in old and second in old
    assert "作废" not in text(second)


def test_a_certificate_prints_what_it_certified_even_after_the_right_grew(clerk, make_household, make_parcel):
    import io

    from pypdf import PdfReader

    def text(number):
        pdf = clerk.get(f"/api/v1/certificates/{quote(number)}.pdf")
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)

    make_parcel(0, 0)
    h = make_household(collective=COLLECTIVE)["code"]
    first, added = make_parcel(100, 0)["id"], make_parcel(200, 0)["id"]
    body = {"type": "contract", "holder": h, "start": "2028-01-01", "end": "2057-12-31"}
    right = clerk.post("/api/v1/rights", json=body | {"parcels": [first]}).get_json()["id"]
    old = clerk.post(f"/api/v1/rights/{right}/certificates", json={}).get_json()["number"]
    assert clerk.post("/api/v1/rights", json=body | {"parcels": [added]}).status_code == 201
    new = clerk.post(f"/api/v1/rights/{right}/certificates", json={"reason": "新增地块"}).get_json()["number"]
    assert first in text(old) and added not in text(old) and "合计 1 块" in text(old)
    assert first in text(new) and added in text(new) and "合计 2 块" in text(new)


def test_village_overview_colours_contracted_parcels(clerk, make_household, make_parcel):
    import io

    import numpy as np
    from matplotlib import image as mpimg

    from gis.render import CATEGORY_STYLES

    def share(png, category):
        rgb = np.array([int(CATEGORY_STYLES[category][0][i:i + 2], 16) / 255 for i in (1, 3, 5)])
        image = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
        return (np.abs(image - rgb) <= 3 / 255).all(axis=-1).mean()

    make_parcel(100, 0)
    url = f"/api/v1/collectives/{COLLECTIVE}/map.png"
    assert share(clerk.get(url).data, "contract") == 0
    _contract(clerk, make_household, make_parcel)
    assert share(clerk.get(url).data, "contract") > 0.01
