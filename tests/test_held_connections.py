"""PostgreSQL's single statements run on connections held between calls
(`server.store.held_connections`). A held connection must never carry one call's trouble
into the next: a statement cut short, or a connection the database dropped."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from sqlalchemy import Float, Integer, bindparam, func, select, update
from sqlalchemy.engine import make_url

from server.domain.errors import Unavailable
from server.store import Database, held_connections
from server.store.tables import sessions
from tests.harness import POSTGRES_ADMIN

# Built once, as `Database.read_one` wants its statements.
SLEEP = select(func.pg_sleep(bindparam("seconds", type_=Float)).label("slept"))
ECHO = select(bindparam("value", type_=Integer).label("value"))
RETITLE = (update(sessions).where(sessions.c.id == bindparam("id"))
           .values(title=bindparam("title")).returning(sessions.c.id))


def _run(url: str, pool_size: int, work: Any) -> Any:
    async def run() -> Any:
        db = Database(url, pool_size=pool_size, connect_timeout_s=1)
        try:
            return await work(db)
        finally:
            await db.aclose()
    return asyncio.run(run())


def _terminate_connections_to(url: str) -> int:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s", (make_url(url).database,)).fetchall()
    return len(rows)


def test_a_statement_cut_short_leaves_its_connection_usable(postgres_url):
    """The caller leaves while its statement runs. On the one connection there is, the
    next calls get their own answers: the connection is neither lost (the pool would stay
    empty) nor handed on while its statement still runs."""
    async def work(db: Database) -> list[int]:
        await db.read_one(ECHO, {"value": -1})  # connected: the deadline falls mid-statement
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(db.read_one(SLEEP, {"seconds": 30.0}), 0.3)
        return [(await db.read_one(ECHO, {"value": i})).value for i in range(3)]
    assert _run(postgres_url, 1, work) == [0, 1, 2]


def test_reads_go_on_after_the_database_dropped_every_held_connection(postgres_url):
    """Both held connections are dropped by the database (as in a restart). The next read
    finds one dead, has the pool test the others, and succeeds on a new connection."""
    async def work(db: Database) -> tuple[int, list[int]]:
        # Two reads at once: each holds a connection of its own afterwards.
        await asyncio.gather(*(db.read_one(SLEEP, {"seconds": 0.2}) for _ in range(2)))
        dropped = await asyncio.to_thread(_terminate_connections_to, postgres_url)
        return dropped, [(await db.read_one(ECHO, {"value": i})).value for i in range(3)]
    dropped, values = _run(postgres_url, 2, work)
    assert dropped == 2
    assert values == [0, 1, 2]


def test_a_write_on_a_dropped_connection_is_unavailable_and_the_next_one_succeeds(
        postgres_url):
    """Both held connections are dropped by the database. The write that finds one dead is
    UNAVAILABLE (it is never run twice: it may have been stored); the held connections are
    tested meanwhile, so the next write succeeds."""
    async def work(db: Database) -> tuple[int, Any]:
        await asyncio.gather(*(db.read_one(SLEEP, {"seconds": 0.2}) for _ in range(2)))
        dropped = await asyncio.to_thread(_terminate_connections_to, postgres_url)
        with pytest.raises(Unavailable):
            await db.write_one(RETITLE, {"id": "sesn_none", "title": "x"})
        return dropped, await db.write_one(RETITLE, {"id": "sesn_none", "title": "y"})
    dropped, second = _run(postgres_url, 2, work)
    assert dropped == 2
    assert second is None  # ran, and found no such session


def test_a_connection_unused_for_a_while_is_tested_before_it_is_used(postgres_url,
                                                                      monkeypatch):
    """A held connection cut while unused (as an idle timeout would) is not used for a
    write: it goes back to the pool, which tests it and hands out a working one."""
    monkeypatch.setattr(held_connections, "IDLE_SECONDS", 0.0)

    async def work(db: Database) -> Any:
        await db.read_one(ECHO, {"value": 1})
        await asyncio.to_thread(_terminate_connections_to, postgres_url)
        return await db.write_one(RETITLE, {"id": "sesn_none", "title": "x"})
    assert _run(postgres_url, 1, work) is None


def test_a_database_that_is_gone_is_unavailable_not_an_error(postgres_url):
    """A read on a database that refuses connections is UNAVAILABLE (retryable)."""
    gone = make_url(postgres_url).set(port=1).render_as_string(hide_password=False)

    async def work(db: Database) -> None:
        with pytest.raises(Unavailable):
            await db.read_one(ECHO, {"value": 1})
    _run(gone, 1, work)
