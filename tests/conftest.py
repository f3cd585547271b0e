"""Fixtures: the whole suite runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator

import pytest

from server.reference_runtime import serve_turns
from server.store import migrate
from tests.harness import (
    RunningServer,
    create_postgres_database,
    drop_postgres_database,
    postgres_reachable,
)

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=BACKENDS)
def new_database(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty databases on one backend; PostgreSQL ones are dropped at the end."""
    if request.param == "postgres" and not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432, and CI must test it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (CI always runs it)")
    made: list[str] = []

    def make() -> str:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sessions.db'}"
        else:
            url = create_postgres_database()
        made.append(url)
        return url

    yield make
    for url in made:
        if url.startswith("postgresql"):
            drop_postgres_database(url)


@pytest.fixture(scope="session")
def backend_url(new_database: Callable[[], str]) -> str:
    """The database of the shared server."""
    return new_database()


@pytest.fixture(scope="session")
def server(backend_url: str) -> Iterator[RunningServer]:
    """A server on a loopback port, shared by the tests of one backend."""
    running = RunningServer(database_url=backend_url).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database with the schema, for tests of PostgreSQL alone."""
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432, and CI must test it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (CI always runs it)")
    url = create_postgres_database()
    migrate.upgrade(url)
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
def runtime_server(new_database: Callable[[], str]) -> Iterator[RunningServer]:
    """A server of its own for runtime tests, so no other test's turn is waiting in it;
    expired leases are swept every 0.1 s."""
    running = RunningServer(database_url=new_database(), lease_sweep_seconds=0.1).start()
    yield running
    running.stop()


@pytest.fixture
def reference_runtime(runtime_server: RunningServer) -> Iterator[str]:
    """One reference runtime attached to `runtime_server` over loopback; yields its ID."""
    stop = asyncio.Event()
    runtime_id = "reference-test"
    task = runtime_server.submit(serve_turns(runtime_server.address, runtime_id,
                                             lease_seconds=5, step_seconds=0.05, stop=stop))
    yield f"{runtime_id}"
    runtime_server.call(_set(stop))
    task.result(timeout=30)


async def _set(event: asyncio.Event) -> None:
    event.set()
