"""The Alembic migrations build exactly the schema that server.store.tables describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from server.store import migrate
from server.store.tables import metadata


def test_migrations_match_the_tables(server):
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_database_is_at_the_newest_revision(server):
    current, head = migrate.pending(server.database_url)
    assert current == head and head
