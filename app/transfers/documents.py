"""A lease's or share-in's documents as A4 PDF: the written contract (土地经营权流转合同, 第四十条) and the
registration of a management right of five years or more (土地经营权登记证明, 第四十一条).

Set with the registry's embedded font and styles (:mod:`app.pdf`); the layout takes plain data, never a model
or a session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from app.pdf import (
    MONO_FONT,
    build_document,
    date_zh,
    grid_table,
    ledger_block,
    map_appendix,
    parcel_table,
    sheet,
    text,
)

TITLES = {"lease": "土地经营权出租（转包）合同", "share_in": "土地经营权入股合同"}
KIND_ZH = {"lease": "出租（转包）", "share_in": "入股"}
SIDES_HEADER = ("地块编码", "东至", "南至", "西至", "北至")
SIDES_WIDTHS = (42 * mm, 32 * mm, 32 * mm, 32 * mm, 32 * mm)


@dataclass(frozen=True, kw_only=True)
class ContractDocument:
    """Everything a 流转合同 prints, already resolved to text and dates."""

    number: str  #: e.g. （2026）210681流转合字第12号
    kind: str  #: lease | share_in
    seller: str  #: 甲方: the contracting household, its head and code
    seller_address: str | None
    buyer: str  #: 乙方: a household, or an outside party with its credit code or masked ID number
    buyer_address: str | None
    issuer: str  #: 发包方, with whom the contract is filed (第三十六条)
    right: str
    contract_end: date  #: the last day of the household's own contract
    #: (code, name, land use, area m², area 亩) of each parcel
    parcels: tuple[tuple[str, str, str, str, str], ...]
    #: (code, east, south, west, north) of each parcel
    sides: tuple[tuple[str, str, str, str, str], ...]
    price: str
    payments: tuple[tuple[date, str, str], ...]  #: (paid on, amount, reference) recorded so far
    term_start: date | None  #: the day the transfer completed; None while it has not
    term_end: date | None
    consented_on: date  #: the day the holder signed the consent to these terms (the parties sign by hand)
    terms: dict[str, str]  #: the clauses of :data:`app.transfers.contracts.CLAUSES`
    ledger_seq: int
    ledger_hash: str
    map_png: bytes | None = field(default=None, repr=False)


def render_contract(c: ContractDocument) -> bytes:
    """The contract with the eight clauses 农村土地承包法 第四十条 lists, each under its own heading, and the
    handling of what the recipient built (第四十三条), the signatures' places and a map of the land."""
    styles = sheet()
    body, heading, small = styles["body"], styles["heading"], styles["small"]
    start = f"{date_zh(c.term_start)}（交割之日）" if c.term_start else "本合同在登记簿办结之日（交割之日）"
    paid = "；".join(f"{date_zh(day)} 支付 {amount} 元（{text(ref)}）" for day, amount, ref in c.payments)
    story = [
        Paragraph(f"甲方（承包方）：{text(c.seller)}；住所：{text(c.seller_address or '—')}", body),
        Paragraph(f"乙方（受让方）：{text(c.buyer)}；住所：{text(c.buyer_address or '—')}", body),
        Paragraph(f"发包方：{text(c.issuer)}", body),
        Spacer(1, 2 * mm),
        Paragraph(f"甲方依法享有土地承包经营权（{text(c.right)}，承包期至{date_zh(c.contract_end)}止）。根据《中华人民共和国"
                  f"农村土地承包法》，双方本着平等协商、自愿、有偿的原则，就甲方以{KIND_ZH[c.kind]}方式向乙方流转土地经营权，"
                  "订立本合同。", body),
        Paragraph("第一条　流转土地的名称、坐落、面积、质量等级", heading),
        parcel_table(c.parcels, body),
        Spacer(1, 2 * mm),
        grid_table([SIDES_HEADER, *c.sides], SIDES_WIDTHS, body),
        Paragraph("四至以相邻地块编码后五位表示；坐落见附图；质量等级以发包方地块调查记载为准。", small),
        Paragraph("第二条　流转期限和起止日期", heading),
        Paragraph(f"自{start}起至{date_zh(c.term_end)}止，不超过甲方承包期的剩余期限（第三十八条）。", body),
        Paragraph("第三条　流转土地的用途", heading), Paragraph(text(c.terms["use"]), body),
        Paragraph("第四条　双方当事人的权利和义务", heading), Paragraph(text(c.terms["obligations"]), body),
        Paragraph("第五条　流转价款及支付方式", heading),
        Paragraph(f"流转价款为人民币 {text(c.price)} 元。{text(c.terms['payment'])}"
                  + (f"已支付：{paid}。" if paid else ""), body),
        Paragraph("第六条　土地被依法征收、征用、占用时有关补偿费的归属", heading),
        Paragraph(text(c.terms["compensation"]), body),
        Paragraph("第七条　合同到期后地上附着物及相关设施的处理", heading),
        Paragraph(text(c.terms["attachments"]), body),
        Paragraph("第八条　违约责任", heading), Paragraph(text(c.terms["liability"]), body),
        Paragraph("第九条　其他", heading),
        Paragraph("本合同出于甲方自愿、有偿；甲方进城落户的，不以退出或者转让其土地承包经营权、宅基地使用权、"
                  "集体收益分配权作为落户条件（农村土地承包法 第二十七条）。本合同报发包方备案（第三十六条）；"
                  "流转期限为五年以上的，当事人可以向登记机构申请土地经营权登记，未经登记，不得对抗善意第三人"
                  "（第四十一条）。发生争议的，可以协商、调解，或者向农村土地承包仲裁委员会申请仲裁、向人民法院起诉。"
                  "本合同一式四份，甲、乙双方、发包方和乡（镇）农村土地承包管理部门各执一份。", body),
        Spacer(1, 8 * mm),
    ]
    signatures = Table([[Paragraph("甲方（签章）：", body), Paragraph("乙方（签章）：", body)],
                        [Paragraph("签订日期：", body), Paragraph("签订日期：", body)],
                        [Paragraph("发包方备案（签章）：", body), Paragraph("备案日期：", body)]],
                       colWidths=(85 * mm, 85 * mm), rowHeights=(14 * mm, 8 * mm, 14 * mm))
    signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [signatures, Spacer(1, 4 * mm),
              Paragraph(f"登记簿记录：第 {c.ledger_seq} 号，哈希 (SHA-256) "
                        f"<font name='{MONO_FONT}'>{text(c.ledger_hash)}</font>", small)]
    appendix = map_appendix(c.map_png, "流转土地", heading)
    return build_document(TITLES[c.kind], c.number, "（本合同由登记簿按记录打印）", c.consented_on, story, appendix)


@dataclass(frozen=True, kw_only=True)
class RegistrationDocument:
    """Everything a management right's registration prints, already resolved to text and dates."""

    number: str  #: e.g. 辽(2026)东港市土地经营权第000001号
    holder: str  #: the management right's holder: a household, or an outside party
    contractor: str  #: the household whose contract the right was split off
    right: str  #: the contract right's printed code
    kind: str
    parcels: tuple[tuple[str, str, str, str, str], ...]
    start: date
    end: date
    registered_on: date
    ledger_seq: int
    ledger_hash: str
    qr_payload: str
    map_png: bytes | None = field(default=None, repr=False)
    authority: str = "不动产登记机构"


def render_registration(r: RegistrationDocument) -> bytes:
    """The registration of a land management right: holder, the contract it comes from, parcels with a map,
    term, the day registered, and its ledger entry with a QR code that ``/certificates/check`` verifies."""
    styles = sheet()
    body, heading, small = styles["body"], styles["heading"], styles["small"]
    story = [
        Paragraph("根据《中华人民共和国农村土地承包法》第四十一条，下列土地经营权已予登记。", body),
        Spacer(1, 3 * mm),
        grid_table([("权利人", r.holder), ("承包方", r.contractor), ("承包经营权", r.right),
                    ("流转方式", KIND_ZH[r.kind]),
                    ("经营期限", f"{date_zh(r.start)}起至{date_zh(r.end)}止"),
                    ("登记日期", date_zh(r.registered_on))],
                   (35 * mm, 135 * mm), body),
        Spacer(1, 3 * mm), Paragraph("土地经营权地块", heading),
        parcel_table(r.parcels, body),
        Paragraph("土地经营权流转期限为五年以上的，当事人可以申请登记；未经登记，不得对抗善意第三人"
                  "（第四十一条）。", small),
    ]
    story += [Spacer(1, 5 * mm), ledger_block(r.ledger_seq, r.ledger_hash, r.qr_payload, "本登记证明", small)]
    return build_document("土地经营权登记证明", r.number, r.authority, r.registered_on, story,
                          map_appendix(r.map_png, "土地经营权地块", heading))
