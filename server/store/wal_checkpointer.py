"""Copies SQLite's write-ahead log back into the database file on a thread of its own, so
that no commit waits for it.

Why: left to itself, SQLite checkpoints inside the commit that takes the log past 1,000
pages, and the writer's group waits for it: at 1,000 SendEvents/s over 100 sessions that
was a 5-9 ms commit every ~150 ms (the others took 0.6 ms at the median), and every call
queued behind it waited as long. Here the writer's connection never checkpoints; this
thread does, on a connection of its own, a PASSIVE checkpoint (it never waits for, nor
blocks, the writer or a reader) shortly after commits.

The log starts again from its beginning only when a writer begins after a checkpoint that
copied all of it. A pass that a commit overlaps leaves that commit's pages for the next one,
so under writes that never pause the log could grow without end: once it is past
`LOG_LIMIT_FRAMES`, the writer checkpoints itself between two groups, as SQLite would have
(short: this thread has copied most of the log already).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# A pass copies the pages committed since the last one: this long between passes lets a
# busy writer's commits share one (each pass ends with an fsync of the database file).
PAUSE_S = 0.05
# Past this many frames (pages) in the log, the writer checkpoints itself: 8x SQLite's own
# threshold, 32 MiB of 4 KiB pages.
LOG_LIMIT_FRAMES = 8_000

CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


class WalCheckpointer:
    """Checkpoints after commits (`committed`), at most once every PAUSE_S seconds, on a
    connection from `connect` (a pooled DBAPI connection of the service's engine)."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        # The log's size in frames, as the last checkpoint (this thread's or the writer's)
        # found it. Written by either thread, read by the writer: a stale value only
        # delays the writer's own checkpoint by a group.
        self.log_frames = 0
        self._wake = threading.Event()
        self._closing = threading.Event()
        # A daemon: a process that ends without `close` is not held up by an idle thread.
        self._thread = threading.Thread(target=self._serve, name="wal-checkpoint",
                                        daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """The writer committed: the log has pages to copy."""
        self._wake.set()

    def too_long(self) -> bool:
        """Whether the writer should checkpoint itself before its next group."""
        return self.log_frames > LOG_LIMIT_FRAMES

    def checkpointed(self, result: tuple[int, int, int] | None, by_writer: bool) -> None:
        """What a checkpoint (busy, frames in the log, frames copied) found. The log
        starts again with the next write only after the writer copied all of it itself:
        a pass of this thread that copied it all may have been followed by a commit."""
        if result is None or result[0]:  # busy: another checkpoint ran, and found it
            return
        _, frames, copied = result
        self.log_frames = 0 if by_writer and copied == frames else frames

    def close(self) -> None:
        """Ends the thread after the pass under way, if any."""
        self._closing.set()
        self._wake.set()
        self._thread.join()

    def _serve(self) -> None:
        conn = None
        try:
            while True:
                self._wake.wait()
                if self._closing.is_set():
                    return
                self._wake.clear()
                try:
                    if conn is None:
                        conn = self._connect()
                    self.checkpointed(conn.execute(CHECKPOINT).fetchone(), by_writer=False)
                except Exception as error:  # noqa: BLE001 - the thread must outlive it
                    # (A SQLite error, or SQLAlchemy's when no connection could be had.)
                    # The pages stay in the log, which stays readable; the next pass (or
                    # the writer's own checkpoint) copies them. Start from a new connection.
                    log.warning("WAL checkpoint failed: %s", error)
                    if conn is not None:
                        conn.invalidate()  # not back into the pool
                        conn = None
                self._closing.wait(PAUSE_S)
        finally:
            if conn is not None:
                conn.close()  # back to the pool
