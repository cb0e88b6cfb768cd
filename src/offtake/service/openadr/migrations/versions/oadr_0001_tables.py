"""OpenADR 3 reports, subscriptions and webhook deliveries

Revision ID: oadr_0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "oadr_0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oadr_reports",
        sa.Column("report_id", sa.String(64), primary_key=True),
        sa.Column("owner_client_id", sa.String(64), nullable=False, index=True),
        sa.Column("client_name", sa.String(128), nullable=False, index=True),
        sa.Column("program_id", sa.String(128), nullable=False, index=True),
        sa.Column("event_id", sa.String(128), nullable=False, index=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("readings_accepted", sa.Integer(), nullable=False),
        sa.Column("readings_duplicate", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_table(
        "oadr_subscriptions",
        sa.Column("subscription_id", sa.String(64), primary_key=True),
        sa.Column("owner_client_id", sa.String(64), nullable=False, index=True),
        sa.Column("client_name", sa.String(128), nullable=False),
        sa.Column("program_id", sa.String(128), nullable=False, index=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_table(
        "oadr_deliveries",
        sa.Column("delivery_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("subscription_id", "object_key", name="uq_oadr_delivery_sub_key"),
    )


def downgrade() -> None:
    op.drop_table("oadr_deliveries")
    op.drop_table("oadr_subscriptions")
    op.drop_table("oadr_reports")
