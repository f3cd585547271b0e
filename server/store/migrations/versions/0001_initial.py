"""The first schema: agents and their versions, environments, sessions, events, request IDs.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("archived_at", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_agents_workspace_created", "agents",
                    ["workspace_id", "created_at", "id"])
    op.create_table(
        "agent_versions",
        sa.Column("agent_id", ID, sa.ForeignKey("agents.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "environments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("archived_at", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_environments_workspace_created", "environments",
                    ["workspace_id", "created_at", "id"])
    op.create_table(
        "sessions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("agent_version", sa.Integer, nullable=False),
        sa.Column("agent_snapshot", sa.Text, nullable=False),
        sa.Column("environment_id", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("turn_status", sa.String(16), nullable=False),
        sa.Column("turn_id", ID, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("resources", sa.Text, nullable=False),
        sa.Column("vault_ids", sa.Text, nullable=False),
        sa.Column("memory_store_ids", sa.Text, nullable=False),
        sa.Column("active_seconds", sa.Float, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.Column("archived_at", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sessions_workspace_created", "sessions",
                    ["workspace_id", "created_at", "id"])
    op.create_index("ix_sessions_workspace_agent_created", "sessions",
                    ["workspace_id", "agent_id", "created_at", "id"])
    op.create_index("ix_sessions_environment", "sessions", ["environment_id"])
    op.create_table(
        "events",
        sa.Column("session_id", ID, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("id", ID, nullable=False, unique=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("turn_id", ID, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("processed_at", sa.BigInteger),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_events_session_type_sequence", "events",
                    ["session_id", "type", "sequence"])
    op.create_table(
        "request_ids",
        sa.Column("workspace_id", ID, primary_key=True),
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("request_id", sa.String(256), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("request_ids", "events", "sessions", "environments", "agent_versions",
                  "agents"):
        op.drop_table(table)
