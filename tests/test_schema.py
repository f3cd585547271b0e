"""The Alembic migrations build exactly the schema that server.store.tables describes."""

from __future__ import annotations

import subprocess
import sys

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


def test_serve_refuses_a_database_that_is_behind(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    done = subprocess.run([sys.executable, "-m", "server", "serve", "--listen", "127.0.0.1:0",
                           "--database-url", url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "python -m server migrate" in done.stderr
