"""Turns that run: leases on sessions, pending tool actions, and unprocessed-event lookups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("pending_actions", sa.Text, nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("lease_id", sa.String(64)))
        batch.add_column(sa.Column("lease_owner", sa.String(256)))
        batch.add_column(sa.Column("lease_expires_at", sa.BigInteger))
        batch.add_column(sa.Column("running_since", sa.BigInteger))
    op.create_index("ix_sessions_runnable", "sessions", ["status", "lease_expires_at"])
    op.create_index("ix_events_session_unprocessed", "events",
                    ["session_id", "processed_at", "sequence"])


def downgrade() -> None:
    op.drop_index("ix_events_session_unprocessed", "events")
    op.drop_index("ix_sessions_runnable", "sessions")
    with op.batch_alter_table("sessions") as batch:
        for column in ("running_since", "lease_expires_at", "lease_owner", "lease_id",
                       "pending_actions"):
            batch.drop_column(column)
