"""SQLite's single writer: queued units of work committed in groups, one fsync per group."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Connection

# Units that arrive while a group commits wait for the next; a group is at most this big.
GROUP_MAX = 64

Unit = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]


class GroupCommitWriter:
    """Runs write units on one thread. Each unit runs in a SAVEPOINT of a shared transaction,
    so a unit that fails rolls back alone; the group then commits once. Every unit's caller
    hears back only after that commit: acknowledged still means durable, and N concurrent
    writes cost one fsync instead of N.
    """

    def __init__(self, connect: Callable[[], Any], translate: Callable[[Exception], Exception]
                 ) -> None:
        self._connect = connect
        self._translate = translate
        self._queue: queue.Queue[Unit | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="db-write", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        done: Future[Any] = Future()
        self._queue.put((work, args, done))
        return done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < GROUP_MAX:
                try:
                    unit = self._queue.get_nowait()
                except queue.Empty:
                    break
                if unit is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(unit)
            self._commit(group)

    def _commit(self, group: list[Unit]) -> None:
        # A unit whose caller cancelled before it started is dropped, as an executor would;
        # one that starts can no longer be cancelled, so its result always finds its future.
        group = [unit for unit in group if unit[2].set_running_or_notify_cancel()]
        if not group:
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._connect() as conn:
                conn.execution_options(sqlite_write=True)
                with conn.begin():
                    if len(group) == 1:  # alone: its failure rolls back the transaction
                        work, args, _ = group[0]
                        outcomes.append((True, work(conn, *args)))
                    else:
                        for work, args, _ in group:
                            outcomes.append(self._one(conn, work, args))
        except Exception as error:  # noqa: BLE001 - the commit failed: every unit failed
            failure = self._translate(error)
            for _, _, done in group:
                done.set_exception(failure)
            return
        for (ok, value), (_, _, done) in zip(outcomes, group, strict=True):
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

    def _one(self, conn: Connection, work: Callable[..., Any],
             args: tuple[Any, ...]) -> tuple[bool, Any]:
        savepoint = conn.begin_nested()
        try:
            value = work(conn, *args)
        except Exception as error:  # noqa: BLE001 - the unit's own failure, for its caller
            savepoint.rollback()
            return False, self._translate(error)
        savepoint.commit()
        return True, value
