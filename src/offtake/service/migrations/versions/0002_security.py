"""security: per-client token generation; reconstructed readings

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

* ``clients.token_gen``: every access token carries the generation it was issued
  under; revoking a client's tokens bumps it, so older tokens stop working.
* ``meter_readings.reconstructed`` and ``ledger_entries.reconstructed``: energy an
  agent metered after the fact (it was down) from the site meter's register.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_gen', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconstructed', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconstructed', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('reconstructed')
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_column('reconstructed')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('token_gen')
