"""Fixtures: the whole suite runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.harness import (
    RunningServer,
    create_postgres_database,
    drop_postgres_database,
    postgres_reachable,
)

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database URL for the run, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'sessions.db'}"
        return
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432, and CI must test it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (CI always runs it)")
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def server(backend_url: str) -> Iterator[RunningServer]:
    """A server on a loopback port, shared by the tests of one backend."""
    running = RunningServer(database_url=backend_url).start()
    yield running
    running.stop()
