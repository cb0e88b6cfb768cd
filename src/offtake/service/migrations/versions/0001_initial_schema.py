"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('audit_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('audit_id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('clients',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('regions',
    sa.Column('region_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('region_id')
    )
    op.create_table('service_config',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('curtailments',
    sa.Column('curtailment_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('region_id', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['region_id'], ['regions.region_id'], ),
    sa.PrimaryKeyConstraint('curtailment_id')
    )
    op.create_table('sites',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_type', sa.String(length=32), nullable=False),
    sa.Column('region_id', sa.String(length=32), nullable=False),
    sa.Column('contracted_mw', sa.Float(), nullable=False),
    sa.Column('interruptible_share', sa.Float(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('tariff_pkr_per_kwh', sa.Float(), nullable=False),
    sa.Column('owner_client_id', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('setpoint_seq', sa.Integer(), nullable=False),
    sa.Column('setpoint_mw', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['owner_client_id'], ['clients.client_id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['regions.region_id'], ),
    sa.PrimaryKeyConstraint('site_id')
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sites_owner_client_id'), ['owner_client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sites_region_id'), ['region_id'], unique=False)

    op.create_table('surplus_signals',
    sa.Column('signal_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('region_id', sa.String(length=32), nullable=False),
    sa.Column('interval_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('interval_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_mw', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.region_id'], ),
    sa.PrimaryKeyConstraint('signal_id')
    )
    with op.batch_alter_table('surplus_signals', schema=None) as batch_op:
        batch_op.create_index('ix_signal_region_time', ['region_id', 'interval_start', 'interval_end'], unique=False)

    op.create_table('invoices',
    sa.Column('invoice_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('energy_mwh', sa.Float(), nullable=False),
    sa.Column('tariff_pkr_per_kwh', sa.Float(), nullable=False),
    sa.Column('energy_charge_paisa', sa.BigInteger(), nullable=False),
    sa.Column('penalty_paisa', sa.BigInteger(), nullable=False),
    sa.Column('total_paisa', sa.BigInteger(), nullable=False),
    sa.Column('readings', sa.Integer(), nullable=False),
    sa.Column('flagged_readings', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.site_id'], ),
    sa.PrimaryKeyConstraint('invoice_id'),
    sa.UniqueConstraint('site_id', 'period', name='uq_invoice_site_period')
    )
    op.create_table('ledger_entries',
    sa.Column('entry_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('txn_id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('energy_mwh', sa.Float(), nullable=False),
    sa.Column('amount_paisa', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.site_id'], ),
    sa.PrimaryKeyConstraint('entry_id')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_txn_id'), ['txn_id'], unique=False)
        batch_op.create_index('ix_ledger_site_period', ['site_id', 'period'], unique=False)

    op.create_table('meter_readings',
    sa.Column('reading_id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('interval_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('interval_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('energy_mwh', sa.Float(), nullable=False),
    sa.Column('mean_mw', sa.Float(), nullable=False),
    sa.Column('max_mw', sa.Float(), nullable=False),
    sa.Column('allowed_mw', sa.Float(), nullable=False),
    sa.Column('excess_mwh', sa.Float(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.site_id'], ),
    sa.PrimaryKeyConstraint('reading_id'),
    sa.UniqueConstraint('site_id', 'interval_start', name='uq_reading_site_start')
    )
    op.create_table('setpoints',
    sa.Column('setpoint_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('setpoint_mw', sa.Float(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.site_id'], ),
    sa.PrimaryKeyConstraint('setpoint_id'),
    sa.UniqueConstraint('site_id', 'seq', name='uq_setpoint_site_seq')
    )
    with op.batch_alter_table('setpoints', schema=None) as batch_op:
        batch_op.create_index('ix_setpoint_site_issued', ['site_id', 'issued_at'], unique=False)

    op.create_table('site_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.site_id'], ),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('site_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_events_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('site_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_events_site_id'))

    op.drop_table('site_events')
    with op.batch_alter_table('setpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_setpoint_site_issued')

    op.drop_table('setpoints')
    op.drop_table('meter_readings')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_site_period')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_txn_id'))

    op.drop_table('ledger_entries')
    op.drop_table('invoices')
    with op.batch_alter_table('surplus_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_region_time')

    op.drop_table('surplus_signals')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sites_region_id'))
        batch_op.drop_index(batch_op.f('ix_sites_owner_client_id'))

    op.drop_table('sites')
    op.drop_table('curtailments')
    op.drop_table('service_config')
    op.drop_table('regions')
    op.drop_table('clients')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
