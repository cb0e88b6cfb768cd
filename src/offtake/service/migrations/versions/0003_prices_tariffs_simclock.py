"""region prices, tariff designs per site, the sandbox clock

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

* ``region_prices``: energy price per region over a wall-clock interval [PKR/kWh],
  ``forecast`` or ``actual`` (``POST /api/v1/prices``).
* ``sites.tariff_design`` (``flat``, the default for existing rows, or
  ``surplus_indexed``), ``sites.tariff_adder_pkr_per_kwh`` (default 0) and
  ``sites.tariff_floor_pkr_per_kwh`` (NULL: no floor).
* ``ledger_entries.price_pkr_per_kwh`` / ``price_source``: the unit price an energy entry
  was charged at and where it came from (NULL on rows written before this revision).
* ``invoices.tariff_design`` (``flat`` for existing rows).
* ``sim_clock``: one row, the sandbox's simulated clock (used only with
  ``OFFTAKE_SANDBOX_CLOCK=1``).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('region_prices',
    sa.Column('price_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('region_id', sa.String(length=32), nullable=False),
    sa.Column('interval_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('interval_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('price_pkr_per_kwh', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('posted_by', sa.String(length=64), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.region_id'], ),
    sa.PrimaryKeyConstraint('price_id')
    )
    with op.batch_alter_table('region_prices', schema=None) as batch_op:
        batch_op.create_index('ix_price_region_time', ['region_id', 'interval_start',
                                                       'interval_end'], unique=False)
    op.create_table('sim_clock',
    sa.Column('clock_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('wall_origin', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sim_origin', sa.DateTime(timezone=True), nullable=False),
    sa.Column('speed', sa.Float(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('clock_id')
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tariff_design', sa.String(length=16), nullable=False,
                                      server_default='flat'))
        batch_op.add_column(sa.Column('tariff_adder_pkr_per_kwh', sa.Float(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('tariff_floor_pkr_per_kwh', sa.Float(), nullable=True))
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_pkr_per_kwh', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('price_source', sa.String(length=16), nullable=True))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tariff_design', sa.String(length=16), nullable=False,
                                      server_default='flat'))


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('tariff_design')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('price_source')
        batch_op.drop_column('price_pkr_per_kwh')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('tariff_floor_pkr_per_kwh')
        batch_op.drop_column('tariff_adder_pkr_per_kwh')
        batch_op.drop_column('tariff_design')
    op.drop_table('sim_clock')
    with op.batch_alter_table('region_prices', schema=None) as batch_op:
        batch_op.drop_index('ix_price_region_time')
    op.drop_table('region_prices')
