"""SQLite's single writer: queued units of work run on the event loop and commit in groups,
one fsync per group.

Why on the event loop: pysqlite releases the GIL around every statement, so a writer thread
waits to get it back from the event loop's thread after each one. Measured under
`make bench`, a CreateSession unit cost ~1.2 ms of writer-thread wall time for ~0.1 ms of
SQLite work. A unit's statements are short and never wait for another process (BEGIN
IMMEDIATE has taken the write lock first), so they run inline; only what can wait, taking
the lock and the commit's fsync, runs on a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, exc

from server.domain.errors import Unavailable
from server.store.wal_checkpointer import CHECKPOINT, WalCheckpointer
from server.store.writer_thread import WriterThread

log = logging.getLogger(__name__)

# Units that arrive while a group commits wait for the next; a group is at most this big.
GROUP_MAX = 64
# How long a write waits for another process's write lock before it fails as UNAVAILABLE.
LOCK_WAIT_MS = 30_000


class Unit:
    """One caller's work. `done` is the writer's own future: a caller that leaves abandons
    the unit (dropped if it has not run yet) but never cancels `done`, so whatever waits
    for the outcome (an after-commit step) hears it only once the transaction has ended."""

    __slots__ = ("work", "args", "done", "abandoned")

    def __init__(self, work: Callable[..., Any], args: tuple[Any, ...],
                 done: asyncio.Future[Any]) -> None:
        self.work, self.args, self.done = work, args, done
        self.abandoned = False


class GroupCommitWriter:
    """Runs write units one group at a time. Each unit runs in a SAVEPOINT of the group's
    transaction, so a unit that fails rolls back alone; the group then commits once. Every
    unit's caller hears back only after that commit: acknowledged still means durable, and
    N concurrent writes cost one fsync instead of N.
    """

    def __init__(self, connect: Callable[[], Connection],
                 translate: Callable[[Exception], Exception], thread: WriterThread,
                 checkpointer: WalCheckpointer | None = None) -> None:
        self._connect = connect
        self._translate = translate
        self._thread = thread
        # Copies the log into the database file off the commits (None: SQLite does it, in
        # the commit that takes the log past 1,000 pages).
        self._checkpointer = checkpointer
        self._queue: deque[Unit] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._conn: Connection | None = None

    def submit(self, work: Callable[..., Any], args: tuple[Any, ...]) -> Unit:
        loop = asyncio.get_running_loop()
        unit = Unit(work, args, loop.create_future())
        self._queue.append(unit)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        return unit

    async def close(self) -> None:
        if self._drainer is not None:
            # Shielded: a stop that is itself cancelled must not cut a group short.
            await asyncio.shield(self._drainer)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _drain(self) -> None:
        while self._queue:
            group: list[Unit] = []
            while self._queue and len(group) < GROUP_MAX:
                unit = self._queue.popleft()
                if unit.abandoned:
                    unit.done.cancel()
                else:
                    group.append(unit)
            if group:
                try:
                    await self._commit(group)
                finally:
                    for unit in group:  # only when the writer itself was cancelled
                        if not unit.done.done():
                            unit.done.set_exception(Unavailable("the service is stopping"))
                if self._checkpointer is not None and self._checkpointer.too_long():
                    await self._checkpoint(self._checkpointer)

    async def _commit(self, group: list[Unit]) -> None:
        try:
            conn = self._connection()
            driver = conn.connection.dbapi_connection
            assert driver is not None
            # SQLAlchemy's transaction is bookkeeping only here (the writer's connection
            # emits no BEGIN of its own); the driver's connection begins and commits, so
            # that the thread hop for the commit runs C code and no Python.
            transaction = conn.begin()
            try:
                await self._begin_immediate(driver)
                outcomes = self._run(conn, driver, group)
                if conn.invalidated:  # a unit's failure broke the connection: start afresh
                    raise Unavailable("storage is unavailable; retry shortly")
                if any(ok for _, ok, _ in outcomes):
                    # The fsync: on a thread, so the loop serves other calls (and queues
                    # the next group) meanwhile. Shielded: once started it runs to its end,
                    # and nothing else may touch the connection before it has.
                    commit = self._thread.run(driver.commit)
                    try:
                        await asyncio.shield(commit)
                    except asyncio.CancelledError:
                        await _finished(commit)
                        if commit.exception() is None:
                            self._resolve(outcomes)  # stored: say so before stopping
                        raise
                    if self._checkpointer is not None:
                        self._checkpointer.committed()
                else:
                    driver.rollback()  # nothing to keep
            except BaseException:
                if not conn.invalidated and driver.in_transaction:
                    driver.rollback()
                raise
            finally:
                transaction.rollback()  # a no-op for the driver once it committed
        except Exception as error:  # noqa: BLE001 - the commit failed: every unit failed
            self._drop_connection()
            failure = self._translate(_as_sqlalchemy(error))
            for unit in group:
                if not unit.done.done():
                    unit.done.set_exception(failure)
            return
        self._resolve(outcomes)

    async def _checkpoint(self, checkpointer: WalCheckpointer) -> None:
        """The log is past its limit (writes have not paused for the checkpointer to catch
        up): checkpoint on the writer's own connection, between two groups, so that the
        next group starts the log again from its beginning."""
        if self._conn is None:
            return
        driver = self._conn.connection.dbapi_connection
        assert driver is not None
        done = self._thread.run(lambda: driver.execute(CHECKPOINT).fetchone())
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            await _finished(done)  # nothing touches the connection before it has ended
            raise
        except sqlite3.Error as error:  # the pages stay in the log; the next group retries
            log.warning("WAL checkpoint failed: %s", error)
            return
        checkpointer.checkpointed(done.result(), by_writer=True)

    @staticmethod
    def _resolve(outcomes: list[tuple[Unit, bool, Any]]) -> None:
        for unit, ok, value in outcomes:
            if ok:
                unit.done.set_result(value)
            else:
                unit.done.set_exception(value)

    def _run(self, conn: Connection, driver: Any,
             group: list[Unit]) -> list[tuple[Unit, bool, Any]]:
        """Runs the units still wanted, each in a savepoint unless it is alone (then a
        failure rolls back the whole transaction, which holds nothing else)."""
        run = []
        for unit in group:
            if unit.abandoned:  # left while the lock was taken: it never ran
                unit.done.cancel()
            else:
                run.append(unit)
        if len(run) != 1:
            return [self._one(conn, driver, unit) for unit in run]
        try:
            return [(run[0], True, run[0].work(conn, *run[0].args))]
        except Exception as error:  # noqa: BLE001 - the unit's own failure, for its caller
            return [(run[0], False, self._translate(error))]

    def _connection(self) -> Connection:
        """The writer's own connection, held between groups (a checkout per group cost
        as much as a unit). It never waits for a lock by itself: see `_begin_immediate`."""
        if self._conn is None:
            conn = self._connect()
            driver = conn.connection.dbapi_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")
            if self._checkpointer is not None:
                driver.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's job
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.invalidate()  # whatever state it is in, it is not used again

    async def _begin_immediate(self, driver: Any) -> None:
        """Takes the write lock at once, unless another process holds it (a second server
        on the same file, a migration): then waits for it on a thread."""
        try:
            driver.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if driver.in_transaction or not _is_busy(error):
                raise

        def wait_for_lock() -> None:
            driver.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
            try:
                driver.execute("BEGIN IMMEDIATE")
            finally:
                driver.execute("PRAGMA busy_timeout=0")

        await self._thread.run(wait_for_lock)

    def _one(self, conn: Connection, driver: Any, unit: Unit) -> tuple[Unit, bool, Any]:
        # On the driver's connection: SQLAlchemy compiles a savepoint statement anew each
        # time (a tenth of a CreateSession under cProfile).
        driver.execute("SAVEPOINT unit")
        try:
            value = unit.work(conn, *unit.args)
        except Exception as error:  # noqa: BLE001 - the unit's own failure, for its caller
            driver.execute("ROLLBACK TO unit")
            driver.execute("RELEASE unit")
            return unit, False, self._translate(error)
        driver.execute("RELEASE unit")
        return unit, True, value


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def _finished(future: asyncio.Future[Any]) -> None:
    """Waits for `future` to end, however often this wait is cancelled meanwhile."""
    while not future.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([future])


def _as_sqlalchemy(error: Exception) -> Exception:
    """A driver error raised outside SQLAlchemy, wrapped the way SQLAlchemy wraps them."""
    if isinstance(error, sqlite3.Error):
        return exc.DBAPIError.instance("(the writer's transaction control)", None, error,
                                       sqlite3.Error)
    return error
