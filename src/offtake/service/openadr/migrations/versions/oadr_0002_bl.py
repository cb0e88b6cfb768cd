"""OpenADR 3: BL programs and events, schedule slots, applied slots, VEN registrations

Revision ID: oadr_0002
Revises: oadr_0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "oadr_0002"
down_revision = "oadr_0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oadr_programs",
        sa.Column("program_id", sa.String(64), primary_key=True),
        sa.Column("program_name", sa.String(128), nullable=False, unique=True),
        sa.Column("owner_client_id", sa.String(64), nullable=False, index=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_table(
        "oadr_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("program_id", sa.String(128), nullable=False, index=True),
        sa.Column("owner_client_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("sites", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("starts_at", _TS, nullable=True),
        sa.Column("ends_at", _TS, nullable=True, index=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )
    op.create_table(
        "oadr_slots",
        sa.Column("slot_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, index=True),
        sa.Column("interval_id", sa.Integer(), nullable=False),
        sa.Column("start_at", _TS, nullable=False, index=True),
        sa.Column("end_at", _TS, nullable=False, index=True),
        sa.Column("limit_mw", sa.Float(), nullable=False),
        sa.Column("applies", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "oadr_applications",
        sa.Column("application_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("site_id", sa.String(128), nullable=False, index=True),
        sa.Column("event_id", sa.String(64), nullable=False, index=True),
        sa.Column("applied_at", _TS, nullable=False),
    )
    op.create_table(
        "oadr_vens",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("oadr_vens", "oadr_applications", "oadr_slots", "oadr_events",
                  "oadr_programs"):
        op.drop_table(table)
