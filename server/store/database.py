"""The engine, and the threads that run each unit of work (one transaction) off the event loop."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from server.domain.errors import InvalidArgument, Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


class Database:
    """Runs units of work in worker threads, each in one transaction that commits or rolls back.

    Why threads and sync SQLAlchemy Core: measured (DESIGN.md), Core on a sync driver is 3-4x
    faster per call than the async drivers, and a worker thread keeps the event loop free
    while SQLite fsyncs or PostgreSQL answers. On SQLite every write goes through one thread,
    so writers queue in memory instead of contending for the file lock.
    """

    def __init__(self, url: str, pool_size: int = 8, statement_timeout_ms: int = 30000,
                 connect_timeout_s: int = 5) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine(pool_size, statement_timeout_ms, connect_timeout_s)
        self._readers = ThreadPoolExecutor(pool_size, thread_name_prefix="db-read")
        self._writers = (ThreadPoolExecutor(1, thread_name_prefix="db-write") if self.is_sqlite
                         else self._readers)

    def _create_engine(self, pool_size: int, statement_timeout_ms: int,
                       connect_timeout_s: int) -> Engine:
        if self.is_sqlite:
            engine = create_engine(self.url, pool_size=pool_size + 1, max_overflow=0,
                                   hide_parameters=True,
                                   connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            return engine
        return create_engine(
            self.url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True,
            # SQL errors must never carry values into logs: some are write-only secrets.
            hide_parameters=True,
            pool_timeout=connect_timeout_s,
            connect_args={"connect_timeout": connect_timeout_s,
                          "options": f"-c statement_timeout={statement_timeout_ms}"})

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """Runs `work(conn, *args)` in a read transaction (a consistent snapshot)."""
        return await self._run(self._readers, False, work, args)

    async def write(self, work: Callable[..., T], *args: Any) -> T:
        """Runs `work(conn, *args)` in a write transaction; returns after it committed."""
        return await self._run(self._writers, True, work, args)

    async def _run(self, pool: ThreadPoolExecutor, write: bool, work: Callable[..., T],
                   args: tuple[Any, ...]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, functools.partial(self._unit, write, work, args))

    def _unit(self, write: bool, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_write=write)
                with conn.begin():
                    return work(conn, *args)
        except exc.DataError as error:
            # Validation should have caught it; never report a bad value as INTERNAL.
            log.warning("value refused by the database: %s", error.__class__.__name__)
            raise InvalidArgument.one("request", "holds a value the database cannot store "
                                                 "(too long, or out of range)") from error
        except (exc.OperationalError, exc.InterfaceError) as error:
            if isinstance(error, exc.DBAPIError) and not _is_unavailable(error):
                raise
            log.warning("storage unavailable: %s", error.__class__.__name__)
            raise Unavailable("storage is unavailable; retry shortly") from error

    def close(self) -> None:
        self._readers.shutdown(wait=True)
        self._writers.shutdown(wait=True)
        self.engine.dispose()


def _is_unavailable(error: exc.DBAPIError) -> bool:
    """Connection loss, a locked SQLite file or a cancelled statement: retryable, not a bug."""
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    text = str(error.orig).lower()
    return any(s in text for s in ("locked", "busy", "connection", "terminating", "timeout",
                                   "could not", "server closed", "canceling statement"))


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so that `begin` below decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # acknowledged means durable
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # A write takes the file's write lock up front, so two processes never deadlock
    # upgrading a read lock; a read gets a snapshot without blocking anyone.
    write = conn.get_execution_options().get("sqlite_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
