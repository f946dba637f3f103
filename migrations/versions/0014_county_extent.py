"""The longitudes a county's current parcels reach, found in two index probes.

A new or corrected parcel must lie in its county's 3-degree zones (PARCEL_IMPLAUSIBLE, reason
``outside_county_zone``); the westmost and eastmost current parcel of the county are read from these
partial indexes instead of a scan of the county's versions.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_CURRENT = sa.text('valid_to IS NULL')


def upgrade() -> None:
    for edge in ('minx', 'maxx'):
        op.create_index(f'ix_parcel_versions_county_{edge}', 'parcel_versions', ['county_code', edge],
                        unique=False, sqlite_where=_CURRENT, postgresql_where=_CURRENT)


def downgrade() -> None:
    for edge in ('minx', 'maxx'):
        op.drop_index(f'ix_parcel_versions_county_{edge}', table_name='parcel_versions')
