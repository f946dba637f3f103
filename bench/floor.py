"""The floor under the registry's request rates: the smallest Flask app that touches the same database.

``python -m bench.ratio`` serves it beside the bare app and the registry, with the same gunicorn settings and
client, to show what any request that reads or writes the registry's database costs before the registry does
anything of its own:

- ``GET /floor/households/<code>``: one indexed ``SELECT`` of a household row (in autocommit on PostgreSQL,
  as the registry's one-statement reads), written out by orjson.
- ``POST /floor/writes``: one transaction inserting one row into a scratch table and committing it, with the
  registry's own connection settings (on SQLite: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``).

No authentication, no ORM, no schema, no ledger: each request takes a connection from the registry's engine
(same pool, same pragmas) and sends its statement to the driver as text.
"""
from __future__ import annotations

import os

import orjson
from flask import Flask, Response
from sqlalchemy.exc import DBAPIError

from app.db import make_engine, reading_engine

app = Flask(__name__)
_engine = make_engine(os.environ["SANQUAN_DATABASE_URL"])
_sqlite = _engine.dialect.name == "sqlite"
_mark = "?" if _sqlite else "%s"
#: reads run as ``UnitOfWork.read`` runs them (autocommit on PostgreSQL: no BEGIN and ROLLBACK round trips)
_reader = reading_engine(_engine)
_READ = f"SELECT code, collective_code, county_code, address FROM households WHERE code = {_mark}"
_WRITE = f"INSERT INTO bench_floor (body) VALUES ({_mark})"


try:  # each gunicorn worker imports this; on PostgreSQL two simultaneous creations can collide
    with _engine.begin() as c:
        key = "INTEGER PRIMARY KEY" if _sqlite else "BIGSERIAL PRIMARY KEY"
        c.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS bench_floor (id {key}, body TEXT NOT NULL)")
except DBAPIError:
    with _engine.connect() as c:  # the other worker made it
        c.exec_driver_sql("SELECT 1 FROM bench_floor LIMIT 1")


@app.get("/api/v1/health")
def health():
    return {"status": "ok"}


@app.get("/floor/households/<code>")
def household(code: str):
    with _reader.connect() as conn:  # as the registry's one-statement reads (``UnitOfWork.read``)
        row = conn.exec_driver_sql(_READ, (code,)).first()
    if row is None:
        return Response(b'{"error":"not found"}', 404, mimetype="application/json")
    body = dict(zip(("code", "collective_code", "county_code", "address"), row, strict=True))
    return Response(orjson.dumps(body), mimetype="application/json")


@app.post("/floor/writes")
def write():
    conn = _engine.raw_connection()
    cur = conn.cursor()
    if _sqlite:
        cur.execute("BEGIN IMMEDIATE")
    cur.execute(_WRITE, ('{"kind":"floor"}',))
    if _sqlite:
        cur.execute("COMMIT")
    else:
        conn.commit()
    conn.close()
    return Response(b'{"status":"ok"}', 201, mimetype="application/json")
