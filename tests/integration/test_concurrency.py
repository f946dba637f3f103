"""Concurrent writers: codes stay in order and the ledger chain stays whole on both engines."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from app.audit.verify import verify_county
from app.auth.services import SYSTEM
from app.parties.services import create_collective, register_household
from tests.conftest import COLLECTIVE, COUNTY, id_number


def test_concurrent_households_get_consecutive_codes_and_one_chain(uow_factory):
    create_collective(uow_factory(), actor=SYSTEM, code=COLLECTIVE, name="一组")

    def register(i: int) -> str:
        head = {"name": f"户主{i}", "id_number": id_number(COUNTY, "19800101", 2 * i + 1)}
        return register_household(uow_factory(), actor=SYSTEM, collective_code=COLLECTIVE, head=head,
                                  members=[])["code"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(register, range(24)))
    assert sorted(codes) == [f"{COLLECTIVE}{n:04d}" for n in range(1, 25)]
    result = verify_county(uow_factory(write=False), "210681")
    assert result.ok and result.size == 25


def test_concurrent_overlapping_parcels_only_one_registered(uow_factory):
    from app.errors import RuleViolation
    from app.parcels.services import ParcelPolicy, register_parcel
    from tests.conftest import square

    create_collective(uow_factory(), actor=SYSTEM, code=COLLECTIVE, name="一组")
    create_collective(uow_factory(), actor=SYSTEM, code="21068110100102", name="二组")

    def register(i: int) -> str:
        collective = COLLECTIVE if i % 2 else "21068110100102"
        try:
            register_parcel(uow_factory(), actor=SYSTEM, policy=ParcelPolicy(), collective=collective,
                            kind="contract_land", land_use="cultivated", geometry=square(i * 0.5, 0))
            return "registered"
        except RuleViolation as e:
            return e.rule

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(register, range(12)))
    assert outcomes.count("registered") == 1
    assert outcomes.count("PARCEL_OVERLAP") == 11


def test_households_and_parcels_registered_together_in_one_collective_never_deadlock(uow_factory):
    """A household's registration locks its collective, then the county's log; a parcel's locks the log, then
    inserts a row that refers to the collective. Row locks are FOR NO KEY UPDATE, which a reference's check
    (FOR KEY SHARE) does not wait for: with plain FOR UPDATE, most of these deadlocked on PostgreSQL."""
    from app.parcels.services import ParcelPolicy, register_parcel
    from tests.conftest import square

    create_collective(uow_factory(), actor=SYSTEM, code=COLLECTIVE, name="一组")

    def register(i: int) -> str:
        if i % 2:
            head = {"name": f"户主{i}", "id_number": id_number(COUNTY, "19800101", 2 * i + 1)}
            return register_household(uow_factory(), actor=SYSTEM, collective_code=COLLECTIVE, head=head,
                                      members=[])["code"]
        return register_parcel(uow_factory(), actor=SYSTEM, policy=ParcelPolicy(), collective=COLLECTIVE,
                               kind="contract_land", land_use="cultivated", geometry=square(i * 60.0, 0))["id"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(register, range(40)))
    assert len(set(codes)) == 40
    result = verify_county(uow_factory(write=False), COUNTY)
    assert result.ok and result.size == 41
