"""SQLite: the write-ahead log is copied into the database file by a thread of its own, not
inside the commits, and stays bounded under writes that never pause. (SQLite only: the
log is SQLite's.)"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from managedagents.v1 import session_pb2
from sqlalchemy import exc

from server.store import wal_checkpointer
from tests.harness import RunningServer
from tests.helpers import create_session, message, send

TEXT = "x" * 10_000  # an event of about 2.5 pages
PER_CALL = 20  # events a SendEvents: about 200 KB


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Callable[[], RunningServer]]:
    """Starts (once asked, so that a test may first change the checkpointer's settings) a
    server on a SQLite file of its own."""
    started: list[RunningServer] = []

    def start() -> RunningServer:
        started.append(RunningServer(database_url=f"sqlite:///{tmp_path / 's.db'}").start())
        return started[-1]

    yield start
    for running in started:
        running.stop()


def _files(server: RunningServer) -> tuple[Path, Path]:
    db = Path(server.database_url.removeprefix("sqlite:///"))
    return db, db.with_name(db.name + "-wal")


def _send_megabytes(server: RunningServer, session_id: str, megabytes: float) -> None:
    for _ in range(round(megabytes * 1e6 / (PER_CALL * len(TEXT)))):
        send(server, session_id, *[message(TEXT) for _ in range(PER_CALL)])


def _until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_stored_events_reach_the_database_file_while_the_log_is_still_short(sqlite_server):
    """1 MB of events, a quarter of what makes SQLite checkpoint by itself (1,000 pages):
    they are copied into the database file within moments, with the server running."""
    server = sqlite_server()
    db, _ = _files(server)
    session = create_session(server)
    before = db.stat().st_size
    _send_megabytes(server, session.id, 1)
    assert _until(lambda: db.stat().st_size >= before + 900_000), (
        f"the database file grew by {db.stat().st_size - before} bytes only")


def test_commits_do_not_checkpoint(sqlite_server, monkeypatch):
    """With the checkpointer's thread idle after its first pass, 6 MB of events stay in the
    log: no commit copied them (SQLite alone would have, in the commit that took the log
    past 1,000 pages), and every one of them is read back."""
    monkeypatch.setattr(wal_checkpointer, "PAUSE_S", 3600)
    server = sqlite_server()
    db, wal = _files(server)
    session = create_session(server)
    time.sleep(0.5)  # the first pass (after the session's commit) is done
    before, first = db.stat().st_size, _last_sequence(server, session.id)
    _send_megabytes(server, session.id, 6)
    assert db.stat().st_size - before < 1_000_000
    assert wal.stat().st_size > 5_000_000
    assert _last_sequence(server, session.id) >= first + 30 * PER_CALL  # (and a status)


def test_the_log_stays_bounded_under_writes_that_never_pause(sqlite_server, monkeypatch):
    """Four senders, 16 MB in all, with no pause for the checkpointer's passes to catch up
    in: past its limit (here 100 pages, as the last pass found the log), the writer
    checkpoints itself between groups, and the log starts again from its beginning.
    (Without that, the log grew to 21 MB; with it, to 3.3-3.8 MB, in runs on the bench's
    machine.)"""
    monkeypatch.setattr(wal_checkpointer, "LOG_LIMIT_FRAMES", 100)
    server = sqlite_server()
    _, wal = _files(server)
    sessions = [create_session(server).id for _ in range(4)]
    first = [_last_sequence(server, sid) for sid in sessions]
    with ThreadPoolExecutor(4) as senders:
        list(senders.map(lambda sid: _send_megabytes(server, sid, 4), sessions))
    # The file keeps its largest size: the log never held more than this at once.
    assert wal.stat().st_size < 8_000_000
    assert all(_last_sequence(server, sid) >= n + 20 * PER_CALL  # (and a status)
               for sid, n in zip(sessions, first, strict=True))


def test_the_checkpointer_stops_with_the_server(sqlite_server):
    others = _checkpointers()  # other tests' servers may be running
    server = sqlite_server()
    send(server, create_session(server).id, message("one"))
    assert _checkpointers() == others + 1
    server.stop()
    assert _checkpointers() == others


def _checkpointers() -> int:
    return sum(t.name == "wal-checkpoint" for t in threading.enumerate())


def _last_sequence(server: RunningServer, session_id: str) -> int:
    return server.sessions.GetSession(
        session_pb2.GetSessionRequest(session_id=session_id)).last_sequence


def test_a_failed_pass_does_not_end_the_checkpointer(tmp_path, monkeypatch, caplog):
    """The first connection cannot be had (the pool timed out): that pass fails, and says
    so in the log; the thread goes on, and the next pass copies the log."""
    monkeypatch.setattr(wal_checkpointer, "PAUSE_S", 0.01)
    db = tmp_path / "w.db"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (v TEXT)")
    attempts = []

    def connect() -> sqlite3.Connection:
        attempts.append(1)
        if len(attempts) == 1:
            raise exc.TimeoutError("QueuePool limit reached, connection timed out")
        return sqlite3.connect(db, check_same_thread=False)

    checkpointer = wal_checkpointer.WalCheckpointer(connect)
    try:
        before = db.stat().st_size
        writer.executemany("INSERT INTO t VALUES (?)", [(TEXT,)] * 100)  # ~1 MB
        checkpointer.committed()  # the pass that fails
        assert _until(lambda: "WAL checkpoint failed: QueuePool limit" in caplog.text)
        checkpointer.committed()  # the next pass
        assert _until(lambda: db.stat().st_size >= before + 900_000)
        assert len(attempts) == 2
    finally:
        checkpointer.close()
        writer.close()
