"""The engine, and where each unit of work (one transaction) runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import psycopg
from psycopg_pool import PoolTimeout
from sqlalchemy import Connection, Engine, Select, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.util import greenlet_spawn

from server.domain.errors import InvalidArgument, Unavailable
from server.store import compiled
from server.store.held_connections import ConnectionLost, HeldConnections
from server.store.sqlite_writer import GroupCommitWriter
from server.store.wal_checkpointer import WalCheckpointer
from server.store.writer_thread import WriterThread

log = logging.getLogger(__name__)
T = TypeVar("T")


class Database:
    """Runs units of work, each in one transaction that commits or rolls back.

    The units are sync SQLAlchemy Core functions, with the hottest statements on the
    driver's cursor (`compiled`). Where each unit runs was chosen by measurement
    (`make bench`); the rule that came out of it: no thread hops per statement, since a
    thread that gives up the GIL for I/O waits for the event loop's thread to give it back.
    - PostgreSQL: on the event loop, through SQLAlchemy's asyncio engine on psycopg's async
      connections: the same unit functions in one greenlet each, every round trip
      awaited. On worker threads a CreateSession took 14 ms of GIL waits for four round
      trips. At most `pool_size` units run at once; the others wait their turn.
      Reads run in autocommit (one round trip; under READ COMMITTED a transaction adds
      nothing). The hottest single statements (`read_one`, `read_all`, `write_one`) go
      straight to psycopg's async connections as prepared statements (measured 2.3x the
      threaded GetSession), on connections held between calls (`held_connections`).
    - SQLite reads: inline on the event loop. A WAL read never waits for a writer and costs
      about as much as the hop to a thread would (a thread hop cost 2x the read itself).
    - SQLite writes: on the event loop too, queued units committed in groups; only the
      BEGIN IMMEDIATE and the commit (fsync) run on a thread (`sqlite_writer`). The log is
      copied into the database file by a thread of its own, off the commits
      (`wal_checkpointer`).
    """

    def __init__(self, url: str, pool_size: int = 8, statement_timeout_ms: int = 30000,
                 connect_timeout_s: int = 5) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._async_engine: AsyncEngine | None = None
        if self.is_sqlite:
            self.engine = self._sqlite_engine(pool_size)
        else:
            self._async_engine = self._postgres_engine(pool_size, statement_timeout_ms,
                                                       connect_timeout_s)
            self.engine = self._async_engine.sync_engine
            # A statement SQLAlchemy runs goes after the writes deferred before it.
            event.listen(self.engine, "before_cursor_execute",
                         lambda conn, *_: compiled.flush(conn))
            self._reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # The SQLite writer's commit (the fsync), and its wait for another process's lock.
        self._writer_thread = WriterThread("db-writer") if self.is_sqlite else None
        # A database in memory has no log to copy.
        self._checkpointer = (WalCheckpointer(self.engine.raw_connection)
                              if self.is_sqlite and _on_disk(self.url) else None)
        self._writer = (GroupCommitWriter(self.engine.connect, _translate, self._writer_thread,
                                          self._checkpointer)
                        if self._writer_thread is not None else None)
        # SQLite reads run on the event loop's thread, one at a time: they share one
        # connection, held open (checking one out per read cost as much as the read).
        self._loop_reader: Connection | None = None
        # Single statements (`read_one`, `read_all`, `write_one`) on PostgreSQL.
        self._held = (None if self.is_sqlite else HeldConnections(
            self.url.set(drivername="postgresql").render_as_string(hide_password=False),
            pool_size, connect_timeout_s, statement_timeout_ms))
        # PostgreSQL units waiting for a connection wait here, without a deadline, as they
        # did for a worker thread; the pool's own timeout would fail them under load.
        self._units = asyncio.Semaphore(pool_size)

    def _sqlite_engine(self, pool_size: int) -> Engine:
        # Beyond `pool_size`: the writer's connection and the checkpointer's.
        engine = create_engine(self.url, pool_size=pool_size + 2, max_overflow=0,
                               hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine

    def _postgres_engine(self, pool_size: int, statement_timeout_ms: int,
                         connect_timeout_s: int) -> AsyncEngine:
        # No pre-ping (a round trip per checkout): a dropped connection fails its call with
        # UNAVAILABLE, is discarded, and the next checkout connects afresh.
        return create_async_engine(
            self.url, pool_size=pool_size, max_overflow=0,
            # SQL errors must never carry values into logs: some are write-only secrets.
            hide_parameters=True,
            pool_timeout=connect_timeout_s,
            connect_args={"connect_timeout": connect_timeout_s,
                          "options": f"-c statement_timeout={statement_timeout_ms}"})

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """Runs `work(conn, *args)` as a read."""
        if self.is_sqlite:
            return self._sqlite_read(work, args)
        return await self._postgres_unit(self._reads, work, args)

    async def read_one(self, statement: Select[Any], params: dict[str, Any]) -> Any:
        """The first row of a statement (attribute access by column name), or None.

        `statement` must be built once, at module level: its compiled SQL is kept by identity.
        """
        if self.is_sqlite:
            return self._sqlite_read(compiled.first, (statement, params))
        return await self._prepared(statement, params, every_row=False)

    async def read_all(self, statement: Select[Any], params: dict[str, Any]) -> list[Any]:
        """Every row of a statement built once (as for `read_one`)."""
        if self.is_sqlite:
            return self._sqlite_read(compiled.fetch_all, (statement, params))
        return cast(list[Any], await self._prepared(statement, params, every_row=True))

    async def _prepared(self, statement: Select[Any], params: dict[str, Any],
                        every_row: bool) -> Any:
        """Runs a read on a held psycopg connection as a prepared statement: no greenlet, no
        SQLAlchemy connection, and the server plans it once per connection."""
        assert self._held is not None
        sql, params = compiled.sql(self.engine.dialect, statement, params)
        with _pool_errors(sql, params):
            try:
                return await self._fetch(sql, params, every_row)
            except ConnectionLost:
                # A connection the database dropped (it restarted, say) is only found on
                # use; the held ones have been tested since. A read may try once more.
                return await self._fetch(sql, params, every_row)

    async def write_one(self, statement: ClauseElement, params: dict[str, Any]) -> Any:
        """Runs one INSERT or UPDATE … RETURNING, built once, as a transaction of its own;
        returns its first row, or None.

        On PostgreSQL: one round trip in autocommit on a held psycopg connection (no BEGIN,
        no COMMIT, no greenlet). Like `write`, it ends once started, even if the caller
        leaves; a caller that leaves while it waits for a connection drops it. It is never
        retried: a connection lost mid-way may have committed it.
        """
        if self._writer is not None:
            return await self.write(compiled.first, statement, params)
        assert self._held is not None
        held = self._held
        sql, params = compiled.sql(self.engine.dialect, statement, params)
        started = asyncio.Event()

        async def run() -> Any:
            with _pool_errors(sql, params):
                async with held.cursor() as cursor:
                    started.set()
                    await cursor.execute(sql, params, prepare=True)
                    return await cursor.fetchone()

        task = asyncio.ensure_future(run())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not started.is_set():
                task.cancel()
            raise

    async def _fetch(self, sql: str, params: dict[str, Any], every_row: bool) -> Any:
        assert self._held is not None
        async with self._held.cursor() as cursor:
            await cursor.execute(sql, params, prepare=True)
            return await (cursor.fetchall() if every_row else cursor.fetchone())

    async def aclose(self) -> None:
        """Closes what lives on the event loop (the writer, the async pool), then the rest."""
        if self._writer is not None:
            await self._writer.close()
        if self._held is not None:
            await self._held.close()
        if self._async_engine is not None:
            await self._async_engine.dispose()
        self.close()

    async def write(self, work: Callable[..., T], *args: Any,
                    after_commit: Callable[[], None] | None = None,
                    on_stored: Callable[[T], None] | None = None,
                    complete: bool = False) -> T:
        """Runs `work(conn, *args)` in a write transaction; returns after it committed.

        `after_commit` runs on the event loop once the transaction has ended (committed or
        not), and `on_stored` with what `work` returned once it has committed: both before
        the caller resumes, and even when the caller was cancelled meanwhile.

        A caller that leaves before its write started drops it, unless it asked for the
        write to `complete` (appends: once asked for, they are stored and streamed).
        """
        if self._writer is not None:
            unit = self._writer.submit(work, args)
            when_ended(unit.done, after_commit, on_stored)
            try:
                return await asyncio.shield(unit.done)
            except asyncio.CancelledError:
                unit.abandoned = not complete  # then dropped if it has not run yet
                raise
        assert self._async_engine is not None
        # A task of its own: a caller that leaves does not cut a transaction short in the
        # middle of a round trip (which would leave the connection unusable); the unit
        # ends, commits or not, as it would have.
        started = asyncio.Event()
        task = asyncio.ensure_future(self._postgres_unit(self.engine, work, args, started))
        when_ended(task, after_commit, on_stored)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not started.is_set() and not complete:  # waiting for a connection: drop it
                task.cancel()
            raise

    def _sqlite_read(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._loop_reader is None:
            self._loop_reader = self.engine.connect()
        try:
            return work(self._loop_reader, *args)
        except Exception as error:
            translated = _translate(error)
            if translated is error:
                raise
            raise translated from error
        finally:
            # Autocommit reads; this only ends SQLAlchemy's notion of a transaction.
            self._loop_reader.rollback()

    async def _postgres_unit(self, engine: Engine, work: Callable[..., T],
                             args: tuple[Any, ...], started: asyncio.Event | None = None) -> T:
        try:
            # The whole unit in one greenlet (checkout, begin, work, commit, checkin): the
            # AsyncConnection methods would each start one of their own (measured: 15 a
            # CreateSession, most of its CPU time).
            async with self._units:
                if started is not None:
                    started.set()
                return await greenlet_spawn(_unit, engine, work, args, engine is self.engine)
        except Exception as error:
            translated = _translate(error)
            if translated is error:
                raise
            raise translated from error

    def close(self) -> None:
        if self._loop_reader is not None:
            self._loop_reader.close()
        if self._writer_thread is not None:
            self._writer_thread.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self.is_sqlite:
            self.engine.dispose()


def _on_disk(url: URL) -> bool:
    """Whether a SQLite URL names a file (not `:memory:`, nor a `mode=memory` URI)."""
    return url.database not in (None, "", ":memory:") and url.query.get("mode") != "memory"


def when_ended(done: asyncio.Future[T], after_commit: Callable[[], None] | None,
               on_stored: Callable[[T], None] | None) -> None:
    """Runs `after_commit` once `done` has ended, then `on_stored` with its result if it
    succeeded. Registered before the caller awaits `done`, so both run before the caller
    resumes; and they run whether or not the caller is still there."""
    if after_commit is None and on_stored is None:
        return

    def ended(future: asyncio.Future[T]) -> None:
        if after_commit is not None:
            after_commit()
        if on_stored is not None and not future.cancelled() and future.exception() is None:
            on_stored(future.result())
    done.add_done_callback(ended)


def _unit(engine: Engine, work: Callable[..., T], args: tuple[Any, ...], write: bool) -> T:
    with engine.connect() as conn:
        if not write:
            return work(conn, *args)
        try:
            with conn.begin():
                result = work(conn, *args)
                compiled.commit(conn)  # with writes the work deferred, in one round trip
                return result
        finally:
            compiled.stop_deferring(conn)


@contextlib.contextmanager
def _pool_errors(sql: str, params: dict[str, Any]) -> Iterator[None]:
    """psycopg's errors on held connections as the domain sees them: SQLAlchemy's, translated."""
    try:
        yield
    except psycopg.errors.QueryCanceled as error:  # the statement timeout
        log.warning("storage unavailable: %s", error.__class__.__name__)
        raise Unavailable("storage is busy; the statement timed out") from error
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout,
            ConnectionLost) as error:
        log.warning("storage unavailable: %s", error.__class__.__name__)
        raise Unavailable("storage is unavailable; retry shortly") from error
    except psycopg.DataError as error:
        raise _translate(exc.DataError(sql, params, error)) from error
    except psycopg.IntegrityError as error:
        raise exc.IntegrityError(sql, params, error, hide_parameters=True) from error


def _translate(error: Exception) -> Exception:
    """A database failure as the domain sees it; anything else unchanged."""
    if isinstance(error, exc.DataError):
        # Validation should have caught it; never report a bad value as INTERNAL.
        log.warning("value refused by the database: %s", error.__class__.__name__)
        return InvalidArgument.one("request", "holds a value the database cannot store "
                                              "(too long, or out of range)")
    if isinstance(error, exc.TimeoutError):  # no connection free in time
        log.warning("storage unavailable: no connection free in the pool")
        return Unavailable("storage is busy; retry shortly")
    if isinstance(error, exc.OperationalError | exc.InterfaceError) and _is_unavailable(error):
        log.warning("storage unavailable: %s", error.__class__.__name__)
        return Unavailable("storage is unavailable; retry shortly")
    return error


def _is_unavailable(error: exc.DBAPIError) -> bool:
    """Connection loss, a locked SQLite file or a cancelled statement: retryable, not a bug."""
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    text = str(error.orig).lower()
    return any(s in text for s in ("locked", "busy", "connection", "terminating", "timeout",
                                   "could not", "server closed", "canceling statement"))


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite: the writer begins (BEGIN IMMEDIATE) and
    # commits itself (sqlite_writer), and a read begins nothing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # acknowledged means durable
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

