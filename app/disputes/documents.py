"""The committee's documents as A4 PDF: the acceptance notice (受理通知书) with the case's deadlines, and
the award (裁决书) with its result, its registry orders, the time to sue and the day it binds.

Set with the certificates' font and styles (:mod:`app.pdf`); the layout takes plain data, never a model
or a session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from app.pdf import build_document, date_zh, grid_table, map_appendix, sheet, text


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


@dataclass(frozen=True, kw_only=True)
class AwardDocument:
    """Everything an award prints, already resolved to text and dates (第四十五条)."""

    number: str
    applicant: str
    respondent: str
    claims: str
    defence: str | None
    reasons: str
    result: str
    orders: tuple[str, ...]  #: each registry order in words
    made_on: date
    by_default: bool
    tribunal: tuple[tuple[str, str], ...]  #: (role, name): 首席仲裁员 / 仲裁员 / 独任仲裁员
    dissent: str | None
    served_by: date  #: the day the committee must serve it (三个工作日)
    served_on: date | None
    sue_by: date | None  #: 30 days from service (第四十八条), once served
    #: the parcels the orders name (a corrected boundary as ordered), over their neighbours
    map_png: bytes | None = field(default=None, repr=False)
    committee: str = "农村土地承包仲裁委员会"


def render_award(a: AwardDocument) -> bytes:
    """The award as the law asks it to read (第四十五条): the claims, the facts in dispute, the reasons,
    the result, the day, the tribunal, and the right and time to sue."""
    styles = sheet()
    body, heading = styles["body"], styles["heading"]
    story = [Paragraph(f"申请人：{text(a.applicant)}", body), Paragraph(f"被申请人：{text(a.respondent)}", body),
             Spacer(1, 3 * mm), Paragraph("仲裁请求", heading), Paragraph(text(a.claims), body)]
    if a.defence:
        story += [Paragraph("被申请人答辩", heading), Paragraph(text(a.defence), body)]
    story += [Paragraph("裁决理由", heading), Paragraph(text(a.reasons), body),
              Paragraph("裁决结果", heading), Paragraph(text(a.result), body)]
    if a.orders:
        story += [Paragraph("本裁决发生法律效力后，登记机构依下列事项办理登记：", body),
                  *(Paragraph(f"{i}．{text(order)}", body) for i, order in enumerate(a.orders, start=1))]
    if a.by_default:
        story.append(Paragraph("被申请人经书面通知，无正当理由不到庭，本庭依法缺席裁决（第三十五条）。", body))
    story += [Spacer(1, 3 * mm),
              Paragraph("当事人不服本裁决的，可以自收到裁决书之日起三十日内向人民法院起诉；逾期不起诉的，"
                        "裁决书即发生法律效力（第四十八条）。一方当事人逾期不履行的，另一方当事人可以向被申请人住所地"
                        "或者财产所在地的基层人民法院申请执行（第四十九条）。", body),
              Spacer(1, 2 * mm)]
    deadlines = [("事项", "日期", "依据"), ("裁决作出", date_zh(a.made_on), "第四十四条"),
                 ("送达裁决书", date_zh(a.served_on) if a.served_on else f"应于{date_zh(a.served_by)}前", "第四十五条")]
    if a.sue_by:
        deadlines.append(("不服裁决向人民法院起诉的期限届满", date_zh(a.sue_by), "第四十八条"))
    story += [grid_table(deadlines, (80 * mm, 45 * mm, 45 * mm), body), Spacer(1, 4 * mm),
              *(Paragraph(f"{text(role)}：{text(name)}", body) for role, name in a.tribunal)]
    if a.dissent:
        story.append(Paragraph(f"少数仲裁员的不同意见（记入笔录）：{text(a.dissent)}", body))
    return build_document("裁决书", a.number, a.committee, a.made_on, story,
                          map_appendix(a.map_png, "裁决涉及的地块（更正界址的，按裁决确定的界址）", heading))


def render_acceptance_notice(n: AcceptanceNotice) -> bytes:
    """The notice to both parties that the application was accepted (第二十四、二十五条)."""
    body = sheet()["body"]
    rows = [("事项", "期限届满日", "依据"), *((what, date_zh(due), basis) for what, due, basis in n.deadlines)]
    table = grid_table(rows, (80 * mm, 35 * mm, 55 * mm), body)
    return build_document("受理通知书", n.number, n.committee, n.accepted_on, [
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
    ])
