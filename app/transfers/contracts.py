"""The written contract of a lease or share-in of the management right (土地经营权流转合同, 农村土地承包法
第四十条): its clauses, recorded with the transfer, and the contract printed from them.

A transfer records the parties, parcels, term and price itself. The other clauses 第四十条 names (the land's
use; the parties' rights and duties, among them protecting the land's quality; how the price is paid; who
receives compensation when the land is expropriated; liability for breach), and what becomes of what the
recipient built when the term ends (第四十三条), are agreed by the parties. What they leave out takes the
statutory baseline below, and the transfer's ledger entry records the clauses as printed, so every copy
printed later reads the same.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork, coded, county_row
from app.errors import NotFound, RuleViolation
from app.ids import RowKey
from app.ledger.models import LedgerEntry
from app.parcels.queries import ParcelRepository
from app.parcels.services import map_over_neighbours, neighbours_of, parcel_rows
from app.parties.models import Collective, Household
from app.parties.services import household_label, party_label
from app.rights.models import Right
from app.transfers.documents import ContractDocument, render_contract
from app.transfers.models import Transfer, TransferParcel, TransferPayment

#: The kinds that split off a management right and so have a 流转合同.
CONTRACT_KINDS = frozenset({"lease", "share_in"})
#: The clauses agreed beyond what the transfer itself records, in the order the contract prints them.
CLAUSES = ("use", "obligations", "payment", "compensation", "attachments", "liability")
#: What a clause the parties leave out says: the law's own baseline (农村土地承包法 第三十八、四十二、四十三条;
#: 土地管理法 第四十八条), so a contract never prints a blank.
DEFAULT_TERMS = {
    "use": "农业生产经营，不得改变土地的农业用途（农村土地承包法 第三十八条）",
    "obligations": "甲方不得干涉乙方依法进行正常的生产经营活动；乙方应当依法保护和合理利用土地，不得弃耕抛荒，"
                   "不得给土地造成永久性损害或者破坏农业综合生产能力和农业生态环境，流转期满按原状交还土地"
                   "（农村土地承包法 第三十八、四十二条）。",
    "payment": "乙方于本合同办结前一次付清全部价款，以登记簿记载的付款记录为准。",
    "compensation": "土地被依法征收、征用、占用的，土地补偿费、安置补助费归甲方依法享有；乙方投入的地上附着物和青苗的"
                    "补偿费归乙方（土地管理法 第四十八条）。",
    "attachments": "经甲方同意，乙方依法投资改良土壤、建设农业生产附属和配套设施的，合同期满时由甲方按其投资"
                   "未摊销部分给予合理补偿，或者由乙方在交还土地前自行拆除并恢复原状（农村土地承包法 第四十三条）。",
    "liability": "一方违约的，应当承担继续履行、采取补救措施或者赔偿损失等违约责任。乙方擅自改变土地的农业用途、"
                 "弃耕抛荒连续两年以上、给土地造成严重损害或者严重破坏土地生态环境的，甲方可以单方解除合同，"
                 "并要求赔偿损失（农村土地承包法 第四十二条）。",
}
#: A share-in is paid in dividends on the shares the land's management right is valued at.
SHARE_IN_PAYMENT = "土地经营权按上述价款作价入股，乙方按章程和入股协议约定的方式和时间向甲方分配收益。"


def contract_terms(kind: str, agreed: dict[str, str] | None) -> dict[str, str] | None:
    """The clauses a lease or share-in records: what the parties agreed, each clause left out taking its
    baseline; None for a kind without a 流转合同 (the request schema refuses terms there)."""
    if kind not in CONTRACT_KINDS:
        return None
    baseline = DEFAULT_TERMS | ({"payment": SHARE_IN_PAYMENT} if kind == "share_in" else {})
    return {clause: (agreed or {}).get(clause) or baseline[clause] for clause in CLAUSES}


def contract_pdf(uow: UnitOfWork, *, actor: Principal, transfer_id: RowKey, neighbour_tolerance_m: float) -> bytes:
    """The 流转合同 of a lease or share-in, as recorded when the transfer was opened: the parties with their
    addresses, the parcels with area, location and 四至, the term, use, price and payment, the agreed
    clauses, the signatures' places and a map of the land.

    Raises:
        RuleViolation: CONTRACT_NOT_APPLICABLE for another kind; TRANSFER_CLOSED once withdrawn, refused or
            voided (the contract is no longer in force).
        NotFound: unknown, or outside the scope.
    """
    with uow:
        s = uow.session
        t = county_row(s, Transfer, transfer_id)
        if t is None or not actor.sees(t.right_id):
            raise NotFound("流转", "Transfer", transfer_id)
        document = contract_document(s, t, neighbour_tolerance_m)
    return render_contract(document)


def contract_document(s: Session, t: Transfer, neighbour_tolerance_m: float) -> ContractDocument:
    """What the contract of ``t`` prints, read in the caller's transaction.

    Raises:
        RuleViolation: CONTRACT_NOT_APPLICABLE, TRANSFER_CLOSED (as :func:`contract_pdf`).
    """
    if t.kind not in CONTRACT_KINDS:
        raise RuleViolation("CONTRACT_NOT_APPLICABLE", details={"kind": t.kind})
    if t.status in ("withdrawn", "refused", "voided"):
        raise RuleViolation("TRANSFER_CLOSED", details={"status": t.status})
    right = coded(s, Right, t.right_id)
    assert right is not None and right.end is not None, "a lease is of a contract right, which has a term"
    codes = list(s.scalars(select(TransferParcel.parcel_code).where(TransferParcel.county_code == t.county_code,
                                                                 TransferParcel.transfer_id == t.id)
                           .order_by(TransferParcel.id)))
    repo = ParcelRepository(s)
    versions = [v for v in (repo.current(c) for c in codes) if v is not None]
    sides = neighbours_of(repo, versions, neighbour_tolerance_m)
    seller = coded(s, Household, t.from_household)
    buyer = coded(s, Household, t.to_household) if t.to_household else None
    collective = coded(s, Collective, t.collective_code)
    paid = list(s.scalars(select(TransferPayment).where(TransferPayment.county_code == t.county_code,
                                                      TransferPayment.transfer_id == t.id)
                          .order_by(TransferPayment.id)))
    entry = s.get(LedgerEntry, (t.county_code, t.ledger_seq))
    assert seller is not None and collective is not None and entry is not None, "foreign keys and the log"
    return ContractDocument(
        number=f"（{t.consent_signed_on.year}）{t.county_code}流转合字第{t.id}号", kind=t.kind,
        seller=household_label(s, seller.code), seller_address=seller.address,
        buyer=household_label(s, buyer.code) if buyer else party_label(t.to_party or {}),
        buyer_address=buyer.address if buyer else None, issuer=f"{collective.name}（{collective.code}）",
        right=right.code, contract_end=right.end,
        parcels=parcel_rows(versions),
        sides=tuple((v.parcel_code, *_sides(side)) for v, side in zip(versions, sides, strict=True)),
        price=f"{t.price:,.2f}", payments=tuple((p.paid_on, f"{p.amount:,.2f}", p.reference) for p in paid),
        term_start=t.completed_on, term_end=t.term_end, consented_on=t.consent_signed_on,
        terms=contract_terms(t.kind, t.contract_terms) or {}, ledger_seq=t.ledger_seq,
        ledger_hash=entry.leaf_hash,
        map_png=map_over_neighbours(repo, [v.geom for v in versions], [v.parcel_code for v in versions],
                                    image_format="jpeg")
        if versions else None)


def _sides(sides: dict[str, Any] | None) -> tuple[str, str, str, str]:
    """东、南、西、北 neighbours by the last five digits of their codes, as certificates print them."""
    east, south, west, north = ("、".join(code[-5:] for code in (sides or {}).get(side) or []) or "—"
                                for side in ("east", "south", "west", "north"))
    return east, south, west, north
