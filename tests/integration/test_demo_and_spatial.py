"""The demo loader and the spatial repository, checked against brute force on both engines."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from app.audit.verify import verify_county
from app.demo import is_empty, load_demo
from app.parcels.models import ParcelVersion
from app.parcels.queries import ParcelRepository
from app.parties.models import Household, Membership, Person
from app.rights.models import Right, SharePlan


@pytest.fixture
def demo(uow_factory):
    counts = load_demo(uow_factory, seed=11, parcels=700)
    with uow_factory(write=False) as uow:
        versions = uow.session.scalars(select(ParcelVersion)).all()
    return counts, versions


def test_demo_county_loads_with_ledger_and_members(uow_factory, demo):
    counts, versions = demo
    assert not is_empty(uow_factory(write=False))
    assert counts["parcels"] == len(versions) and 600 <= counts["parcels"] <= 800
    with uow_factory(write=False) as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Household)) == counts["households"]
        persons = s.scalar(select(func.count()).select_from(Person))
        assert persons == counts["persons"]
        assert s.scalar(select(func.count()).select_from(Membership)) == persons
        assert s.scalar(select(func.min(Household.ledger_seq))) > 0
    with uow_factory(write=False) as uow:
        rights = dict(uow.session.execute(select(Right.type, func.count()).group_by(Right.type)).all())
        plans = uow.session.scalar(select(func.count()).select_from(SharePlan))
    assert 0.9 * counts["households"] < rights["contract"] <= counts["households"]
    assert 0.8 * counts["households"] < rights["homestead"] <= counts["households"]
    assert rights["income_share"] == counts["households"] and plans >= 1
    result = verify_county(uow_factory(write=False), "210681")
    expected = (counts["collectives"] + counts["households"] + counts["persons"] + counts["parcels"]
                + sum(rights.values()) + plans)
    assert result.ok and result.size == expected


def test_point_queries_match_brute_force(uow_factory, demo):
    _, versions = demo
    geoms = np.array([v.geom for v in versions], dtype=object)
    codes = np.array([v.parcel_code for v in versions])
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    inside = [shapely.get_coordinates(shapely.point_on_surface(g))[0] for g in geoms[:40]]
    random = np.column_stack([rng.uniform(minx, maxx, 40), rng.uniform(miny, maxy, 40)])
    with uow_factory(write=False) as uow:
        repo = ParcelRepository(uow.session)
        for lon, lat in [*inside, *random]:
            rows, _ = repo.containing(float(lon), float(lat))
            expected = set(codes[shapely.contains_xy(geoms, lon, lat)])
            assert {r.parcel_code for r in rows} == expected


def test_overlap_queries_match_brute_force(uow_factory, demo):
    _, versions = demo
    geoms = np.array([v.geom for v in versions], dtype=object)
    codes = np.array([v.parcel_code for v in versions])
    probes = shapely.buffer(shapely.centroid(geoms[::25]), 0.0003)  # ~30 m discs over several parcels
    with uow_factory(write=False) as uow:
        repo = ParcelRepository(uow.session)
        for probe in probes:
            rows, _ = repo.overlapping(probe, "210681")
            expected = set(codes[shapely.relate_pattern(geoms, probe, "T********")])
            assert {r.parcel_code for r in rows} == expected and expected


def test_demo_cases_fill_the_committees_dashboard(uow_factory, demo):
    import datetime as dt

    from app.auth.services import SYSTEM
    from app.demo import load_demo_cases
    from app.disputes.services import list_disputes
    from app.holds.models import Freeze

    today = dt.date(2026, 11, 27)
    ids = load_demo_cases(uow_factory, today=today)
    page = list_disputes(uow_factory(write=False), actor=SYSTEM, today=today)
    assert page["items"][0]["events"]["accepted"] == dt.date(2026, 11, 20)
    assert [(d["id"], d["procedure"], d["status"]) for d in page["items"]] == [
        (ids[0], "arbitration", "accepted"), (ids[1], "mediation", "received")]
    arbitration = page["items"][0]
    # received Thursday 19 November, accepted Friday 20 November 2026: the copy is due Friday 27 November
    assert arbitration["deadlines"]["copy_to_respondent"]["due_on"] == dt.date(2026, 11, 27)
    with uow_factory(write=False) as uow:
        frozen = uow.session.scalars(select(Freeze.subject).where(Freeze.active.is_(True))).all()
    assert sorted(frozen) == sorted(arbitration["subjects"]["rights"] + arbitration["subjects"]["parcels"])
