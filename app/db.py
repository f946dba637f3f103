"""Database plumbing: declarative base, engines for both engines, the geometry
column type and the unit of work every service writes through."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Generator, Sequence
from contextvars import ContextVar
from itertools import count, islice
from typing import Any, cast

import numpy as np
import orjson
import shapely
from geoalchemy2 import Geometry as PostgisGeometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import (
    ARRAY,
    ClauseElement,
    ColumnElement,
    Executable,
    ForeignKeyConstraint,
    Insert,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Date, DateTime, TypeDecorator

STORAGE_SRID = 4490
#: Largest id an integer primary key holds on every engine (int4 on PostgreSQL).
MAX_ID = 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def county_key(key: str, *, number: bool | None = None) -> PrimaryKeyConstraint:
    """A county table's primary key, which holds its county as a distributed deployment needs (docs/scaling.md):
    a row's number (``number``; by default a key named ``id``) after its county (``app.ids``), or a code (which
    begins with the county's) before it, so lookups and ranges by code keep the index's lead."""
    if key == "id" if number is None else number:
        return PrimaryKeyConstraint("county_code", key)
    return PrimaryKeyConstraint(key, "county_code")


def county_ref(column: str, referred: str) -> ForeignKeyConstraint:
    """A reference to a row of the same county: ``(column, county_code)`` to ``referred`` (``table.column``) and
    that table's ``county_code``."""
    table = referred.partition(".")[0]
    return ForeignKeyConstraint([column, "county_code"], [referred, f"{table}.county_code"])


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware timestamps on both engines (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Geometry(TypeDecorator):
    """A shapely MultiPolygon in EPSG:4490.

    PostGIS: a real ``geometry(MultiPolygon, 4490)`` column (QGIS opens it).
    SQLite: ISO WKB in a BLOB; its bounding box lives in sibling columns that
    an R*Tree indexes (see the migration), exact predicates run in shapely.
    """

    impl = LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks; the GiST index is made by the migration.
    geometry_type = "MULTIPOLYGON"
    srid = STORAGE_SRID
    spatial_index = False
    use_N_D_index = False

    def load_dialect_impl(self, dialect):
        # GeoAlchemy2's DDL hooks ask with dialect=None whether this is spatial.
        if dialect is None or dialect.name == "postgresql":
            return PostgisGeometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False)
        return LargeBinary()

    def process_bind_param(self, value: Any, dialect):
        return None if value is None else self.bind_many([value], dialect)[0]

    @staticmethod
    def bind_many(values: list, dialect) -> list:
        """What a column of geometries is stored as, encoded by shapely in one call (bulk writes bind a whole
        column; one value is a column of one). A polygon is stored as a one-part multipolygon; PostgreSQL
        takes hex EWKB, which goes through ST_GeomFromEWKT bit for bit (no WKT rounding); SQLite WKB."""
        geoms = np.asarray(values, dtype=object)
        single = shapely.get_type_id(geoms) == 3  # Polygon (None is -1)
        geoms[single] = shapely.multipolygons(geoms[single].reshape(-1, 1))
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), hex=True, include_srid=True).tolist()
        return shapely.to_wkb(geoms).tolist()

    def process_result_value(self, value: Any, dialect):
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = value.data
        return shapely.from_wkb(bytes(value) if not isinstance(value, str) else value)


def _sqlite_pragmas(dbapi_connection, _record):
    # Let SQLAlchemy's "begin" event below issue BEGIN itself, so writes can
    # take the database lock up front (BEGIN IMMEDIATE) instead of failing
    # later with "database is locked" when a read lock must be upgraded.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # the ledger must survive power loss
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn):
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def json_text(value: Any) -> str:
    """JSON columns' text, written by orjson (the json module's encoder was a tenth of a bulk import)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs) -> Engine:
    """Build an engine for ``url`` with the house settings of its dialect."""
    kwargs.setdefault("json_serializer", json_text)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def refresh_statistics(session: Session) -> None:
    """Fresh planner statistics after a bulk load, as a DBA would gather them: without them SQLite plans a
    summary over 200,000 parcels on the narrowest index and reads every row (190 ms instead of 80).

    SQLite samples each index (``analysis_limit``: milliseconds at any size); PostgreSQL's ``ANALYZE``
    samples a bounded number of rows per table (autovacuum would do the same, later). Part of the
    session's transaction: the caller commits.

    On PostgreSQL only the tables of the registry's schema are named: a bare ``ANALYZE`` takes every table of the
    database, other schemas' included, and holds each one's lock until the commit, which deadlocked with
    another schema's ``ALTER TABLE`` (two test workers, each in a schema of its own, did).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
        return
    tables = connection.exec_driver_sql("SELECT quote_ident(tablename) FROM pg_tables "
                                        "WHERE schemaname = current_schema() ORDER BY tablename").scalars().all()
    if on_citus(connection):  # one connection a node: reference tables others refer to are among them
        connection.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    if tables:
        connection.exec_driver_sql("ANALYZE " + ", ".join(tables))


def on_citus(connection: Any) -> bool:
    """Whether ``connection``'s database is a Citus cluster's coordinator (asked once per engine)."""
    engine = connection.engine
    found = _CITUS.get(engine.url)
    if found is None:
        found = _CITUS[engine.url] = connection.dialect.name == "postgresql" and connection.exec_driver_sql(
            "SELECT 1 FROM pg_extension WHERE extname = 'citus'").scalar() is not None
    return found


_CITUS: dict[Any, bool] = {}


def make_session_factory(engine: Engine, info: dict | None = None) -> sessionmaker[Session]:
    """Sessions for ``engine``; ``info`` is copied into each session's ``info`` (e.g. the ledger signer)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)
    if engine.dialect.name == "sqlite":
        event.listen(factory, "before_flush", _number_county_rows)
    return factory


def _numbered_table(table: Table) -> bool:
    """Whether ``table``'s rows are numbered within their county (its key is ``(county_code, id)``)."""
    return [c.name for c in table.primary_key.columns] == ["county_code", "id"]


def _numbered(obj: Any) -> bool:
    """Whether ``obj`` is a row numbered within its county still unnumbered."""
    return _numbered_table(obj.__table__) and obj.id is None


def _numbered_rows(session: Session, table: Table, rows: list[dict]) -> list[dict]:
    """SQLite: ``rows`` of a county table, each with its number (:func:`allocate_ids`), in their order."""
    counties: dict[str, int] = {}
    for row in rows:
        counties[row["county_code"]] = counties.get(row["county_code"], 0) + 1
    numbers = {county: iter(allocate_ids(session, table, n, county)) for county, n in counties.items()}
    return [row | {"id": next(numbers[row["county_code"]])} for row in rows]


def _number_county_rows(session: Session, _context: Any, _instances: Any) -> None:
    """SQLite: number the county rows a flush inserts, in the order they were added (PostgreSQL draws the
    numbers from each table's sequence). A county's next number is one past its largest, read once per table and
    county from the primary key's index; SQLite's one writer at a time (``BEGIN IMMEDIATE``) keeps two flushes
    from taking the same."""
    new = sorted((o for o in session.new if _numbered(o)), key=lambda o: inspect(o).insert_order)
    last: dict[tuple[Table, str], int] = {}
    for obj in new:
        table = obj.__table__
        if obj.county_code is None:
            raise ValueError(f"a new row of {table.name} names no county: its number is its county's")
        key = (table, obj.county_code)
        if key not in last:
            last[key] = session.connection().execute(
                select(func.coalesce(func.max(table.c.id), 0)).where(table.c.county_code == obj.county_code)
            ).scalar_one()
        last[key] += 1
        obj.id = last[key]


#: What the current request joins to every write transaction it commits, in that transaction (the
#: ``Idempotency-Key`` claim of :mod:`app.idempotency`): ``join(session)`` just before the commit,
#: ``committed()`` once it has. Unset outside a request that carries one.
commit_hook: ContextVar = ContextVar("sanquan_commit_hook", default=None)


class UnitOfWork:
    """One database transaction: ``with uow: ...; uow.commit()``.

    Leaving the block without ``commit()`` rolls everything back, ledger
    entries included, so a refused request never leaves half a change.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = True):
        self._factory = session_factory
        self._write = write
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The unit's session, inside its ``with`` block only."""
        if self._session is None:
            raise RuntimeError("a unit of work's session is used inside its with block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = session = self._factory()
        if self._write and session.get_bind().dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return self

    def __exit__(self, *exc: object) -> None:
        # close() rolls back an uncommitted transaction and detaches objects
        # without expiring them, so views built from them stay readable.
        self.session.close()
        self._session = None

    def commit(self) -> None:
        hook = commit_hook.get() if self._write else None
        if hook is not None:
            hook.join(self.session)
        self.session.commit()
        if hook is not None:
            hook.committed()

    def read(self, statement: Executable, params: dict[str, Any]) -> Sequence[Row]:
        """The rows of one read-only statement, outside the unit's transaction (use it instead of ``with``).

        One statement sees one snapshot on its own, so it needs no transaction: on PostgreSQL it runs in
        autocommit, which saves the ``BEGIN`` and ``ROLLBACK`` round trips (about 0.4 ms of a 1 ms read); on
        SQLite it runs on a plain connection, without a session. A read of several statements that must agree
        takes a unit of work's transaction instead.
        """
        with reading_engine(self._factory.kw["bind"]).connect() as connection:
            return connection.execute(statement, params).all()

    def another(self, *, write: bool = True) -> UnitOfWork:
        """A separate unit of work on the same database (its own transaction)."""
        return UnitOfWork(self._factory, write=write)

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name


#: Below this many rows a plain INSERT costs less than setting up a COPY.
COPY_FROM_ROWS = 50


def bulk_insert(session: Session, table: Any, rows: list[dict]) -> None:
    """Insert many rows by the engine's fast path, inside the session's transaction.

    PostgreSQL: one ``COPY … FROM STDIN``; SQLite: one ``executemany`` of the driver's own. Values go
    through each column's bind processing a column at a time, so geometries, JSON and timestamps are written
    as the ORM would write them, without SQLAlchemy's work per row (a third of a bulk import). Fewer than 50
    rows go in as a plain INSERT. Every row must carry the same keys; columns not given take their server
    default (none of them may need a Python-side default).

    Args:
        session: the unit of work's session.
        table: a ``Table`` or a mapped class.
        rows: column name → value, one dict per row.
    """
    if not rows:
        return
    table = getattr(table, "__table__", table)
    connection = session.connection()
    if connection.dialect.name == "sqlite" and "id" not in rows[0] and _numbered_table(table):
        rows = _numbered_rows(session, table, rows)
    if len(rows) < COPY_FROM_ROWS:
        connection.execute(_insert_into(table), rows)
        return
    dialect = connection.dialect
    names = list(rows[0])
    values = [_bound([row[name] for row in rows], table.c[name].type, dialect) for name in names]
    quoted = ", ".join(f'"{n}"' for n in names)
    if dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection  # psycopg's own connection, for its COPY
        with raw.cursor().copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for record in zip(*values, strict=True):
                copy.write_row(record)
    else:
        marks = ", ".join("?" * len(names))
        connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})',
                                   list(zip(*values, strict=True)))


@functools.lru_cache(maxsize=16)
def reading_engine(engine: Engine) -> Engine:
    """The engine single-statement reads go through (:meth:`UnitOfWork.read`), sharing ``engine``'s pool:
    autocommit on PostgreSQL, ``engine`` itself on SQLite."""
    return engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine


@functools.cache
def _insert_into(table: Table) -> Insert:
    """A table's plain ``INSERT``, built once (a few rows per request go in by it)."""
    return table.insert()


def _bound(column: list, kind: Any, dialect) -> list:
    """A column's values as its type's bind processing makes them, worked out once per distinct timestamp."""
    if isinstance(kind, Geometry):
        return Geometry.bind_many(column, dialect)
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return column
    if isinstance(kind, (UTCDateTime, DateTime, Date)):  # a bulk write's rows share a few timestamps and dates
        bound = {v: process(v) for v in dict.fromkeys(column)}
        return [bound[v] for v in column]
    return [process(v) for v in column]


def one_of(session: Session, column: Any, values: Sequence) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter, however many there are.

    PostgreSQL: ``= ANY(array)``; SQLite: ``IN (SELECT value FROM json_each(…))``. Both probe the column's
    index once per value; an expanded ``IN`` list of thousands of parameters cost more to build and parse
    than the lookup itself (half a package's registry check on PostgreSQL).
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = func.json_each(json_text(list(values))).table_valued("value")
    return column.in_(select(listed.c.value))


def county_row(session: Session, model: Any, key: Any, *, lock: bool = False) -> Any:
    """The row of ``model`` that ``key`` (an :class:`app.ids.RowKey`) names, or ``None``.

    ``lock`` takes the row's lock (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL, which leaves the rows that refer to
    it free to be written; SQLite's writer holds the database).
    """
    return session.get(model, (key.county_code, key.id), with_for_update={"key_share": True} if lock else None)


def coded(session: Session, model: Any, code: str, **options: Any) -> Any:
    """The row of ``model`` (a collective, household, parcel or right) that ``code`` names, or ``None``: its key
    is the code and the county the code begins with. ``options`` are :meth:`Session.get`'s."""
    return session.get(model, (code, code[:6]), **options)


def new_number(session: Session, table: Any, county: str) -> dict[str, int]:
    """What a one-row ``INSERT`` of a county table adds to name its row: nothing on PostgreSQL (the column's
    sequence numbers it), ``{"id": n}`` on SQLite (:func:`allocate_ids`)."""
    if session.get_bind().dialect.name == "postgresql":
        return {}
    return {"id": allocate_ids(session, table, 1, county)[0]}


def allocate_ids(session: Session, table: Any, n: int, county: str) -> list[int]:
    """Reserve ``n`` new numbers of ``county``'s rows of ``table`` (a county table) for a bulk insert.

    PostgreSQL draws them from the column's sequence; SQLite, whose writers are
    serialised by ``BEGIN IMMEDIATE``, continues after the county's largest.
    """
    table = getattr(table, "__table__", table)
    if n == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return list(connection.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {int(n)})"
        ).scalars())
    start = connection.execute(select(func.coalesce(func.max(table.c.id), 0))
                               .where(table.c.county_code == county)).scalar_one()
    return list(range(start + 1, start + n + 1))


_CURSORS = count()


def driver_rows(session: Session, statement: ClauseElement | str, params: dict | None = None, *,
                batch: int = 5000, whole: bool = False) -> Generator[tuple, None, None]:
    """Rows of ``statement`` straight from the driver, ``batch`` at a time.

    For reading whole tables (verification reads millions of rows): the DB-API's
    tuples cost a fraction of SQLAlchemy's rows, with no type processing, so
    values come as the driver gives them (SQLite: dates as ISO text, numerics as
    numbers). PostgreSQL reads in binary (bytea arrives as bytes, not hex)
    through a server-side cursor, which other queries may interleave with and
    which is closed even when the caller stops early.

    Args:
        statement: a Core statement, or SQL text with ``:name`` parameters given in ``params``.
        whole: no other query runs until these rows are read (or dropped): PostgreSQL then
            streams the result, twice as fast as fetching from a server-side cursor.
    """
    for rows in driver_batches(session, statement, params, batch=batch, whole=whole):
        yield from rows


def driver_batches(session: Session, statement: ClauseElement | str, params: dict | None = None, *,
                   batch: int = 5000, whole: bool = False) -> Generator[list[tuple], None, None]:
    """:func:`driver_rows` a list of ``batch`` rows at a time, for loops that count every microsecond."""
    sql, args = _driver_sql(session, statement, params)
    connection = session.connection()
    raw: Any = connection.connection.driver_connection  # the driver's own: psycopg's or sqlite3's
    if connection.dialect.name != "postgresql":
        cur = raw.cursor()
    elif whole:
        # The server sends rows while this process works on the last ones (a server-side cursor makes
        # each wait for the other). Stopping early would cancel the query and the transaction with it,
        # so what the caller leaves is read and dropped.
        with raw.cursor(binary=True) as cur:
            rows = cur.stream(sql, args, size=batch)
            try:
                while chunk := list(islice(rows, batch)):
                    yield chunk
            finally:
                for _ in rows:
                    pass
        return
    else:
        cur = raw.cursor(name=f"driver_rows_{next(_CURSORS)}", binary=True)
    try:
        cur.execute(sql, args)
        while rows := cur.fetchmany(batch):
            yield rows
    finally:
        cur.close()


def _driver_sql(session: Session, statement: ClauseElement | str, params: dict | None) -> tuple[str, Any]:
    """The SQL and parameters of ``statement`` in the driver's own parameter style."""
    dialect = session.get_bind().dialect
    if isinstance(statement, str):
        sql, args = statement, dict(params or {})
        if dialect.name == "postgresql":
            for name in args:
                sql = sql.replace(f":{name}", f"%({name})s")
        return sql, args
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))  # a statement, not DDL: the SQL compiler
    return compiled.string, (tuple(compiled.params[name] for name in compiled.positiontup)
                             if compiled.positiontup is not None else compiled.params)
