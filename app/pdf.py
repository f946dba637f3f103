"""What the registry's PDF documents share: the Chinese font, paragraph styles and text helpers.

Chinese is set in the CID font STSong-Light, which every PDF reader with Asian fonts carries, so no
font file is shipped or embedded.
"""
from __future__ import annotations

import io
import threading
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image

FONT = "STSong-Light"
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
            pdfmetrics.registerFont(UnicodeCIDFont(FONT))
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
