"""Every county table is keyed by its county: primary keys, unique indexes and foreign keys hold county_code.

A distributed deployment places each county's rows together, on one shard group (docs/scaling.md): Citus
distributes a table on ``county_code`` only if every primary key and unique index holds that column, and keeps
a foreign key between two such tables only if both sides name it. So every county table's key becomes
``(county_code, id)`` or ``(code, county_code)``, each unique index ends with ``county_code``, and each
reference from one county table to another is ``(<column>, county_code)``: a row refers only to rows of its
own county, which the database now checks.

Integer keys are numbers within the county (:mod:`app.ids`): PostgreSQL keeps drawing them from each table's
sequence; SQLite, which has no sequence for a two-column key, numbers a county's rows itself. Its R*Tree of
current parcel boxes is keyed by the version's rowid from here on (a version's number is unique only within
its county).

SQLite rebuilds each table (its ALTER TABLE changes no key): the migration runs with foreign keys off and
checks them all before it commits (migrations/env.py), as SQLite's documented procedure for table changes
does.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 03:00:00
"""
import warnings

from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

#: each county table's key: a number (``id``, but a right's id, which is a code) follows its county; a code (a
#: right's id, a certificate's number, a hold's key) keeps its place before the county, so lookups and ranges
#: by code still lead the index
KEYS = {
    'collectives': 'code', 'households': 'code', 'persons': 'id', 'documents': 'id', 'memberships': 'id',
    'parcels': 'code', 'parcel_versions': 'id', 'rights': 'id', 'right_parcels': 'id', 'right_shares': 'id',
    'share_plans': 'id', 'house_disposals': 'id', 'certificates': 'number', 'settlements': 'id',
    'transfers': 'id', 'transfer_parcels': 'id', 'transfer_payments': 'id', 'management_rights': 'id',
    'management_right_parcels': 'id', 'transfer_holds': 'key', 'freezes': 'id', 'disputes': 'id',
    'listings': 'id', 'listing_bids': 'id',
}

#: every reference from one county table to another: (table, column, referred table)
REFERENCES = (
    ('households', 'collective_code', 'collectives'),
    ('parcels', 'collective_code', 'collectives'),
    ('share_plans', 'collective_code', 'collectives'),
    ('persons', 'household_code', 'households'),
    ('memberships', 'collective_code', 'collectives'),
    ('memberships', 'person_id', 'persons'),
    ('memberships', 'resolution_document_id', 'documents'),
    ('memberships', 'end_document_id', 'documents'),
    ('parcel_versions', 'parcel_code', 'parcels'),
    ('rights', 'holder_code', 'households'),
    ('rights', 'approval_document_id', 'documents'),
    ('right_parcels', 'right_id', 'rights'),
    ('right_parcels', 'parcel_code', 'parcels'),
    ('right_shares', 'right_id', 'rights'),
    ('house_disposals', 'household_code', 'households'),
    ('house_disposals', 'document_id', 'documents'),
    ('certificates', 'right_id', 'rights'),
    ('settlements', 'person_id', 'persons'),
    ('transfers', 'right_id', 'rights'),
    ('transfers', 'counter_right_id', 'rights'),
    ('transfers', 'from_household', 'households'),
    ('transfers', 'to_household', 'households'),
    ('transfers', 'consent_person_id', 'persons'),
    ('transfers', 'consent_document_id', 'documents'),
    ('transfer_parcels', 'transfer_id', 'transfers'),
    ('transfer_parcels', 'parcel_code', 'parcels'),
    ('transfer_parcels', 'right_id', 'rights'),
    ('transfer_payments', 'transfer_id', 'transfers'),
    ('management_rights', 'transfer_id', 'transfers'),
    ('management_rights', 'contract_right_id', 'rights'),
    ('management_rights', 'holder_household', 'households'),
    ('management_right_parcels', 'management_right_id', 'management_rights'),
    ('management_right_parcels', 'parcel_code', 'parcels'),
    ('listings', 'right_id', 'rights'),
    ('listings', 'holder_code', 'households'),
    ('listings', 'consent_person_id', 'persons'),
    ('listings', 'consent_document_id', 'documents'),
    ('listings', 'transfer_id', 'transfers'),
    ('listing_bids', 'listing_id', 'listings'),
    ('listing_bids', 'bidder_household', 'households'),
    ('transfer_holds', 'transfer_id', 'transfers'),
    ('transfer_holds', 'listing_id', 'listings'),
)

_OPEN = 'valid_to IS NULL'
#: unique indexes: (name, table, columns before county_code, partial-index condition)
UNIQUE_INDEXES = (
    ('uq_memberships_open_person', 'memberships', ['person_id'], _OPEN),
    ('uq_parcel_versions_code_version', 'parcel_versions', ['parcel_code', 'version'], None),
    ('uq_parcel_versions_current', 'parcel_versions', ['parcel_code'], _OPEN),
    ('uq_rights_holder_type_open', 'rights', ['holder_code', 'type'], _OPEN),
    ('uq_right_parcels_open_parcel', 'right_parcels', ['parcel_code'], _OPEN),
    ('uq_share_plans_open_collective', 'share_plans', ['collective_code'], _OPEN),
    ('uq_management_rights_registration_number', 'management_rights', ['registration_number'], None),
)
#: unique constraints (not indexes): (name, table, columns before county_code)
UNIQUE_CONSTRAINTS = (('uq_persons_id_number', 'persons', ['id_number']),)

#: SQLite's R*Tree of current parcel boxes, by the version's rowid (a version's id is its county's number)
RTREE_BY_ROWID = (
    """CREATE TRIGGER parcel_versions_rtree_insert AFTER INSERT ON parcel_versions
       WHEN new.valid_to IS NULL BEGIN
         INSERT INTO parcel_rtree VALUES (new.rowid, new.minx, new.maxx, new.miny, new.maxy);
       END""",
    """CREATE TRIGGER parcel_versions_rtree_close AFTER UPDATE OF valid_to ON parcel_versions
       WHEN new.valid_to IS NOT NULL BEGIN
         DELETE FROM parcel_rtree WHERE id = new.rowid;
       END""",
    """CREATE TRIGGER parcel_versions_rtree_delete AFTER DELETE ON parcel_versions BEGIN
         DELETE FROM parcel_rtree WHERE id = old.rowid;
       END""",
)
RTREE_BY_ID = tuple(t.replace('new.rowid', 'new.id').replace('old.rowid', 'old.id') for t in RTREE_BY_ROWID)
RTREE_TRIGGERS = ('parcel_versions_rtree_insert', 'parcel_versions_rtree_close', 'parcel_versions_rtree_delete')


def _fk_name(table: str, column: str, referred: str) -> str:
    # as the naming convention made it (PostgreSQL shortens a name past 63 bytes the same way each time)
    return op.f(f'fk_{table}_{column}_{referred}')


def _with_county(county: bool, columns: list[str]) -> list[str]:
    """A unique index's columns, the county last (lookups by the others alone keep their index)."""
    return [*columns, 'county_code'] if county else columns


def _primary_key(county: bool, table: str) -> list[str]:
    key = KEYS[table]
    if not county:
        return [key]
    return ['county_code', key] if key == 'id' and table != 'rights' else [key, 'county_code']


def _indexes(county: bool, create: bool) -> None:
    for name, table, columns, where in UNIQUE_INDEXES:
        if not create:
            op.drop_index(name, table_name=table)
            continue
        condition = {} if where is None else {'sqlite_where': sa.text(where), 'postgresql_where': sa.text(where)}
        op.create_index(name, table, _with_county(county, columns), unique=True, **condition)


def _rekey_postgresql(county: bool) -> None:
    for table, column, referred in REFERENCES:
        op.drop_constraint(_fk_name(table, column, referred), table, type_='foreignkey')
    for name, table, _ in UNIQUE_CONSTRAINTS:
        op.drop_constraint(name, table, type_='unique')
    _indexes(county, create=False)
    for table in KEYS:
        op.drop_constraint(op.f(f'pk_{table}'), table, type_='primary')
        op.create_primary_key(op.f(f'pk_{table}'), table, _primary_key(county, table))
    for name, table, columns in UNIQUE_CONSTRAINTS:
        op.create_unique_constraint(name, table, _with_county(county, columns))
    _indexes(county, create=True)
    for table, column, referred in REFERENCES:
        op.create_foreign_key(_fk_name(table, column, referred), table, referred,
                              [column, *(['county_code'] if county else [])],
                              [KEYS[referred], *(['county_code'] if county else [])])


def _rekey_sqlite(county: bool) -> None:
    for name in RTREE_TRIGGERS:
        op.execute(f'DROP TRIGGER {name}')
    _indexes(county, create=False)
    references: dict[str, list[tuple[str, str]]] = {}
    for table, column, referred in REFERENCES:
        references.setdefault(table, []).append((column, referred))
    for table in KEYS:
        with warnings.catch_warnings(), op.batch_alter_table(table, recreate='always') as batch:
            # the copy's columns still flag the old key; the constraint below gives the new one, which SQLAlchemy
            # takes (and says so)
            warnings.filterwarnings('ignore', message=r"Table '_alembic_tmp_\w+' specifies columns",
                                    category=sa.exc.SAWarning)
            for column, referred in references.get(table, []):
                batch.drop_constraint(_fk_name(table, column, referred), type_='foreignkey')
            for name, t, _ in UNIQUE_CONSTRAINTS:
                if t == table:
                    batch.drop_constraint(name, type_='unique')
            batch.create_primary_key(op.f(f'pk_{table}'), _primary_key(county, table))
            for name, t, columns in UNIQUE_CONSTRAINTS:
                if t == table:
                    batch.create_unique_constraint(name, _with_county(county, columns))
            for column, referred in references.get(table, []):
                batch.create_foreign_key(_fk_name(table, column, referred), referred,
                                         [column, *(['county_code'] if county else [])],
                                         [KEYS[referred], *(['county_code'] if county else [])])
    _indexes(county, create=True)
    # the rebuilt parcel_versions has new rowids: the R*Tree is filled again from the current versions
    by = 'rowid' if county else 'id'
    op.execute('DELETE FROM parcel_rtree')
    op.execute(f'INSERT INTO parcel_rtree SELECT {by}, minx, maxx, miny, maxy FROM parcel_versions '
               'WHERE valid_to IS NULL')
    for trigger in RTREE_BY_ROWID if county else RTREE_BY_ID:
        op.execute(trigger)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rekey_sqlite(county=True)
    else:
        _rekey_postgresql(county=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rekey_sqlite(county=False)
    else:
        _rekey_postgresql(county=False)
