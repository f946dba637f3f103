"""Registry foundation: users, parties, parcels with versions, the ledger.

Beyond the tables: SQLite gets an R*Tree over current parcel boxes kept by
triggers; PostGIS a partial GiST index on current geometries. On both, a
trigger refuses UPDATE and DELETE on ledger entries.

Revision ID: eb0d78f15e85
Revises: 
Create Date: 2026-11-27 03:29:29.784767
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('collectives',
    sa.Column('code', sa.String(length=14), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_collectives'))
    )
    with op.batch_alter_table('collectives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collectives_county_code'), ['county_code'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_sha256'), ['sha256'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'key', name=op.f('pk_idempotency_records'))
    )
    op.create_table('ledger_entries',
    sa.Column('log', sa.String(length=6), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('log', 'seq', name=op.f('pk_ledger_entries'))
    )
    op.create_table('ledger_heads',
    sa.Column('log', sa.String(length=6), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('log', name=op.f('pk_ledger_heads'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=14), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("role IN ('admin','clerk','exchange','arbitrator','auditor')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_users_token_sha256'))
    )
    op.create_table('households',
    sa.Column('code', sa.String(length=18), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['collective_code'], ['collectives.code'], name=op.f('fk_households_collective_code_collectives')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_households'))
    )
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_households_collective_code'), ['collective_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_households_county_code'), ['county_code'], unique=False)

    op.create_table('parcels',
    sa.Column('code', sa.String(length=19), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collective_code'], ['collectives.code'], name=op.f('fk_parcels_collective_code_collectives')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_parcels'))
    )
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcels_collective_code'), ['collective_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_parcels_county_code'), ['county_code'], unique=False)

    op.create_table('parcel_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parcel_code', sa.String(length=19), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('valid_from', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_to', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('land_use', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('declared_area_m2', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('basic_farmland', sa.Boolean(), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('geom', app.db.Geometry(), nullable=False),
    sa.Column('minx', sa.Float(), nullable=False),
    sa.Column('miny', sa.Float(), nullable=False),
    sa.Column('maxx', sa.Float(), nullable=False),
    sa.Column('maxy', sa.Float(), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['parcel_code'], ['parcels.code'], name=op.f('fk_parcel_versions_parcel_code_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_versions'))
    )
    with op.batch_alter_table('parcel_versions', schema=None) as batch_op:
        batch_op.create_index('ix_parcel_versions_collective_current', ['collective_code', 'parcel_code'], unique=False, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.create_index('uq_parcel_versions_code_version', ['parcel_code', 'version'], unique=True)
        batch_op.create_index('uq_parcel_versions_current', ['parcel_code'], unique=True, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    op.create_table('persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_code', sa.String(length=18), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('sex', sa.String(length=6), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_code'], ['households.code'], name=op.f('fk_persons_household_code_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('id_number', name=op.f('uq_persons_id_number'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_household_code'), ['household_code'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('resolution_document_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('end_ground', sa.String(length=30), nullable=True),
    sa.Column('end_document_id', sa.Integer(), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('end_ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['collective_code'], ['collectives.code'], name=op.f('fk_memberships_collective_code_collectives')),
    sa.ForeignKeyConstraint(['end_document_id'], ['documents.id'], name=op.f('fk_memberships_end_document_id_documents')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_memberships_person_id_persons')),
    sa.ForeignKeyConstraint(['resolution_document_id'], ['documents.id'], name=op.f('fk_memberships_resolution_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_collective_code'), ['collective_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_memberships_open_person', ['person_id'], unique=True, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
    else:
        for statement in POSTGRES_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWNGRADE if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWNGRADE:
        op.execute(statement)
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_open_person', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index(batch_op.f('ix_memberships_person_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_county_code'))
        batch_op.drop_index(batch_op.f('ix_memberships_collective_code'))

    op.drop_table('memberships')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_household_code'))
        batch_op.drop_index(batch_op.f('ix_persons_county_code'))

    op.drop_table('persons')
    with op.batch_alter_table('parcel_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_parcel_versions_current', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index('uq_parcel_versions_code_version')
        batch_op.drop_index('ix_parcel_versions_collective_current', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    op.drop_table('parcel_versions')
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcels_county_code'))
        batch_op.drop_index(batch_op.f('ix_parcels_collective_code'))

    op.drop_table('parcels')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_households_county_code'))
        batch_op.drop_index(batch_op.f('ix_households_collective_code'))

    op.drop_table('households')
    op.drop_table('users')
    op.drop_table('ledger_heads')
    op.drop_table('ledger_entries')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_sha256'))
        batch_op.drop_index(batch_op.f('ix_documents_county_code'))

    op.drop_table('documents')
    with op.batch_alter_table('collectives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collectives_county_code'))

    op.drop_table('collectives')


SQLITE_UPGRADE = [
    # Bounding boxes of current parcel versions; exact predicates run in shapely.
    "CREATE VIRTUAL TABLE parcel_rtree USING rtree(id, minx, maxx, miny, maxy)",
    """CREATE TRIGGER parcel_versions_rtree_insert AFTER INSERT ON parcel_versions
       WHEN new.valid_to IS NULL BEGIN
         INSERT INTO parcel_rtree VALUES (new.id, new.minx, new.maxx, new.miny, new.maxy);
       END""",
    """CREATE TRIGGER parcel_versions_rtree_close AFTER UPDATE OF valid_to ON parcel_versions
       WHEN new.valid_to IS NOT NULL BEGIN
         DELETE FROM parcel_rtree WHERE id = new.id;
       END""",
    """CREATE TRIGGER parcel_versions_rtree_delete AFTER DELETE ON parcel_versions BEGIN
         DELETE FROM parcel_rtree WHERE id = old.id;
       END""",
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN
         SELECT RAISE(ABORT, 'ledger entries are append-only');
       END""",
    """CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN
         SELECT RAISE(ABORT, 'ledger entries are append-only');
       END""",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
    "DROP TRIGGER IF EXISTS ledger_entries_no_update",
    "DROP TRIGGER IF EXISTS parcel_versions_rtree_delete",
    "DROP TRIGGER IF EXISTS parcel_versions_rtree_close",
    "DROP TRIGGER IF EXISTS parcel_versions_rtree_insert",
    "DROP TABLE IF EXISTS parcel_rtree",
]
POSTGRES_UPGRADE = [
    "CREATE INDEX ix_parcel_versions_geom_current ON parcel_versions USING gist (geom) WHERE valid_to IS NULL",
    """CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$""",
    """CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_append_only()""",
    """CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()""",
]
POSTGRES_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
    "DROP FUNCTION IF EXISTS ledger_append_only()",
    "DROP INDEX IF EXISTS ix_parcel_versions_geom_current",
]
