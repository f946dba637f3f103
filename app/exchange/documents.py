"""The exchange desk's documents as A4 PDF: the public announcement (挂牌公告) of a listing, and the
transaction certificate (交易鉴证书) once the transaction has completed.

Set with the registry's embedded font and styles (:mod:`app.pdf`); the layout takes plain data, never a model
or a session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from app.pdf import build_document, date_zh, grid_table, ledger_block, map_appendix, parcel_table, sheet, text

KIND_ZH = {"transfer": "转让", "lease": "出租（转包）", "share_in": "入股"}
RIGHT_ZH = {"contract": "土地承包经营权", "homestead": "宅基地使用权（连同住房）", "income_share": "集体收益分配权份额"}


@dataclass(frozen=True, kw_only=True)
class AnnouncementDocument:
    """Everything a listing's announcement prints, already resolved to text and dates."""

    number: str  #: e.g. （2026）210681农交挂字第3号
    holder: str  #: the holding household's head and code
    right: str  #: the right's printed code
    right_type: str
    kind: str
    #: (parcel code, name, land use, area m², area 亩) of each parcel offered
    parcels: tuple[tuple[str, str, str, str, str], ...]
    shares: str | None
    asking_price: str
    term_end: date | None
    listed_on: date
    announcement_days: int
    ends_on: date
    assumed_years: tuple[int, ...] = ()
    map_png: bytes | None = field(default=None, repr=False)
    desk: str = "农村产权流转交易服务中心"


def render_announcement(a: AnnouncementDocument) -> bytes:
    """The public announcement: what is offered, by whom, at what price, to whom, and until when bids are taken."""
    styles = sheet()
    body, heading = styles["body"], styles["heading"]
    story = [
        Paragraph(f"经转出方申请、本人书面同意，本中心对下列农村产权{KIND_ZH[a.kind]}项目挂牌公告如下：", body),
        Spacer(1, 3 * mm),
        Paragraph("一、转出方", heading), Paragraph(text(a.holder), body),
        Paragraph("二、交易标的", heading),
        Paragraph(f"{RIGHT_ZH[a.right_type]}（{text(a.right)}），交易方式：{KIND_ZH[a.kind]}。", body),
    ]
    if a.parcels:
        story.append(parcel_table(a.parcels, body))
    if a.shares:
        story.append(Paragraph(f"份额：{text(a.shares)} 份。", body))
    if a.term_end:
        story.append(Paragraph(f"流转期限至{date_zh(a.term_end)}止，"
                               "不超过承包期的剩余期限（农村土地承包法 第三十八条）。", body))
    members = "本集体经济组织成员农户（农村土地承包法 第三十四条；土地管理法实施条例 第三十五条）"
    farmers = ("具有农业经营能力或者资质的单位和个人；同等条件下，本集体经济组织成员享有优先权"
               "（农村土地承包法 第三十八条）")
    whom = members if a.kind == "transfer" else farmers
    story += [
        Paragraph("三、挂牌价格", heading),
        Paragraph(f"人民币 {text(a.asking_price)} 元。报价不得低于挂牌价格。", body),
        Paragraph("四、意向受让方条件", heading), Paragraph(whom, body),
        Paragraph("五、公告期", heading),
        Paragraph(f"自{date_zh(a.listed_on)}起 {a.announcement_days} 个工作日，至{date_zh(a.ends_on)}止"
                  "（期间开始之日不计算在内，按国家法定节假日和调休安排计算工作日）。公告期内接受报价；"
                  "公告期满只有一个符合条件的意向受让方的，协议成交；有两个以上的，竞价成交，价高者得。"
                  "本集体经济组织成员在公告期内未提出报价的，视为放弃优先权。", body),
    ]
    if a.assumed_years:
        years = "、".join(str(y) for y in a.assumed_years)
        story.append(Paragraph(f"注：{years} 年的法定节假日安排尚未公布，暂按周一至周五为工作日计算，"
                               "公布后以公布为准。", body))
    story.append(Paragraph("转出方进城落户的，不以退出或者转让其土地承包经营权、宅基地使用权、集体收益分配权作为落户条件；"
                           "本项目出于转出方自愿、有偿（农村土地承包法 第二十七条）。", body))
    return build_document("农村产权流转交易挂牌公告", a.number, a.desk, a.listed_on, story,
                          map_appendix(a.map_png, "交易标的地块", heading))


@dataclass(frozen=True, kw_only=True)
class TransactionCertificate:
    """Everything a transaction certificate (交易鉴证书) prints, already resolved to text and dates."""

    number: str  #: e.g. （2026）210681农交鉴字第3号
    seller: str
    buyer: str
    right: str
    right_type: str
    kind: str
    parcels: tuple[tuple[str, str, str, str, str], ...]
    shares: str | None
    price: str
    method: str  #: 协议 or 竞价
    term_end: date | None
    listed_on: date
    ends_on: date
    awarded_on: date
    completed_on: date
    priority: bool  #: a member won on equal terms (第三十八条)
    ledger_seq: int
    ledger_hash: str
    qr_payload: str
    map_png: bytes | None = field(default=None, repr=False)
    desk: str = "农村产权流转交易服务中心"


def render_transaction_certificate(c: TransactionCertificate) -> bytes:
    """The desk's certificate that the transaction was made as recorded: parties, right, parcels, price, the
    days of listing, announcement, award and completion, and the ledger entry with a QR code to check it."""
    styles = sheet()
    body, heading, small = styles["body"], styles["heading"], styles["small"]
    priority = "；同等条件下本集体经济组织成员优先（第三十八条）" if c.priority else ""
    how = f"{KIND_ZH[c.kind]}，{c.method}成交{priority}"
    story = [
        Paragraph("经审核，下列农村产权流转交易经本中心挂牌公告、依法成交并办理完毕，特此鉴证。", body),
        Spacer(1, 3 * mm),
        grid_table([("转出方", c.seller), ("受让方", c.buyer),
                    ("交易标的", f"{RIGHT_ZH[c.right_type]}（{c.right}）"), ("交易方式", how),
                    ("成交价格", f"人民币 {c.price} 元"),
                    *([("份额", f"{c.shares} 份")] if c.shares else []),
                    *([("流转期限", f"至{date_zh(c.term_end)}止")] if c.term_end else []),
                    ("挂牌日期", date_zh(c.listed_on)), ("公告期满", date_zh(c.ends_on)),
                    ("成交日期", date_zh(c.awarded_on)), ("交割完成", date_zh(c.completed_on))],
                   (35 * mm, 135 * mm), body),
    ]
    if c.parcels:
        story += [Spacer(1, 3 * mm), Paragraph("交易地块", heading), parcel_table(c.parcels, body)]
    story += [Spacer(1, 5 * mm), ledger_block(c.ledger_seq, c.ledger_hash, c.qr_payload, "本鉴证书", small)]
    return build_document("农村产权流转交易鉴证书", c.number, c.desk, c.completed_on, story,
                          map_appendix(c.map_png, "交易地块", heading))
