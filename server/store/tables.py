"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; tests check they agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Times are epoch microseconds (BigInteger): exact and the same on SQLite and PostgreSQL.
# Nested values are JSON text, read and written whole.
metadata = MetaData()

ID = String(64)

agents = Table(
    "agents",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("archived_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_agents_workspace_created", "workspace_id", "created_at", "id"),
)

agent_versions = Table(
    "agent_versions",
    metadata,
    Column("agent_id", ID, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("body", Text, nullable=False),  # name, description, model, system, tools, metadata
    Column("created_at", BigInteger, nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=False),
    Column("config", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("archived_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_environments_workspace_created", "workspace_id", "created_at", "id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("agent_id", ID, nullable=False),
    Column("agent_version", Integer, nullable=False),
    Column("agent_snapshot", Text, nullable=False),
    Column("environment_id", ID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("turn_status", String(16), nullable=False),
    Column("turn_id", ID, nullable=False),
    Column("title", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("resources", Text, nullable=False),
    Column("vault_ids", Text, nullable=False),
    Column("memory_store_ids", Text, nullable=False),
    Column("active_seconds", Float, nullable=False),
    # The sequence of the newest event: the append transaction increments it under the
    # row lock, which is what makes per-session sequences dense and ordered.
    Column("last_sequence", BigInteger, nullable=False),
    Column("archived_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The turn's runtime: who holds the session's lease, and until when (migration 0002).
    Column("pending_actions", Text, nullable=False, server_default="[]"),
    Column("lease_id", ID),
    Column("lease_owner", String(256)),
    Column("lease_expires_at", BigInteger),
    Column("running_since", BigInteger),
    Index("ix_sessions_workspace_created", "workspace_id", "created_at", "id"),
    Index("ix_sessions_workspace_agent_created", "workspace_id", "agent_id", "created_at", "id"),
    Index("ix_sessions_environment", "environment_id"),
    Index("ix_sessions_runnable", "status", "lease_expires_at"),
)

events = Table(
    "events",
    metadata,
    Column("session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("id", ID, nullable=False, unique=True),
    Column("workspace_id", ID, nullable=False),
    Column("type", String(64), nullable=False),
    Column("turn_id", ID, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("processed_at", BigInteger),
    Column("payload", Text, nullable=False),
    Index("ix_events_session_type_sequence", "session_id", "type", "sequence"),
    # Only user events wait for a runtime (processed_at NULL); this finds them without
    # scanning the log.
    Index("ix_events_session_unprocessed", "session_id", "processed_at", "sequence"),
)

# Idempotency keys of creates and sends: the first request's result is returned on a retry.
request_ids = Table(
    "request_ids",
    metadata,
    Column("workspace_id", ID, primary_key=True),
    Column("scope", String(128), primary_key=True),  # the method, and the session for sends
    Column("request_id", String(256), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # digest of the request it was used with
    Column("result", Text, nullable=False),  # what identifies the result (IDs, sequence range)
    Column("created_at", BigInteger, nullable=False),
)

# Files (migration 0003). Content lives in the database in chunks, so every replica can
# serve every file and an upload never holds a whole file in memory.
files = Table(
    "files",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("mime_type", String(255), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("metadata", Text, nullable=False),
    Column("session_id", ID),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_files_workspace_created", "workspace_id", "created_at", "id"),
    Index("ix_files_session", "session_id", "status"),
)

file_chunks = Table(
    "file_chunks",
    metadata,
    Column("file_id", ID, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

def _container(name: str) -> Table:
    """Vaults and memory stores: named, described, archivable containers."""
    return Table(
        name,
        metadata,
        Column("id", ID, primary_key=True),
        Column("workspace_id", ID, nullable=False),
        Column("name", String(256), nullable=False),
        Column("description", Text, nullable=False),
        Column("metadata", Text, nullable=False),
        Column("archived_at", BigInteger),
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        Index(f"ix_{name}_workspace_created", "workspace_id", "created_at", "id"),
    )


vaults = _container("vaults")

vault_credentials = Table(
    "vault_credentials",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("vault_id", ID, ForeignKey("vaults.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("public", Text, nullable=False),  # what may be shown: URL, variable name
    Column("secret", Text, nullable=False),  # write-only: never leaves the store to a caller
    Column("created_at", BigInteger, nullable=False),
    Index("ix_vault_credentials_vault", "vault_id", "created_at"),
)

memory_stores = _container("memory_stores")

memories = Table(
    "memories",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("memory_store_id", ID, ForeignKey("memory_stores.id", ondelete="CASCADE"),
           nullable=False),
    Column("path", String(512), nullable=False),
    Column("content", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("memory_store_id", "path", name="uq_memories_store_path"),
)

# Earlier contents of memories: an update keeps the version it replaces.
memory_versions = Table(
    "memory_versions",
    metadata,
    Column("memory_id", ID, ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
