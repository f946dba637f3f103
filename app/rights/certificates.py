"""Certificates: numbering, issue and re-issue, and the data a printed certificate shows."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, coded
from app.errors import DomainError, NotFound, RuleViolation
from app.ledger import merkle
from app.ledger import services as ledger
from app.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from app.parcels.models import LAND_USES_ZH, ParcelVersion
from app.parcels.queries import ParcelRepository
from app.parcels.services import map_over_neighbours, neighbours_of
from app.parties.models import Household, Person
from app.parties.services import REGISTRY_WRITERS, person_view, require_role
from app.rights.certificate_pdf import CertificateData, render_certificate
from app.rights.models import Certificate, Right
from app.rights.services import find_right, right_view

#: GB/T 2260 province codes → the one-character abbreviation printed on certificates.
PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪",
    "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘",
    "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕",
    "62": "甘", "63": "青", "64": "宁", "65": "新", "71": "台", "81": "港", "82": "澳",
}
#: County-level names the registry knows (GB/T 2260); others print their code.
COUNTY_NAMES = {"210602": "元宝区", "210603": "振兴区", "210604": "振安区", "210624": "宽甸满族自治县",
                "210681": "东港市", "210682": "凤城市"}
RIGHT_TITLES = {"contract": "农村土地承包经营权", "homestead": "宅基地使用权", "income_share": "集体收益分配权"}


def certificate_number(county: str, year: int, right_type: str, serial: int) -> str:
    """The printed number: province abbreviation, (year), county, right, yearly serial.

    >>> certificate_number("210681", 2026, "contract", 123)
    '辽(2026)东港市农村土地承包经营权第000123号'
    """
    return register_number(county, year, RIGHT_TITLES[right_type], serial)


def register_number(county: str, year: int, title: str, serial: int) -> str:
    """A number the county's register gives what it records: province abbreviation, (year), county, title,
    yearly serial.

    >>> register_number("210681", 2026, "土地经营权", 7)
    '辽(2026)东港市土地经营权第000007号'
    """
    county_name = COUNTY_NAMES.get(county, county)
    return f"{PROVINCE_ABBR[county[:2]]}({year}){county_name}{title}第{serial:06d}号"


def issue_certificate(uow: UnitOfWork, *, actor: Principal, right_id: str, reason: str | None = None) -> dict:
    """Number and record a certificate for an active right; a re-issue supersedes the last one.

    Raises:
        RuleViolation: RIGHT_NOT_ACTIVE; REISSUE_REASON_REQUIRED when a certificate exists and no reason is given.
        NotFound: the right is unknown or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        s = uow.session
        right = find_right(s, actor, right_id)  # a code names the household's right in force under it
        if right is None:
            raise NotFound("权利", "Right", right_id)
        right_id = right.id
        if right.valid_to is not None:
            raise RuleViolation("RIGHT_NOT_ACTIVE", details={"right": right_id})
        ledger.lock_log(s, right.county_code)
        previous = s.scalar(select(Certificate).where(Certificate.right_id == right_id,
                                                      Certificate.superseded_by.is_(None)))
        if previous is not None and not reason:
            raise RuleViolation("REISSUE_REASON_REQUIRED", details={"current": previous.number})
        today = dt.date.today()
        serial = 1 + (s.scalar(select(func.max(Certificate.serial)).where(
            Certificate.county_code == right.county_code, Certificate.year == today.year)) or 0)
        number = certificate_number(right.county_code, today.year, right.type, serial)
        # The entry records what is certified, so every later print shows exactly that.
        now = right_view(s, right, actor, as_of=None)
        seq = ledger.append(s, county=right.county_code, kind="certificate.issued", actor=actor,
                            subjects=[number, right_id, right.holder_code],
                            data={"number": number, "right": right_id, "issued_on": today.isoformat(),
                                  "reason": reason, "supersedes": previous.number if previous else None,
                                  "term": [_iso(right.start), _iso(right.end)],
                                  "parcels": [p["code"] for p in now["parcels"]], "shares": now["shares"],
                                  "co_holders": [ids.number_of(m["id"]) for m in now["co_holders"]]})
        entry = s.get(LedgerEntry, (right.county_code, seq))
        assert entry is not None, "ledger.append just wrote it"
        cert = Certificate(number=number, right_id=right_id, county_code=right.county_code, year=today.year,
                           serial=serial, issued_on=today, reason=reason, ledger_seq=seq, leaf_hash=entry.leaf_hash)
        s.add(cert)
        if previous is not None:
            previous.superseded_by = number
        s.flush()
        view = certificate_view(cert, previous.number if previous else None)
        uow.commit()
    return view


def current_certificates(uow: UnitOfWork, *, actor: Principal, right_ids: list[str]) -> dict[str, str]:
    """The number of each right's certificate in force (not superseded), for the rights in the actor's scope."""
    visible = [r for r in right_ids if actor.sees(r)]
    if not visible:
        return {}
    with uow:
        return dict(uow.session.execute(select(Certificate.right_id, Certificate.number).where(
            Certificate.right_id.in_(visible), Certificate.superseded_by.is_(None))).all())


def certificate_view(cert: Certificate, supersedes: str | None = None) -> dict:
    return {"number": cert.number, "right": cert.right_id, "issued_on": cert.issued_on, "reason": cert.reason,
            "superseded_by": cert.superseded_by, "supersedes": supersedes, "ledger_seq": cert.ledger_seq,
            "ledger_hash": cert.leaf_hash, "qr_payload": qr_payload(cert)}


def qr_payload(cert: Certificate) -> str:
    """What the QR code carries: the certificate number and its issuing ledger entry.

    ``<number>|<county>|<ledger seq>|<leaf hash>``: anyone can fetch that entry
    (``GET /ledger/<county>?after=<seq - 1>&limit=1``) and compare the hash.
    """
    return f"{cert.number}|{cert.county_code}|{cert.ledger_seq}|{cert.leaf_hash}"


def check_qr(uow: UnitOfWork, *, actor: Principal, qr: str) -> dict:
    """Check a certificate's QR code in one call: its entry, the hash, and the entry's inclusion in the log.

    ``genuine`` when the code names the certificate's own issuing entry, the entry's leaf hash is the
    code's, and an RFC 9162 inclusion proof takes that leaf to the root of the newest signed checkpoint
    that covers it (the current log's root if none does yet). ``in_force`` when no re-issue superseded it.

    Other documents printed from one ledger entry (the exchange desk's 交易鉴证书) carry a code of the same
    shape whose number is one of that entry's subjects (``listing:<id>``); they check the same way.

    Raises:
        DomainError: 422 when the text is not a sanquan certificate code.
        NotFound: no such certificate or document in the actor's scope.
    """
    parts = qr.strip().split("|")
    # seq: ASCII digits that fit the ledger's 64-bit column ("²".isdigit() is true, and int() refuses it)
    if len(parts) != 4 or not (parts[2].isascii() and parts[2].isdigit() and len(parts[2]) <= 18) \
            or len(parts[3]) != 64:
        raise DomainError("这不是本系统证书上的二维码", "not a sanquan certificate QR code", status=422,
                          errors={"qr": ["expected <number>|<county>|<seq>|<leaf hash>"]})
    number, county, seq, leaf = parts[0], parts[1], int(parts[2]), parts[3].lower()
    with uow:
        s = uow.session
        cert = s.get(Certificate, (number, county))
        entry = s.get(LedgerEntry, (county, seq))
        problems = []
        if cert is not None:
            if not actor.sees(cert.right_id):
                raise NotFound("证书", "Certificate", number)
            if (cert.county_code, cert.ledger_seq, cert.leaf_hash) != (county, seq, leaf):
                problems.append("the code does not name this certificate's issuing ledger entry")
            printed_here = entry is not None and entry.kind == "certificate.issued" and number in entry.subjects
        else:  # a document printed from the entry names itself among the entry's subjects
            if entry is None or number not in entry.subjects or not any(
                    actor.sees(subject) for subject in entry.subjects if subject[:1].isdigit()):
                raise NotFound("证书", "Certificate", number)
            printed_here = True
        if not printed_here:
            problems.append("the log holds no issue of this certificate at that entry")
            proof, point = None, None
        else:
            assert entry is not None  # printed_here says so
            if entry.leaf_hash != leaf:
                problems.append("the ledger entry's hash differs from the code's")
            point = s.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.log == county,
                                                             LedgerCheckpoint.size >= seq)
                              .order_by(LedgerCheckpoint.size.desc()).limit(1)).first()
            if point is not None:
                size = point.size
            else:
                head = s.get(LedgerHead, county)
                assert head is not None, "the log holds the entry just read, so it has a head"
                size = head.size
            proof = ledger.inclusion_in(s, county, seq, size)
            if not merkle.verify_inclusion(bytes.fromhex(leaf), seq - 1, size,
                                           [bytes.fromhex(h) for h in proof["proof"]], bytes.fromhex(proof["root"])):
                problems.append("the inclusion proof does not lead from the code's hash to the log's root")
            if point is not None and point.root != proof["root"]:
                problems.append("the log's root differs from its signed checkpoint")
        return {"genuine": not problems, "in_force": cert is None or cert.superseded_by is None,
                "problems": problems, "certificate": certificate_view(cert) if cert else None,
                "entry": {"log": county, "seq": seq, "kind": entry.kind if entry else None, "number": number},
                "inclusion": proof,
                "checkpoint": ledger.checkpoint_view(point, s.info.get(ledger.SIGNER)) if point else None}


def _certificate(s, number: str) -> Certificate | None:
    """A certificate by its number alone (the number names its county in words, not by code)."""
    return s.scalars(select(Certificate).where(Certificate.number == number)).first()


def get_certificate(uow: UnitOfWork, *, actor: Principal, number: str) -> dict:
    with uow:
        cert = _certificate(uow.session, number)
        if cert is None or not actor.sees(cert.right_id):
            raise NotFound("证书", "Certificate", number)
        return certificate_view(cert)


def _current_version(repo: ParcelRepository, code: str) -> ParcelVersion:
    version = repo.current(code)
    assert version is not None, "a parcel always has a current version: a new one supersedes it, none retires it"
    return version


RELATIONS_ZH = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女",
                "grandparent": "祖父母", "sibling": "兄弟姐妹", "child_in_law": "儿媳/女婿", "other": "其他"}


def certificate_pdf(uow: UnitOfWork, *, actor: Principal, number: str, neighbour_tolerance_m: float) -> bytes:
    """Render a certificate as a PDF: holder, every co-holder, parcels with 四至, term, map, QR code.

    It prints what the issuing ledger entry certified (parcels, shares, co-holders, term),
    so a copy printed years later reads the same; names, areas and 四至 are the
    registry's current ones. A superseded certificate is printed marked void.

    Raises:
        NotFound: unknown certificate or outside the actor's scope.
    """
    with uow:
        s = uow.session
        cert = _certificate(s, number)
        if cert is None or not actor.sees(cert.right_id):
            raise NotFound("证书", "Certificate", number)
        right = coded(s, Right, cert.right_id)
        assert right is not None, "a certificate's right_id is a foreign key to rights"
        entry = s.get(LedgerEntry, (cert.county_code, cert.ledger_seq))
        assert entry is not None, "a certificate is issued with its ledger entry, and the log is append-only"
        issued = ledger.intact_body(entry)
        if issued is None:
            raise DomainError(f"签发该证书的台账记录（{cert.county_code} 第 {cert.ledger_seq} 号）未通过校验，"
                              "证书无法打印；请审计员核查台账", f"the ledger entry that issued this certificate "
                              f"({cert.county_code} #{cert.ledger_seq}) fails verification, so it cannot be printed; "
                              "have an auditor check the ledger", status=409,
                              details={"log": cert.county_code, "seq": cert.ledger_seq})
        certified = issued["data"]
        # Every link the right ever had; for each certified parcel, the last one made by the time of issue.
        links = {p["code"]: p for p in right_view(s, right, actor, as_of=None, history=True)["parcels"]
                 if p["ledger_seq"] <= cert.ledger_seq}
        certified_parcels = [links[code] for code in certified["parcels"]]
        people = {p.id: p for p in s.scalars(select(Person).where(
            Person.county_code == right.county_code, Person.id.in_(certified["co_holders"])))}
        co_holders = [person_view(people[i], actor) for i in certified["co_holders"]]
        household = coded(s, Household, right.holder_code)
        assert household is not None, "a right's holder_code is a foreign key to households"
        repo = ParcelRepository(s)
        codes = certified["parcels"]
        versions = [_current_version(repo, c) for c in codes]
        sides = neighbours_of(repo, versions, neighbour_tolerance_m)
        map_png = map_over_neighbours(repo, [v.geom for v in versions], codes, image_format="jpeg") \
            if versions else None
    members = [(m["name"], RELATIONS_ZH.get(m["relation"], m["relation"]), m["id_number"]) for m in co_holders]
    parcels = [{"code": p["code"], "name": p["name"] or "",
                "land_use_zh": LAND_USES_ZH.get(p["land_use"], p["land_use"]),
                "area_m2": p["area_m2"], "area_mu": p["area_mu"], "contract_area_m2": p["contract_area_m2"],
                "neighbours": n} for p, n in zip(certified_parcels, sides, strict=True)]
    start, end = (dt.date.fromisoformat(d) if d else None for d in certified["term"])
    county = COUNTY_NAMES.get(right.county_code, right.county_code)
    return render_certificate(CertificateData(
        number=cert.number, right_type=right.type, right_id=right.code, issued_on=cert.issued_on,
        authority=f"{county}人民政府", holder_code=right.holder_code,
        holder_name=members[0][0] if members else "", address=household.address or "", members=members,
        term_start=start if right.type != "income_share" else None, term_end=end, parcels=parcels,
        shares=certified["shares"], map_png=map_png, ledger_hash=cert.leaf_hash, qr_payload=qr_payload(cert),
        superseded_by=cert.superseded_by))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
