"""What the registry's PDF documents share: the Chinese font, paragraph styles, text helpers, a ruled table
and the A4 frame of a numbered document.

Chinese is set in WenQuanYi Micro Hei, a TrueType font installed with the registry (the maps use the
same file), and each document embeds the subset of it that it prints: a household keeps a document that
reads the same in any viewer, with or without Chinese fonts of its own.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gis.render import CJK_FONT_FACES, cjk_font_file

FONT = "WenQuanYiMicroHei"
#: The same font's monospaced face, for hashes and other strings read character by character.
MONO_FONT = "WenQuanYiMicroHeiMono"
NONE = "—"

_font_lock = threading.Lock()
_font_registered = False


def register_font() -> None:
    # Registration mutates reportlab's global font table; do it once, on first use.
    global _font_registered
    if _font_registered:
        return
    with _font_lock:
        if not _font_registered:
            # reportlab embeds a TrueType font as subsets of the glyphs a document uses, so a
            # certificate carries tens of kilobytes of the font, not its megabytes; not asciiReadable,
            # which would put all of ASCII in every subset.
            path = str(cjk_font_file())
            for name, face in ((FONT, CJK_FONT_FACES["regular"]), (MONO_FONT, CJK_FONT_FACES["mono"])):
                pdfmetrics.registerFont(TTFont(name, path, subfontIndex=face, asciiReadable=False))
            # Write image streams as binary: reportlab's ASCII85 encoder is pure Python
            # without its C accelerator and took most of a certificate's time.
            rl_config.useA85 = 0
            _font_registered = True


def styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK"
    )
    return {
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontSize=20,
            leading=26,
            alignment=1,
            spaceAfter=2 * mm,
        ),
        "number": ParagraphStyle("number", parent=body, alignment=1),
        "void": ParagraphStyle(
            "void", parent=body, fontSize=12, leading=18, alignment=1, textColor=colors.red
        ),
        "heading": ParagraphStyle(
            "heading", parent=body, fontSize=11, leading=16, spaceAfter=1.5 * mm
        ),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5),
        "cell_right": ParagraphStyle(
            "cell_right", parent=body, fontSize=7.5, leading=9.5, alignment=2
        ),
        "small": ParagraphStyle("small", parent=body, fontSize=6.5, leading=8.5),
    }


def text(value: Any) -> str:
    """Escape free text for reportlab's paragraph markup."""
    return escape("" if value is None else str(value))


def date_zh(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else NONE


def map_image(png: bytes, width: float, max_height: float = 120 * mm) -> Image:
    """A map as a flowable ``width`` wide (less when that would make it taller than ``max_height``)."""
    width_px, height_px = ImageReader(io.BytesIO(png)).getSize()
    height = min(width * height_px / width_px, max_height)
    return Image(io.BytesIO(png), width=height * width_px / height_px, height=height)


def sheet() -> dict[str, ParagraphStyle]:
    """The styles, with the font registered first (before any paragraph is made in it)."""
    register_font()
    return styles()


def grid_table(rows: Sequence[tuple[str, ...]], widths: tuple[float, ...], body: ParagraphStyle) -> Table:
    """A ruled table of text cells."""
    table = Table([[Paragraph(text(cell), body) for cell in row] for row in rows], colWidths=widths)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("FONTNAME", (0, 0), (-1, -1), FONT),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


#: The parcel table of the registry's documents: code, name, land use, area in m² and in 亩.
PARCEL_HEADER = ("地块编码", "地块名称", "地类", "面积（平方米）", "面积（亩）")
PARCEL_WIDTHS = (45 * mm, 35 * mm, 25 * mm, 35 * mm, 30 * mm)


def parcel_table(rows: Sequence[tuple[str, ...]], body: ParagraphStyle) -> Table:
    """The parcels a document names, one row each (:data:`PARCEL_HEADER`)."""
    return grid_table([PARCEL_HEADER, *rows], PARCEL_WIDTHS, body)


def ledger_block(seq: int, leaf_hash: str, qr_payload: str, what: str, small: ParagraphStyle) -> Table:
    """The ledger entry a document was printed from, with the QR code ``GET /certificates/check`` verifies;
    ``what`` names the document (本鉴证书, 本登记证明)."""
    ledger = Paragraph(f"登记簿记录：第 {seq} 号<br/>哈希 (SHA-256)：<br/>"
                       f"<font name='{MONO_FONT}'>{text(leaf_hash)}</font><br/>扫描二维码可核验{text(what)}。", small)
    block = Table([[QrCode(qr_payload, 30 * mm), ledger]], colWidths=(36 * mm, 134 * mm))
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return block


def map_appendix(png: bytes | None, caption: str, heading: ParagraphStyle) -> list[Flowable]:
    """The 附图 a document ends with: its caption and the map, kept on one page; nothing without a map."""
    if not png:
        return []
    return [Spacer(1, 8 * mm), KeepTogether([Paragraph(f"附图：{text(caption)}", heading),
                                             map_image(png, A4[0] - 40 * mm)])]


def build_document(title: str, number: str, issuer: str, signed_on: date, story: list[Flowable],
                   appendix: Sequence[Flowable] = ()) -> bytes:
    """An A4 document: its title and number above ``story``, the issuer and the day below, then any
    ``appendix`` (附图)."""
    styles_ = sheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=f"{title} {number}", author=issuer)
    doc.build([Paragraph(title, styles_["title"]), Paragraph(text(number), styles_["number"]), Spacer(1, 6 * mm),
               *story, Spacer(1, 10 * mm),
               Paragraph(f"{text(issuer)}　　{date_zh(signed_on)}", styles_["number"]), *appendix])
    return out.getvalue()


class QrCode(Flowable):
    """A QR code (error correction level M) drawn as vector squares, quiet zone included.

    Each row's runs of dark modules are one rectangle, all in one filled path:
    a few hundred path operators instead of reportlab's one shape per module.
    """

    QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks

    def __init__(self, payload: str, size: float) -> None:
        super().__init__()
        self.matrix = segno.make(payload, error="m", micro=False, boost_error=False).matrix
        self.width = self.height = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        rows = len(self.matrix)
        module = self.width / (rows + 2 * self.QUIET_ZONE)
        path = self.canv.beginPath()
        for r, row in enumerate(self.matrix):
            y = self.height - (self.QUIET_ZONE + r + 1) * module
            for start, end in dark_runs(row):
                # A hair taller than a module, so no seam shows between rows when rasterised.
                path.rect((self.QUIET_ZONE + start) * module, y - 0.02 * module,
                          (end - start) * module, 1.02 * module)
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


def dark_runs(row: Sequence[int]) -> list[tuple[int, int]]:
    """[start, end) column ranges of consecutive dark modules in one row."""
    runs, start = [], None
    for col, dark in enumerate(row):
        if dark and start is None:
            start = col
        elif not dark and start is not None:
            runs.append((start, col))
            start = None
    if start is not None:
        runs.append((start, len(row)))
    return runs
