import io
import struct
from datetime import date

import numpy as np
import pytest
import shapely
from matplotlib import image as mpimg
from pypdf import PdfReader

from app.disputes.documents import AcceptanceNotice, AwardDocument, render_acceptance_notice, render_award
from app.rights.certificate_pdf import CertificateData, render_certificate
from gis.area import M2_TO_MU
from gis.crs import from_storage, to_storage, zone_epsg
from gis.render import collective_map_png, parcel_map_png, scale_bar_length_m
from tests.pdf_fonts import fonts_not_carried, glyphs_without_system_fonts, ink, same_shape, text_fonts

DONGGANG = (124.15, 39.87)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CODE_PREFIX = "21068110320301"


def grid_4490(
    columns, rows, width=55.0, height=35.0, gap=5.0, lon=DONGGANG[0], lat=DONGGANG[1]
):
    """A columns × rows block of rectangles laid out in metres near Donggang, stored in 4490."""
    epsg = zone_epsg(lon)
    origin = from_storage(shapely.Point(lon, lat), epsg)
    i, j = np.meshgrid(np.arange(columns), np.arange(rows), indexing="ij")
    x = origin.x + i.ravel() * (width + gap)
    y = origin.y + j.ravel() * (height + gap)
    return to_storage(shapely.box(x, y, x + width, y + height), epsg)


def codes_for(n, start=0):
    return [f"{CODE_PREFIX}{k:05d}" for k in range(start, start + n)]


def png_size(png):
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def pixels(png):
    return mpimg.imread(io.BytesIO(png), format="png")


def make_parcel(code, **overrides):
    parcel = {
        "code": code,
        "name": "东大片",
        "land_use_zh": "水田",
        "area_m2": 1925.0,
        "area_mu": round(1925.0 * M2_TO_MU, 2),
        "contract_area_m2": 1900.0,
        "neighbours": {
            "east": [f"{CODE_PREFIX}99001"],
            "south": [],
            "west": ["路"],
            "north": [],
        },
    }
    return parcel | overrides


def make_certificate(**overrides):
    fields = {
        "number": "辽(2026)东港市农村土地承包经营权第000123号",
        "right_type": "contract",
        "right_id": 123,
        "issued_on": date(2026, 3, 1),
        "authority": "东港市人民政府",
        "holder_code": "210681103203010042",
        "holder_name": "王建国",
        "address": "辽宁省东港市长山镇大岭村3组",
        "members": [
            ("王建国", "户主", "2106811965******12"),
            ("李秀英", "配偶", "2106811967******20"),
            ("王小明", "子", "2106811990******37"),
        ],
        "term_start": date(2028, 1, 1),
        "term_end": date(2057, 12, 31),
        "parcels": [make_parcel(code) for code in codes_for(3)],
        "shares": None,
        "map_png": None,
        "ledger_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "qr_payload": "https://sanquan.example/verify/210681/123",
    }
    return CertificateData(**(fields | overrides))


def pdf_text(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def image_xobjects(reader):
    found = 0
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject") or {}
        found += sum(
            1 for ref in xobjects.values() if ref.get_object()["/Subtype"] == "/Image"
        )
    return found


# --- maps -----------------------------------------------------------------


def test_parcel_map_is_a_png_of_the_requested_size():
    geoms = grid_4490(6, 5)
    png = parcel_map_png(
        geoms[:10], codes_for(10), geoms[10:], width_px=900, height_px=700
    )
    assert png_size(png) == (900, 700)
    assert pixels(png).shape[:2] == (700, 900)


@pytest.mark.parametrize(
    ("width_px", "height_px", "dpi"),
    [(640, 480, 100), (1001, 333, 150), (700, 700, 300)],
)
def test_parcel_map_size_is_exact_for_awkward_sizes(width_px, height_px, dpi):
    png = parcel_map_png(
        grid_4490(2, 2), codes_for(4), width_px=width_px, height_px=height_px, dpi=dpi
    )
    assert png_size(png) == (width_px, height_px)


def test_parcel_map_is_not_blank_and_draws_targets_in_colour():
    geoms = grid_4490(6, 5)
    image = pixels(parcel_map_png(geoms[:10], codes_for(10), geoms[10:]))
    assert image[..., :3].var() > 0.01
    # Target fill is the one clearly yellowish colour (red high, blue low).
    yellowish = (image[..., 0] > 0.9) & (image[..., 2] < 0.75)
    assert yellowish.mean() > 0.05


def test_parcel_map_accepts_no_context_and_is_deterministic():
    geoms = grid_4490(2, 1)
    first = parcel_map_png(geoms, codes_for(2))
    assert first == parcel_map_png(geoms, codes_for(2), ())


def test_parcel_map_leaves_holes_unfilled():
    outer = grid_4490(1, 1, width=100, height=100)[0]
    with_hole = shapely.difference(
        outer, shapely.buffer(shapely.centroid(outer), 0.0002)
    )
    image = pixels(
        parcel_map_png([with_hole], codes_for(1), width_px=400, height_px=400)
    )
    # The view is centred on the parcel, so the centre pixel lies in the hole.
    assert image[200, 200, :3] == pytest.approx([1.0, 1.0, 1.0], abs=0.02)
    assert image[200, 130, 2] < 0.75  # while the ring itself is filled


def test_parcel_map_draws_multipolygons():
    parts = grid_4490(2, 1, width=30, height=30, gap=40)
    multi = shapely.MultiPolygon(parts.tolist())
    png = parcel_map_png([multi, parts[0]], codes_for(2), width_px=400, height_px=300)
    assert png_size(png) == (400, 300)


def test_parcel_map_refuses_mismatched_codes_and_nothing_to_draw():
    with pytest.raises(ValueError):
        parcel_map_png(grid_4490(2, 1), codes_for(1))
    with pytest.raises(ValueError):
        parcel_map_png([], [])


def test_collective_map_draws_many_parcels_without_labels():
    geoms = grid_4490(20, 20, width=20, height=20, gap=2)
    png = collective_map_png(geoms, codes_for(400), width_px=800, height_px=600)
    assert png_size(png) == (800, 600)
    assert pixels(png)[..., :3].var() > 0.01


@pytest.mark.parametrize(
    ("map_width_m", "expected"),
    [
        (100, 20),
        (250, 50),
        (400, 100),
        (600, 100),
        (800, 200),
        (1999, 200),
        (2000, 500),
        (4000, 1000),
        (7, 1),
        (3, 0.5),
    ],
)
def test_scale_bar_picks_a_round_length_under_a_quarter_of_the_width(
    map_width_m, expected
):
    assert scale_bar_length_m(map_width_m) == expected


def test_scale_bar_length_is_always_one_two_or_five_times_a_power_of_ten():
    for width in np.geomspace(0.5, 5e5, 400):
        length = scale_bar_length_m(width)
        mantissa = length / 10 ** np.floor(np.log10(length))
        assert round(mantissa, 6) in (1, 2, 5)
        assert width / 10 <= length <= width / 4 + 1e-9


def test_scale_bar_refuses_a_non_positive_width():
    with pytest.raises(ValueError):
        scale_bar_length_m(0)


# --- certificates ---------------------------------------------------------


def test_certificate_text_carries_number_holder_members_and_parcel_codes():
    cert = make_certificate()
    reader, text = pdf_text(render_certificate(cert))
    assert len(reader.pages) >= 1
    assert cert.number in text
    assert "农村土地承包经营权证" in text
    assert cert.holder_name in text
    for name, _, _ in cert.members:
        assert name in text
    for parcel in cert.parcels:
        assert parcel["code"] in text
    assert cert.ledger_hash in text
    assert "99001" in text  # the east neighbour, by its last 5 digits


@pytest.mark.parametrize(
    ("right_type", "title"),
    [("homestead", "宅基地使用权证"), ("income_share", "集体收益分配权证")],
)
def test_certificate_title_follows_the_right_type(right_type, title):
    cert = make_certificate(
        right_type=right_type,
        term_start=None,
        term_end=None,
        shares="3.5 股（共 1200 股）" if right_type == "income_share" else None,
    )
    _, text = pdf_text(render_certificate(cert))
    assert title in text
    if right_type == "income_share":
        assert "1200" in text


def test_certificate_refuses_an_unknown_right_type():
    with pytest.raises(ValueError):
        render_certificate(make_certificate(right_type="mortgage"))


def test_certificate_with_a_map_embeds_an_image():
    geoms = grid_4490(4, 3)
    png = parcel_map_png(geoms[:3], codes_for(3), geoms[3:])
    reader, _ = pdf_text(render_certificate(make_certificate(map_png=png)))
    assert image_xobjects(reader) >= 1


def test_certificate_without_a_map_has_no_image():
    reader, _ = pdf_text(render_certificate(make_certificate()))
    assert image_xobjects(reader) == 0


def test_long_parcel_list_flows_onto_further_pages():
    codes = codes_for(120)
    reader, text = pdf_text(
        render_certificate(make_certificate(parcels=[make_parcel(c) for c in codes]))
    )
    assert len(reader.pages) > 1
    for code in codes:
        assert code in text
    # The header row repeats on every page the table runs onto.
    assert sum("地块编码" in page.extract_text() for page in reader.pages) >= 2


def test_free_text_with_markup_characters_is_printed_literally():
    cert = make_certificate(address="大岭村<3组> & 西沟")
    _, text = pdf_text(render_certificate(cert))
    assert "大岭村<3组> & 西沟" in text


def test_parcel_map_as_jpeg_for_pdfs():
    import numpy as np
    import shapely

    target = shapely.box(124.15, 39.87, 124.1505, 39.8704)
    jpeg = parcel_map_png(np.array([target], dtype=object), ["2106811010010100001"], image_format="jpeg")
    assert jpeg[:3] == b"\xff\xd8\xff"


def _share_of(image, hex_colour, tol=3 / 255):
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return (np.abs(image[..., :3] - rgb) <= tol).all(axis=-1).mean()


def test_collective_map_colours_parcels_by_right_and_explains_them():
    from gis.render import CATEGORY_STYLES

    geoms = grid_4490(4, 3)
    categories = ["contract"] * 6 + ["homestead"] * 2 + ["ended"] * 2 + ["none"] * 2
    image = pixels(collective_map_png(geoms, codes_for(12), categories))
    shares = {c: _share_of(image, CATEGORY_STYLES[c][0]) for c in ("contract", "homestead", "ended")}
    assert shares["contract"] > shares["homestead"] > 0.005 and shares["ended"] > 0.005
    only_contracts = pixels(collective_map_png(geoms, codes_for(12), ["contract"] * 12))
    assert _share_of(only_contracts, CATEGORY_STYLES["homestead"][0]) == 0


def test_collective_map_refuses_unknown_or_mismatched_categories():
    geoms = grid_4490(2, 1)
    with pytest.raises(ValueError, match="categories"):
        collective_map_png(geoms, codes_for(2), ["contract"])
    with pytest.raises(ValueError, match="unknown categories"):
        collective_map_png(geoms, codes_for(2), ["contract", "disputed!"])


@pytest.fixture
def machine_without_chinese_fonts(monkeypatch):
    """matplotlib sees only its own DejaVu fonts, as on a fresh server; yields the figures maps draw."""
    from matplotlib import font_manager

    from gis import render

    fresh = [entry for entry in font_manager.fontManager.ttflist if entry.name.startswith("DejaVu")]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", fresh)
    figures = []

    class RecordingCanvas(render.FigureCanvasAgg):
        def __init__(self, figure):
            super().__init__(figure)
            figures.append(figure)

    monkeypatch.setattr(render, "FigureCanvasAgg", RecordingCanvas)
    render.cjk_font.cache_clear()
    yield figures
    render.cjk_font.cache_clear()


def test_maps_write_chinese_in_the_installed_font_where_no_chinese_font_is(machine_without_chinese_fonts):
    from gis.render import CATEGORY_STYLES, cjk_font_file

    geoms = grid_4490(3, 2)
    # A glyph missing from the font would warn, and warnings fail the test.
    parcel_map_png(geoms[:2], codes_for(2), geoms[2:])
    collective_map_png(geoms, codes_for(6), ["contract"] * 4 + ["homestead"] * 2)
    parcel_map, village = (figure.axes[0] for figure in machine_without_chinese_fonts)
    north = [text for text in parcel_map.texts if text.get_text() == "北"]
    legend = [text.get_text() for text in village.get_legend().get_texts()]
    assert len(north) == 1
    assert legend == [f"{CATEGORY_STYLES['contract'][1]} (4)", f"{CATEGORY_STYLES['homestead'][1]} (2)"]
    drawn_in = {text.get_fontproperties().get_file() for text in [*north, *village.get_legend().get_texts()]}
    assert drawn_in == {str(cjk_font_file())}


# --- the font documents carry ---------------------------------------------


def make_award(**overrides):
    fields = {
        "number": "（2026）210681农仲字第7号", "applicant": "王建国", "respondent": "李秀英",
        "claims": "确认东大片地块的承包经营权", "defence": None, "reasons": "承包合同合法有效。",
        "result": "支持申请人的请求。", "orders": ("地块 2106811032030100000 的承包方变更为王建国",),
        "made_on": date(2026, 3, 2), "by_default": False, "tribunal": (("独任仲裁员", "赵敏"),),
        "dissent": None, "served_by": date(2026, 3, 5), "served_on": None, "sue_by": None,
    }
    return AwardDocument(**(fields | overrides))


def make_notice(**overrides):
    fields = {
        "number": "（2026）210681农仲字第7号", "applicant": "王建国", "respondent": "李秀英",
        "claims": "确认承包经营权", "received_on": date(2026, 3, 2), "accepted_on": date(2026, 3, 6),
        "deadlines": (("提交答辩书", date(2026, 3, 16), "第二十五条"),),
    }
    return AcceptanceNotice(**(fields | overrides))


#: Each document a household keeps, rendered, with the household's name it prints.
DOCUMENTS = {
    "certificate": (lambda: render_certificate(make_certificate()), "王建国"),
    "award": (lambda: render_award(make_award()), "王建国"),
    "acceptance notice": (lambda: render_acceptance_notice(make_notice()), "王建国"),
}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documents_carry_the_subset_of_their_font_they_print(document):
    render, name = DOCUMENTS[document]
    pdf = render()
    fonts = text_fonts(pdf)
    assert fonts and fonts_not_carried(pdf) == []
    assert all("WenQuanYiMicroHei" in name for name in fonts)
    _, text = pdf_text(pdf)
    assert name in text  # the embedded subset maps its glyphs back to the characters


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_household_name_reads_on_a_machine_without_chinese_fonts(document):
    render, name = DOCUMENTS[document]
    glyphs = glyphs_without_system_fonts(render(), name)
    assert len(glyphs) == len(name) == len(set(name))
    # A missing font draws nothing, a missing glyph the same empty box: each character is ink of its own.
    assert all(ink(glyph) > 0.05 for glyph in glyphs)
    assert not any(same_shape(a, b) for i, a in enumerate(glyphs) for b in glyphs[i + 1:])


def test_a_certificate_carries_only_the_glyphs_it_prints():
    pdf = render_certificate(make_certificate())
    # Without subsetting the font would add megabytes; a certificate stays a few dozen kilobytes.
    assert len(pdf) < 60_000
