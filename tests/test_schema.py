"""The Alembic migrations build exactly the schema that server.store.tables describes."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from server.domain.models import Agent, Session
from server.store import migrate, rows
from server.store.tables import metadata, sessions


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


def test_a_session_row_is_written_whole_and_its_state_is_what_changes():
    """`rows.session_values` writes every column of a session; `session_state_values` (the
    UPDATE after each change) writes exactly the columns named as changing. Both lists are
    written out by hand, for speed: this keeps them in step with the table."""
    session = Session(id="sesn_x", agent=Agent(id="agent_x", version=1, name="a", model="m"),
                      environment_id="env_x")
    assert set(rows.session_values(session, "ws")) == set(sessions.c.keys())
    assert tuple(rows.session_state_values(session)) == rows.SESSION_STATE
