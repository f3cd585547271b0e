"""Files (content in chunks), vaults and their credentials, memory stores and memories.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(64)


def _owned(name: str, *columns: sa.Column) -> None:
    """A workspace-owned resource with name, description, metadata and times."""
    op.create_table(
        name,
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("archived_at", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_workspace_created", name, ["workspace_id", "created_at", "id"])


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("mime_type", sa.String(255), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("session_id", ID),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_files_workspace_created", "files", ["workspace_id", "created_at", "id"])
    op.create_index("ix_files_session", "files", ["session_id", "status"])
    op.create_table(
        "file_chunks",
        sa.Column("file_id", ID, sa.ForeignKey("files.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    _owned("vaults")
    op.create_table(
        "vault_credentials",
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("vault_id", ID, sa.ForeignKey("vaults.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("public", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_vault_credentials_vault", "vault_credentials",
                    ["vault_id", "created_at"])
    _owned("memory_stores")
    op.create_table(
        "memories",
        sa.Column("id", ID, primary_key=True),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("memory_store_id", ID,
                  sa.ForeignKey("memory_stores.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("memory_store_id", "path", name="uq_memories_store_path"),
    )
    op.create_table(
        "memory_versions",
        sa.Column("memory_id", ID, sa.ForeignKey("memories.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("memory_versions", "memories", "memory_stores", "vault_credentials",
                  "vaults", "file_chunks", "files"):
        op.drop_table(table)
