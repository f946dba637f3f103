"""Correcting a parcel's boundary as a new version (``revise_boundary``, run by an award's registry order)."""
from __future__ import annotations

import datetime as dt

import pytest
import shapely
from sqlalchemy import func, select, text

from app.audit import verify
from app.auth.services import Principal
from app.errors import DomainError, NotFound, RuleViolation
from app.ledger.models import LedgerEntry, LedgerHead
from app.parcels.models import ParcelVersion
from app.parcels.services import ParcelPolicy, revise_boundary
from tests.conftest import COUNTY, square
from tests.integration.test_ledger_tamper import _split_here

ARBITRATOR = Principal(id=None, name="arbitrator", role="arbitrator", scope=COUNTY)
ON = dt.date(2025, 3, 14)
CAUSE = {"dispute": 7, "award": "东港仲字〔2025〕第7号"}


@pytest.fixture
def revise(uow_factory):
    """Revise in a unit of work of its own, committed when the service returns."""
    def run(code: str, geometry, *, actor: Principal = ARBITRATOR, policy: ParcelPolicy | None = None,
            **kw) -> dict:
        with uow_factory() as uow:
            v = revise_boundary(uow.session, actor=actor, policy=policy or ParcelPolicy(), code=code,
                                geometry=geometry, on=ON, cause=CAUSE, **kw)
            out = {"version": v.version, "area_m2": v.area_m2, "ledger_seq": v.ledger_seq,
                   "valid_from": v.valid_from}
            uow.commit()
        return out
    return run


def log_size(uow_factory) -> int:
    with uow_factory(write=False) as uow:
        return uow.session.scalar(select(LedgerHead.size).where(LedgerHead.log == COUNTY))


def versions(clerk, code: str) -> list[dict]:
    return [v["properties"] for v in clerk.get(f"/api/v1/parcels/{code}/history").get_json()["versions"]]


def inside(geometry: dict, dx_m: float) -> str:
    """``lon,lat`` of a point ``dx_m`` metres east of a square's south-west corner, 1 m north of its edge."""
    minx, miny, maxx, maxy = shapely.geometry.shape(geometry).bounds
    return f"{minx + (maxx - minx) * dx_m / 50},{miny + (maxy - miny) / 50}"


def test_revision_makes_a_new_current_version_and_closes_the_old(clerk, admin, make_parcel, revise):
    old = make_parcel(0, 0, name="大田", declared_area_m2=2400, basic_farmland=True)
    code = old["id"]
    # moved 10 m east and widened to 60 m: it overlaps its own old boundary, which is no overlap
    got = revise(code, square(10, 0, 60))
    assert got["version"] == 2 and got["area_m2"] == pytest.approx(3600, rel=0.01)

    now = clerk.get(f"/api/v1/parcels/{code}").get_json()["properties"]
    assert now["version"] == 2 and now["area_m2"] == pytest.approx(3600, rel=0.01)
    assert (now["name"], now["declared_area_m2"], now["basic_farmland"], now["kind"], now["land_use"]) == (
        "大田", 2400.0, True, "contract_land", "cultivated")
    hist = versions(clerk, code)
    assert [v["version"] for v in hist] == [1, 2]
    assert hist[0]["area_m2"] == pytest.approx(2500, rel=0.01) and hist[0]["valid_to"] is not None
    assert hist[1]["valid_to"] is None and hist[1]["valid_from"] == hist[0]["valid_to"]
    assert hist[1]["ledger"]["kind"] == "parcel.revised" and hist[1]["ledger_seq"] == got["ledger_seq"]

    entry = admin.get(f"/api/v1/ledger/{COUNTY}?after={got['ledger_seq'] - 1}&limit=1").get_json()["items"][0]
    assert entry["kind"] == "parcel.revised" and entry["subjects"] == [code]
    data = entry["body"]["data"]
    assert data["on"] == "2025-03-14" and data["cause"] == CAUSE
    assert data["version"] == 2 and data["code"] == code and data["area_m2"] == round(got["area_m2"], 2)


def test_spatial_queries_see_only_the_new_boundary(clerk, make_parcel, revise, uow_factory, database_url):
    f = make_parcel(0, 0)
    revise(f["id"], square(10, 0))
    only_old, only_new = inside(f["geometry"], 5), inside(f["geometry"], 55)
    assert clerk.get(f"/api/v1/parcels?contains={only_old}").get_json()["features"] == []
    assert [p["id"] for p in clerk.get(f"/api/v1/parcels?contains={only_new}").get_json()["features"]] == [f["id"]]
    minx, miny, maxx, maxy = shapely.geometry.shape(square(-100, -100, 300)).bounds
    listed = clerk.get(f"/api/v1/parcels?bbox={minx},{miny},{maxx},{maxy}").get_json()["features"]
    assert [(p["id"], p["properties"]["version"]) for p in listed] == [(f["id"], 2)]
    if database_url.startswith("sqlite"):  # the R*Tree holds the current version's box and nothing else
        with uow_factory(write=False) as uow:
            s = uow.session
            boxed = s.execute(text("SELECT id, minx, maxx, miny, maxy FROM parcel_rtree")).all()
            current = s.execute(select(ParcelVersion.id, ParcelVersion.minx, ParcelVersion.maxx, ParcelVersion.miny,
                                       ParcelVersion.maxy).where(ParcelVersion.valid_to.is_(None))).all()
        assert len(boxed) == len(current) == 1 and boxed[0].id == current[0].id
        assert tuple(boxed[0])[1:] == pytest.approx(tuple(current[0])[1:], abs=1e-4)  # float32, rounded outwards


def test_revision_can_be_revised_again(clerk, make_parcel, revise):
    code = make_parcel(0, 0)["id"]
    revise(code, square(10, 0))
    assert revise(code, square(20, 0, 40))["version"] == 3
    hist = versions(clerk, code)
    assert [(v["version"], v["valid_to"] is None) for v in hist] == [(1, False), (2, False), (3, True)]


def test_revision_overlapping_another_parcel_refused_and_nothing_changes(clerk, make_parcel, revise, uow_factory):
    code = make_parcel(0, 0)["id"]
    neighbour = make_parcel(50, 0)["id"]
    before = log_size(uow_factory)
    with pytest.raises(RuleViolation) as e:
        revise(code, square(0, 0, 60))
    assert e.value.rule == "PARCEL_OVERLAP" and e.value.status == 409
    assert [(o["code"], o["overlap_m2"]) for o in e.value.details["overlaps"]] == [
        (neighbour, pytest.approx(500, rel=0.01))]
    assert [v["version"] for v in versions(clerk, code)] == [1]
    assert log_size(uow_factory) == before


def test_revision_overlap_within_the_tolerance_accepted(make_parcel, revise):
    code = make_parcel(0, 0)["id"]
    make_parcel(50, 0)
    assert revise(code, square(0.005, 0))["version"] == 2  # 0.005 m × 50 m = 0.25 m² ≤ 0.5 m²
    with pytest.raises(RuleViolation) as e:  # 0.2 m², refused when nothing is tolerated
        revise(code, square(0.004, 0), policy=ParcelPolicy(overlap_tolerance_m2=0.0))
    assert e.value.rule == "PARCEL_OVERLAP"


@pytest.mark.parametrize("geometry, rule", [
    ({"type": "Polygon", "coordinates": [[[124.15, 39.87], [124.151, 39.871], [124.151, 39.87], [124.15, 39.871],
                                          [124.15, 39.87]]]}, "GEOMETRY_INVALID"),
    ({"type": "Point", "coordinates": [124.15, 39.87]}, "GEOMETRY_INVALID"),
    ({"type": "Polygon", "coordinates": [[[0, 5], [0.001, 5], [0.001, 5.001], [0, 5], [0, 5]]]},
     "OUTSIDE_SUPPORTED_AREA"),
])
def test_revision_geometry_checked_as_at_registration(clerk, make_parcel, revise, uow_factory, geometry, rule):
    code = make_parcel(0, 0)["id"]
    before = log_size(uow_factory)
    with pytest.raises(RuleViolation) as e:
        revise(code, geometry)
    assert e.value.rule == rule
    assert [v["version"] for v in versions(clerk, code)] == [1] and log_size(uow_factory) == before


def test_revision_to_the_same_boundary_refused(clerk, make_parcel, revise, uow_factory):
    f = make_parcel(0, 0)
    before = log_size(uow_factory)
    for same in (square(0, 0), f["geometry"]):
        with pytest.raises(DomainError) as e:
            revise(f["id"], same)
        assert e.value.status == 422 and not isinstance(e.value, RuleViolation)
        assert "nothing changes" in e.value.en and "无需更正" in e.value.zh
    assert [v["version"] for v in versions(clerk, f["id"])] == [1] and log_size(uow_factory) == before


def test_revision_outside_scope_or_of_unknown_parcel_is_not_found(make_parcel, revise):
    code = make_parcel(0, 0)["id"]
    elsewhere = Principal(id=None, name="arbitrator", role="arbitrator", scope="210682")
    with pytest.raises(NotFound):
        revise(code, square(10, 0), actor=elsewhere)
    with pytest.raises(NotFound):
        revise(code[:-1] + "9", square(10, 0))


def test_two_worker_verification_replays_revisions(app, make_parcel, revise, uow_factory):
    """The parcel worker replays registrations and revisions alike, whichever side of the split they are on."""
    make_parcel(500, 0)  # registered before the split and never revised
    code = make_parcel(0, 0)["id"]
    revised_at = revise(code, square(10, 0))["ledger_seq"]
    make_parcel(200, 0)
    signer = app.extensions["sanquan"].signer
    with uow_factory(write=False) as uow:
        size = uow.session.scalar(select(func.max(LedgerEntry.seq)).where(LedgerEntry.log == COUNTY))
        for m in range(revised_at - 1, size):
            with _split_here(m):
                result = verify.verify_database(uow.session, COUNTY, public_key=signer.public_key,
                                                origin=signer.origin(COUNTY), workers=2)
            assert result.ok and "worker_seconds" in result.checks, (m, result.view())
