"""What a PDF's text is drawn in, and what it looks like on a machine without Chinese fonts."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import numpy as np
from pypdf import PdfReader
from pypdf.generic import ContentStream

#: A subset font's name starts with six capitals and a plus (ISO 32000-1, 9.6.4).
SUBSET_TAG = re.compile(r"^/[A-Z]{6}\+")

_SHOWS_TEXT = {b"Tj", b"TJ", b"'", b'"'}


def text_fonts(pdf: bytes) -> dict[str, object]:
    """The fonts that show text on any page, by base name (a Type0 font as its descendant)."""
    reader = PdfReader(io.BytesIO(pdf))
    found = {}
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = operands[0]
            elif operator in _SHOWS_TEXT:
                font = fonts[current].get_object()
                if font["/Subtype"] == "/Type0":
                    font = font["/DescendantFonts"][0].get_object()
                found[str(font["/BaseFont"])] = font
    return found


def fonts_not_carried(pdf: bytes) -> list[str]:
    """Fonts that show text but are not a subset of a TrueType font embedded in the file."""
    missing = []
    for name, font in text_fonts(pdf).items():
        descriptor = font.get("/FontDescriptor")
        embedded = descriptor.get_object().get("/FontFile2") if descriptor else None
        if embedded is None or not SUBSET_TAG.match(name) or not embedded.get_object().get_data():
            missing.append(name)
    return missing


# pdfium renders the first page with a system-font handler that finds nothing: a fresh machine without
# Chinese (or any) fonts, in its own process so no other test's pdfium sees it.
_RENDER_WITHOUT_SYSTEM_FONTS = """
import json, sys
import pypdfium2 as pdfium

class NoSystemFonts(pdfium.PdfSysfontBase):
    def MapFont(self, *args):
        return None

    def GetFont(self, *args):
        return None

NoSystemFonts().setup()
text, scale = sys.argv[1], 4
page = pdfium.PdfDocument(sys.stdin.buffer.read())[0]
height = page.get_height()
found = page.get_textpage().search(text).get_next()
if found is None:
    sys.exit(f"{text!r} is not in the text of page 1")
textpage = page.get_textpage()
image = page.render(scale=scale, grayscale=True).to_numpy()
crops = []
for index in range(found[0], found[0] + len(text)):
    left, bottom, right, top = textpage.get_charbox(index, loose=True)
    rows = slice(round((height - top) * scale), round((height - bottom) * scale))
    columns = slice(round(left * scale), round(right * scale))
    crops.append(image[rows, columns].squeeze().tolist())
json.dump(crops, sys.stdout)
"""


def glyphs_without_system_fonts(pdf: bytes, text: str) -> list[np.ndarray]:
    """How each character of ``text`` (first found on page 1) renders where no font is installed.

    Returns:
        One grey-level image (0 black … 255 white) per character, cut from its box on the page.
    """
    done = subprocess.run(
        [sys.executable, "-c", _RENDER_WITHOUT_SYSTEM_FONTS, text],
        input=pdf, capture_output=True, check=True, timeout=120,
    )
    return [np.array(crop, dtype=float) for crop in json.loads(done.stdout)]


def ink(glyph: np.ndarray) -> float:
    """The share of a glyph's box that is dark."""
    return float((glyph < 128).mean())


def same_shape(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two glyph images are the same drawing (as every missing glyph's box is)."""
    rows, columns = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return float(np.abs(a[:rows, :columns] - b[:rows, :columns]).mean()) < 8
