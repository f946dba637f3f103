"""The committee's documents as A4 PDF: the acceptance notice (受理通知书) with the case's deadlines.

Set with the certificates' font and styles (:mod:`app.pdf`); the layout takes plain data, never a model
or a session.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.pdf import FONT, date_zh, register_font, styles, text


@dataclass(frozen=True, kw_only=True)
class AcceptanceNotice:
    """Everything an acceptance notice prints, already resolved to text and dates."""

    number: str  #: the case number, e.g. （2025）210681农仲字第7号
    applicant: str
    respondent: str
    claims: str
    received_on: date
    accepted_on: date
    #: (what, due on, basis) of each deadline the acceptance starts
    deadlines: tuple[tuple[str, date, str], ...]
    committee: str = "农村土地承包仲裁委员会"


def render_acceptance_notice(n: AcceptanceNotice) -> bytes:
    """The notice to both parties that the application was accepted (第二十四、二十五条)."""
    register_font()
    sheet = styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=f"受理通知书 {n.number}", author=n.committee)
    body = sheet["body"]
    rows = [[Paragraph(text(what), body), Paragraph(date_zh(due), body), Paragraph(text(basis), body)]
            for what, due, basis in n.deadlines]
    table = Table([[Paragraph(h, body) for h in ("事项", "期限届满日", "依据")], *rows],
                  colWidths=(80 * mm, 35 * mm, 55 * mm))
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("FONTNAME", (0, 0), (-1, -1), FONT),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [
        Paragraph("受理通知书", sheet["title"]),
        Paragraph(text(n.number), sheet["number"]),
        Spacer(1, 6 * mm),
        Paragraph(f"申请人：{text(n.applicant)}", body),
        Paragraph(f"被申请人：{text(n.respondent)}", body),
        Spacer(1, 3 * mm),
        Paragraph(f"本委员会于{date_zh(n.received_on)}收到申请人的仲裁申请（仲裁请求：{text(n.claims)}）。经审查，"
                  f"该申请符合《中华人民共和国农村土地承包经营纠纷调解仲裁法》第二十四条规定的受理条件，"
                  f"本委员会决定于{date_zh(n.accepted_on)}予以受理。", body),
        Spacer(1, 3 * mm),
        Paragraph("本案各项法定期限如下（期间开始之日不计算在内，期间届满的最后一日为法定休假日的，以休假日后的第一个"
                  "工作日为期间届满的日期）：", body),
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 4 * mm),
        Paragraph("被申请人应当自收到仲裁申请书副本之日起十日内向本委员会提交答辩书；书面答辩确有困难的，可以口头答辩"
                  "（第二十五条）。当事人可以依法申请仲裁员回避，回避申请应当在首次开庭前提出。"
                  "农村土地承包经营纠纷仲裁不得向当事人收取费用（第五十二条）。", body),
        Spacer(1, 10 * mm),
        Paragraph(f"{text(n.committee)}　　{date_zh(n.accepted_on)}", sheet["number"]),
    ]
    doc.build(story)
    return out.getvalue()
