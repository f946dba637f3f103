"""Histories and maps that join the registry's parcels and households with the rights over them.

They read rights, so they live with the rights (above parcels and parties), while their paths stay where
the API has them: ``/parcels/{code}/history``, ``/households/{code}/history``, ``/collectives/{code}/map.png``.
"""
from __future__ import annotations

import numpy as np
from sqlalchemy import select

from app.auth.services import Principal
from app.db import UnitOfWork, coded
from app.errors import NotFound
from app.ledger import services as ledger
from app.parcels.models import ParcelVersion
from app.parcels.queries import ParcelRepository
from app.parcels.services import feature, output_crs, output_geoms
from app.parties.models import Household
from app.parties.services import visible_collective
from app.queries import code_prefix
from app.rights.models import ID_SUFFIX, Right, RightParcel
from gis.render import collective_map_png

#: The most parcels a collective map draws.
MAX_MAP_PARCELS = 20_000

def parcel_history(uow: UnitOfWork, *, actor: Principal, code: str, crs: str | None = None) -> dict:
    """Every version of a parcel and every right it was under, oldest first, each with its ledger entry."""
    epsg = output_crs(crs)
    with uow:
        versions = ParcelRepository(uow.session).history(code) if actor.sees(code) else []
        if not versions:
            raise NotFound("地块", "Parcel", code)
        geoms = output_geoms(versions, epsg)
        links = uow.session.execute(select(RightParcel, Right.type, Right.holder_code).join(Right).where(
            RightParcel.parcel_code == code).order_by(RightParcel.valid_from, RightParcel.id)).all()
        entries = ledger.entry_links(uow.session, versions[0].county_code, [v.ledger_seq for v in versions] + [
            q for link, _, _ in links for q in (link.ledger_seq, link.end_ledger_seq)])
        out = []
        for v, g in zip(versions, geoms, strict=True):
            f = feature(v, g, None)
            f["properties"]["ledger"] = entries.get(v.ledger_seq)
            out.append(f)
        return {"code": code, "versions": out,
                "rights": [{"right": link.right_id, "type": kind, "holder": holder, "valid_from": link.valid_from,
                            "valid_to": link.valid_to, "ledger_seq": link.ledger_seq,
                            "end_ledger_seq": link.end_ledger_seq, "ledger": entries.get(link.ledger_seq),
                            "end_ledger": None if link.end_ledger_seq is None else entries.get(link.end_ledger_seq)}
                           for link, kind, holder in links]}


def household_history(uow: UnitOfWork, *, actor: Principal, code: str, after: int = 0, limit: int = 50) -> dict:
    """Every ledger entry about a household or its rights, oldest first, each linked to its inclusion proof.

    Raises:
        NotFound: unknown household or outside the actor's scope.
    """
    with uow:
        h = coded(uow.session, Household, code) if actor.sees(code) else None
        if h is None:
            raise NotFound("承包方", "Household", code)
        # every right it ever held: a later contract (``<code>J-2``) too, whose payments name only the right
        held = uow.session.scalars(select(Right.id).where(Right.holder_code == code))
        subjects = list(dict.fromkeys([code, *(code + suffix for suffix in ID_SUFFIX.values()), *held]))
        return {"household": code} | ledger.subject_history(uow.session, h.county_code, subjects, after=after,
                                                           limit=limit)


def right_categories(uow: UnitOfWork, *, actor: Principal, code: str) -> dict[str, str]:
    """Each parcel of a collective that has ever been under a right, by the right over it now: ``contract``,
    ``homestead`` or ``ended`` (rights over it ended, none in force); a parcel never under a right is absent
    (``none``, as the maps draw it).

    Raises:
        NotFound: the collective is unknown or outside the actor's scope.
    """
    with uow:
        visible_collective(uow.session, actor, code)
        return _right_categories(uow.session, code)


def _right_categories(s, code: str) -> dict[str, str]:
    links = s.execute(select(RightParcel.parcel_code, Right.type, RightParcel.valid_to)
                      .join(Right, (Right.county_code == RightParcel.county_code) & (Right.id == RightParcel.right_id))
                      .where(Right.county_code == code[:6], Right.collective_code == code)).all()
    category: dict[str, str] = {}
    for parcel, right_type, valid_to in links:
        if valid_to is None and right_type in ("contract", "homestead"):
            category[parcel] = right_type
        else:
            category.setdefault(parcel, "ended")
    return category


def collective_map(uow: UnitOfWork, *, actor: Principal, code: str) -> bytes:
    """A PNG overview of every current parcel of a collective, coloured by its right's type and status."""
    with uow:
        s = uow.session
        visible_collective(s, actor, code)
        rows = ParcelRepository(s).query(prefix_clause=code_prefix(ParcelVersion.parcel_code, code),
                                         collective=code, bbox=None, contains=None, after=None,
                                         limit=MAX_MAP_PARCELS)
        category = _right_categories(s, code)
    if not rows:
        raise NotFound("发包方地块", "Parcels of collective", code)
    codes = [r.parcel_code for r in rows]
    return collective_map_png(np.array([r.geom for r in rows], dtype=object), codes,
                              [category.get(c, "none") for c in codes])
