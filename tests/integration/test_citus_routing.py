"""On a Citus cluster every statement of the registry's hot requests runs on one shard group: one county's.

Each request below runs with every statement it sends recorded; each is then planned again by the
coordinator (``EXPLAIN``, nothing executed) and its Citus plan's task count read. One task is a router plan: the
statement went to the one node that holds the county. A statement that fans out to every shard fails the test
with its text, which is how a hot path that lost its county predicate is found. On a plain PostgreSQL these skip.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import shapely
from sqlalchemy import event

from app import ids
from app.db import on_citus
from tests.conftest import COLLECTIVE, COUNTY, id_number, square

pytestmark = pytest.mark.postgis

TODAY = dt.date.today().isoformat()
#: statements that are no query of a table
_NOT_PLANNED = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|SHOW|COPY|SELECT pg_|SELECT 1\b)",
                          re.IGNORECASE)


@pytest.fixture
def cluster(app):
    engine = app.extensions["sanquan"].engine
    with engine.connect() as c:
        if not on_citus(c):
            pytest.skip("not a Citus cluster: `make test-citus` runs these against a coordinator with two workers")
    return engine


#: A plan that gathers rows on the coordinator and copies them out again: one shard group perhaps, but over a
#: second connection, which makes the transaction commit by two-phase commit.
GATHERED = "pull to coordinator"


def _tasks(connection, statement: str, params) -> int:
    """The most shards any Citus scan of ``statement``'s plan is sent to (0: no distributed table in it); a plan
    that gathers on the coordinator counts as every shard."""
    if isinstance(params, (list, tuple)):
        params = params[0] if params else {}
    plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", params or {}).scalars())
    if GATHERED in plan:
        return 999
    return max((int(n) for n in re.findall(r"Task Count: (\d+)", plan)), default=0)


class Recorder:
    """The statements the app's engine sends while a request runs."""

    def __init__(self, engine):
        self.engine, self.statements, self.planning, self.backends = engine, [], False, set()
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.planning:
            return
        self.backends.add(conn.connection.dbapi_connection.info.backend_pid)
        if not _NOT_PLANNED.match(statement):
            self.statements.append((statement, parameters))

    def fanned_out(self, label: str) -> list[tuple[str, int, str]]:
        self.planning = True
        try:
            with self.engine.connect() as c:
                found = [(label, _tasks(c, sql, params), sql) for sql, params in self.statements]
        finally:
            self.planning = False
        self.statements.clear()
        return [x for x in found if x[1] > 1]

    def two_phase_commits(self) -> set[str]:
        """The prepared transactions the coordinator has recorded and not yet cleaned up after, of every session:
        a test running beside this one commits some too, which :meth:`requester` tells apart by backend."""
        self.planning = True
        try:
            with self.engine.connect() as c:
                return set(c.exec_driver_sql("SELECT gid FROM pg_dist_transaction").scalars())
        finally:
            self.planning = False

    def own(self, gids: set[str]) -> set[str]:
        """Those of ``gids`` a backend of the recorded requests prepared: Citus names each
        ``citus_<group>_<coordinator backend pid>_<transaction>_<connection>``."""
        return {gid for gid in gids if int(gid.split("_")[2]) in self.backends}

    def requester(self, caller, fanned: list):
        """A function sending one request as ``caller``, adding to ``fanned`` its fanning statements, and the
        request itself when it committed by two-phase commit (more than one node written, or one twice)."""
        self.statements.clear()
        self.backends.clear()

        def request(label: str, method: str, url: str, body=None, status: int = 200, two_phase: bool = False) -> dict:
            before = self.two_phase_commits()
            r = caller.client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {caller.token}"})
            assert r.status_code == status, (label, r.get_json())
            if self.own(self.two_phase_commits() - before) and not two_phase:
                fanned.append((label, 2, "COMMIT (two-phase)"))
            fanned.extend(self.fanned_out(label))
            return r.get_json()
        return request

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.mark.parametrize("database_url", [pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True)
def test_every_statement_of_a_countys_hot_requests_goes_to_its_shard_group(cluster, clerk, make_household,
                                                                           make_parcel):
    a, b = make_household(), make_household()
    a1, a2 = make_parcel(100, 0)["id"], make_parcel(200, 0)["id"]
    right = clerk.post("/api/v1/rights", json={"type": "contract", "holder": a["code"], "start": "2018-01-01",
                                               "end": "2047-12-31", "parcels": [a1, a2]}).get_json()["id"]
    consent = {"signed_by_person_id": a["members"][0]["id"], "signed_on": TODAY, "voluntary": True}
    inside = shapely.geometry.shape(square(100, 0)).representative_point()
    recorder = Recorder(cluster)
    fanned: list[tuple[str, int, str]] = []
    try:
        request = recorder.requester(clerk, fanned)
        request("household", "GET", f"/api/v1/households/{a['code']}")
        request("parcel at a point", "GET", f"/api/v1/parcels?contains={inside.x},{inside.y}")
        request("right", "GET", f"/api/v1/rights/{right}")
        request("parcel", "GET", f"/api/v1/parcels/{a1}")
        request("register parcel", "POST", "/api/v1/parcels", {
            "collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
            "geometry": square(300, 0, 50)}, status=201)
        request("register household", "POST", f"/api/v1/collectives/{COLLECTIVE}/households", {
            "head": {"name": "赵一", "id_number": id_number(COUNTY, "19600101", 991), "sex": "male"}}, status=201,
                # its ID numbers go into id_numbers, a reference table: every node's copy, committed together
                two_phase=True)
        t = request("open transfer", "POST", "/api/v1/transfers", {
            "kind": "transfer", "right": right, "from": a["code"], "to": b["code"], "parcels": [a1],
            "price": "9000.00", "consent": consent}, status=201)
        url = f"/api/v1/transfers/{t['id']}"
        request("transfer", "GET", url)
        request("issuer consent", "POST", f"{url}/issuer-consent", {"decision": "granted"})
        request("payment", "POST", f"{url}/payments", {"amount": "9000.00", "paid_on": TODAY, "reference": "r"},
                status=201)
        request("completion", "POST", f"{url}/complete", {})
        request("ledger page", "GET", "/api/v1/ledger/210681?after=0&limit=20")
    finally:
        recorder.close()
    assert ids.key_of(t["id"]).county_code == "210681"
    assert fanned == [], "\n\n".join(f"{label}: {n} tasks\n{sql}" for label, n, sql in fanned)


@pytest.mark.parametrize("database_url", [pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True)
def test_the_desks_and_the_committees_hot_requests_stay_in_the_county(cluster, callers, clerk, make_household,
                                                                      make_parcel):
    a, b = make_household(), make_household()
    a1 = make_parcel(100, 0)["id"]
    right = clerk.post("/api/v1/rights", json={"type": "contract", "holder": a["code"], "start": "2018-01-01",
                                               "end": "2047-12-31", "parcels": [a1]}).get_json()["id"]
    listed_on = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    bid_on = (dt.date.today() - dt.timedelta(days=39)).isoformat()
    consent = {"signed_by_person_id": a["members"][0]["id"], "signed_on": listed_on, "voluntary": True}
    recorder = Recorder(cluster)
    fanned: list[tuple[str, int, str]] = []
    try:
        desk = recorder.requester(callers["exchange"], fanned)
        listing = desk("list a right", "POST", "/api/v1/listings", {
            "right": right, "kind": "transfer", "parcels": [a1], "asking_price": "10000.00", "listed_on": listed_on,
            "consent": consent}, status=201)
        desk("a listing", "GET", f"/api/v1/listings/{listing['id']}")
        desk("bid", "POST", f"/api/v1/listings/{listing['id']}/bids", {
            "bidder": b["code"], "amount": "10500.00", "bid_on": bid_on}, status=201)
        desk("notice board", "GET", "/api/v1/listings?limit=50")
        committee = recorder.requester(callers["arbitrator"], fanned)
        case = committee("open a case", "POST", "/api/v1/disputes", {
            "procedure": "arbitration", "category": "infringement",
            "applicant": {"kind": "household", "code": a["code"]},
            "respondent": {"kind": "household", "code": b["code"]},
            "subjects": {"rights": [right], "parcels": [a1]}, "claims": "被申请人占用承包地，请求停止侵害",
            "knew_of_harm_on": TODAY, "received_on": TODAY}, status=201)
        committee("a case", "GET", f"/api/v1/disputes/{case['id']}")
        committee("accept", "POST", f"/api/v1/disputes/{case['id']}/accept", {"on": TODAY})
        committee("dashboard", "GET", "/api/v1/disputes?overdue=true&within=14")
    finally:
        recorder.close()
    assert fanned == [], "\n\n".join(f"{label}: {n} tasks\n{sql}" for label, n, sql in fanned)
