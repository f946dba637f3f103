"""Certificates of rights as A4 PDF documents.

Text is set in the registry's Chinese TrueType font (`app.pdf`), and each
certificate embeds the subset of it that it prints, so it reads the same in
any viewer, one without Chinese fonts too. The layout takes plain data
(`CertificateData`), never models or a session, so it can be rendered again
from the ledger alone.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.pdf import FONT, MONO_FONT, QrCode, map_image
from app.pdf import NONE as _NONE
from app.pdf import date_zh as _date_zh
from app.pdf import register_font as _register_font
from app.pdf import styles as _styles
from app.pdf import text as _text

TITLES = {
    "contract": "农村土地承包经营权证",
    "homestead": "宅基地使用权证",
    "income_share": "集体收益分配权证",
}
SIDES = ("east", "south", "west", "north")
_SIDE_ZH = {"east": "东至", "south": "南至", "west": "西至", "north": "北至"}
_MARGIN = 15 * mm
_FRAME_WIDTH = A4[0] - 2 * _MARGIN
_QR_SIZE = 32 * mm



@dataclass(frozen=True, kw_only=True)
class CertificateData:
    """Everything printed on one certificate, already resolved to text.

    ``members`` holds (name, relation in Chinese, masked ID number) of every
    person who shares the right. Each parcel is a mapping with keys ``code``,
    ``name``, ``land_use_zh``, ``area_m2``, ``area_mu``, ``contract_area_m2``
    and ``neighbours`` ({east, south, west, north: [codes]}).
    """

    number: str
    right_type: str
    right_id: Any
    issued_on: date
    authority: str
    holder_code: str
    holder_name: str
    address: str
    members: Sequence[tuple[str, str, str]] = ()
    term_start: date | None = None
    term_end: date | None = None
    parcels: Sequence[Mapping[str, Any]] = ()
    shares: str | None = None
    map_png: bytes | None = field(default=None, repr=False)
    ledger_hash: str
    qr_payload: str
    superseded_by: str | None = None


def render_certificate(cert: CertificateData) -> bytes:
    """Lay out a certificate on A4 pages.

    Args:
        cert: the certificate's content.

    Returns:
        The PDF document as bytes. Long parcel tables continue on further
        pages with their header repeated.

    Raises:
        ValueError: if ``cert.right_type`` is not one of `TITLES`.
    """
    if cert.right_type not in TITLES:
        raise ValueError(f"unknown right type {cert.right_type!r}")
    _register_font()
    styles = _styles()
    story: list[Any] = [
        Paragraph(TITLES[cert.right_type], styles["title"]),
        Paragraph(_text(cert.number), styles["number"]),
    ]
    if cert.superseded_by:
        story.append(Paragraph(f"本证已作废，换发新证：{_text(cert.superseded_by)}", styles["void"]))
    story += [
        Spacer(1, 4 * mm),
        _facts_table(cert, styles),
        Spacer(1, 4 * mm),
    ]
    if cert.members:
        story += [
            Paragraph("共有人", styles["heading"]),
            _members_table(cert, styles),
            Spacer(1, 4 * mm),
        ]
    if cert.parcels:
        story += [
            Paragraph("地块", styles["heading"]),
            _parcels_table(cert, styles),
            Spacer(1, 4 * mm),
        ]
    if cert.map_png:
        story += [
            KeepTogether(
                [Paragraph("地块示意图", styles["heading"]), map_image(cert.map_png, _FRAME_WIDTH)]
            ),
            Spacer(1, 4 * mm),
        ]
    story.append(KeepTogether([_issue_block(cert, styles)]))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 4 * mm,
        title=TITLES[cert.right_type],
        subject=cert.number,
        author=cert.authority,
    )
    footer = _footer(cert.number)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _term_zh(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{_date_zh(start)}至{_date_zh(end)}"
    if start:
        return f"自{_date_zh(start)}起"
    return _NONE


def _grid(header_rows: int = 1) -> list[tuple]:
    return [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#eeeeee")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]


def _facts_table(cert: CertificateData, styles: dict[str, ParagraphStyle]) -> Table:
    body = styles["body"]
    rows = [
        ("权利人", f"{_text(cert.holder_name)}（{_text(cert.holder_code)}）"),
        ("地址", _text(cert.address)),
    ]
    if cert.right_type != "income_share" or cert.term_start:
        rows.append(("期限", _term_zh(cert.term_start, cert.term_end)))
    if cert.shares is not None:
        rows.append(("份额", _text(cert.shares)))
    rows.append(("权利编号", _text(cert.right_id)))
    table = Table(
        [[Paragraph(k, body), Paragraph(v, body)] for k, v in rows],
        colWidths=(25 * mm, _FRAME_WIDTH - 25 * mm),
    )
    table.setStyle(
        TableStyle(
            [*_grid(0), ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee"))]
        )
    )
    return table


def _members_table(
    cert: CertificateData, styles: dict[str, ParagraphStyle]
) -> LongTable:
    cell = styles["cell"]
    rows = [[Paragraph(h, cell) for h in ("序号", "姓名", "与户主关系", "证件号码")]]
    rows += [
        [
            Paragraph(str(i), cell),
            Paragraph(_text(name), cell),
            Paragraph(_text(relation), cell),
            Paragraph(_text(id_number), cell),
        ]
        for i, (name, relation, id_number) in enumerate(cert.members, start=1)
    ]
    widths = (12 * mm, 50 * mm, 40 * mm, _FRAME_WIDTH - 102 * mm)
    table = LongTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(_grid()))
    return table


def _parcels_table(
    cert: CertificateData, styles: dict[str, ParagraphStyle]
) -> LongTable:
    cell, num = styles["cell"], styles["cell_right"]
    header = [
        "地块编码",
        "地块名称",
        "地类",
        "实测面积 m²",
        "实测面积 亩",
        "合同面积 m²",
        *(_SIDE_ZH[s] for s in SIDES),
    ]
    rows = [[Paragraph(h, cell) for h in header]]
    total_m2 = total_mu = total_contract = 0.0
    for parcel in cert.parcels:
        area_m2 = _number(parcel.get("area_m2"))
        area_mu = _number(parcel.get("area_mu"))
        contract = _number(parcel.get("contract_area_m2"))
        total_m2 += area_m2 or 0.0
        total_mu += area_mu or 0.0
        total_contract += contract or 0.0
        neighbours = parcel.get("neighbours") or {}
        rows.append(
            [
                Paragraph(_text(parcel.get("code")), cell),
                Paragraph(_text(parcel.get("name")), cell),
                Paragraph(_text(parcel.get("land_use_zh")), cell),
                Paragraph(_fmt(area_m2), num),
                Paragraph(_fmt(area_mu), num),
                Paragraph(_fmt(contract), num),
                *(Paragraph(_sides(neighbours.get(side)), cell) for side in SIDES),
            ]
        )
    # The total of 亩 is the sum of the printed parcel values, so the column adds up.
    rows.append(
        [
            Paragraph(f"合计 {len(cert.parcels)} 块", cell),
            "",
            "",
            Paragraph(_fmt(total_m2), num),
            Paragraph(_fmt(total_mu), num),
            Paragraph(_fmt(total_contract), num),
            "",
            "",
            "",
            "",
        ]
    )
    widths = [31 * mm, 20 * mm, 13 * mm, 17 * mm, 14 * mm, 17 * mm]
    side_width = (_FRAME_WIDTH - sum(widths)) / 4
    table = LongTable(rows, colWidths=[*widths, *(side_width,) * 4], repeatRows=1)
    table.setStyle(
        TableStyle([*_grid(), ("SPAN", (0, -1), (2, -1)), ("SPAN", (6, -1), (9, -1))])
    )
    return table


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _fmt(value: float | None) -> str:
    return _NONE if value is None else f"{value:,.2f}"


def _sides(codes: Sequence[str] | None) -> str:
    if not codes:
        return _NONE
    return "、".join(_text(str(code)[-5:]) for code in codes)


def _issue_block(cert: CertificateData, styles: dict[str, ParagraphStyle]) -> Table:
    qr = QrCode(cert.qr_payload, _QR_SIZE)
    issuer = Paragraph(
        f"发证机关：{_text(cert.authority)}<br/>发证日期：{_date_zh(cert.issued_on)}",
        styles["body"],
    )
    ledger = Paragraph(
        f"登记簿哈希 (SHA-256)：<br/><font name='{MONO_FONT}'>"
        f"{_text(cert.ledger_hash)}</font>",
        styles["small"],
    )
    table = Table(
        [[qr, [issuer, Spacer(1, 3 * mm), ledger]]],
        colWidths=(_QR_SIZE + 6 * mm, _FRAME_WIDTH - _QR_SIZE - 6 * mm),
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _footer(number: str):
    def draw(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(_MARGIN, _MARGIN, number)
        canvas.drawRightString(A4[0] - _MARGIN, _MARGIN, f"第 {document.page} 页")
        canvas.restoreState()

    return draw
