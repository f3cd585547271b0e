"""One session under its row lock for one transaction: the domain reads it, appends events
and changes its state; everything is written when the rules are done, or nothing is."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, insert, select, update

from server.domain.models import Event, Session, shallow_copy
from server.store import compiled, notify, rows
from server.store.sessions import get_session, write_state
from server.store.tables import events, sessions

_INSERT_EVENT = insert(events)


class Checkpoint(NamedTuple):
    """Where a SessionLog stood before one request's rules ran (see `SessionLog.undo`)."""

    session: Session
    appended: int
    unflushed: int
    writes: int


class UndoImpossible(Exception):
    """Rules that failed had already written to the database: only a rollback undoes them."""


class SessionLog:
    """The unit of work on one session that the domain's rules run against.

    The session row is locked (SELECT … FOR UPDATE; on SQLite the write transaction holds
    the file's write lock), so the rules see a state no one else changes before commit, and
    the sequences they assign continue the log without a gap.
    """

    def __init__(self, conn: Connection, workspace_id: str, session: Session) -> None:
        self.conn = conn
        # Its writes go with the commit: fewer round trips under the row lock.
        compiled.defer_writes(conn)
        self.workspace_id = workspace_id
        self.session = session
        self.appended: list[Event] = []
        self._unflushed: list[Event] = []
        self._writes = 0  # statements that changed rows so far, for `undo`

    def checkpoint(self) -> Checkpoint:
        """What `undo` goes back to: taken before each request's rules in a combined batch."""
        saved = shallow_copy(self.session)
        # Its collections too, so that rules changing one in place are undone as well.
        saved.metadata = dict(saved.metadata)
        saved.resources = list(saved.resources)
        saved.vault_ids = list(saved.vault_ids)
        saved.memory_store_ids = list(saved.memory_store_ids)
        saved.pending_actions = list(saved.pending_actions)
        return Checkpoint(saved, len(self.appended), len(self._unflushed), self._writes)

    def undo(self, mark: Checkpoint) -> None:
        """Forgets what the rules did since `mark`: the events they appended and the changes
        they made to the session. Only possible while nothing of theirs reached the database;
        otherwise raises UndoImpossible."""
        if self._writes != mark.writes:
            raise UndoImpossible
        self.session = mark.session
        del self.appended[mark.appended:]
        del self._unflushed[mark.unflushed:]

    def append(self, event: Event) -> Event:
        """Adds `event` at the end of the log; gives it the next sequence."""
        self.session.last_sequence += 1
        event.sequence = self.session.last_sequence
        self.appended.append(event)
        self._unflushed.append(event)
        return event

    def find_event(self, event_id: str) -> Event | None:
        """An event of this session by ID, or None. (A read only: rules that fail after
        it can still be undone.)"""
        for event in self._unflushed:
            if event.id == event_id:
                return event
        row = self.conn.execute(select(events).where(
            events.c.id == event_id, events.c.session_id == self.session.id,
            events.c.workspace_id == self.workspace_id)).first()
        return rows.event_from(row) if row else None

    def unprocessed(self) -> list[Event]:
        """The session's events that no runtime has processed yet (user events), in order."""
        self._flush_events()
        found = self.conn.execute(select(events).where(
            events.c.session_id == self.session.id, events.c.processed_at.is_(None))
            .order_by(events.c.sequence)).all()
        return [rows.event_from(row) for row in found]

    def mark_processed(self, event_ids: list[str], now: int) -> None:
        """Sets processed_at on these events of the session (once; later marks keep it)."""
        self._flush_events()
        if event_ids:
            self._writes += 1
            self.conn.execute(update(events).where(
                events.c.session_id == self.session.id, events.c.id.in_(event_ids),
                events.c.processed_at.is_(None)).values(processed_at=now))

    def assign_turn(self, event_ids: list[str], turn_id: str) -> None:
        """Moves queued events into a turn that starts now."""
        self._flush_events()
        if event_ids:
            self._writes += 1
            self.conn.execute(update(events).where(
                and_(events.c.session_id == self.session.id, events.c.id.in_(event_ids)))
                .values(turn_id=turn_id))

    def _flush_events(self) -> None:
        if self._unflushed:
            self._writes += 1
            compiled.write_many(self.conn, _INSERT_EVENT,
                                  [rows.event_values(e, self.workspace_id)
                                   for e in self._unflushed])
            self._unflushed = []

    def flush(self) -> None:
        """Writes the appended events and the session's new state."""
        self._flush_events()
        write_state(self.conn, self.session)
        if self.appended:
            runnable = any(e.type == "session.status_running" for e in self.appended)
            notify.notify(self.conn, self.session.id, self.session.last_sequence,
                          notify.RUNNABLE if runnable else "")


def lock_session(conn: Connection, workspace_id: str, session_id: str) -> Session | None:
    return get_session(conn, workspace_id, session_id, for_update=True)


def runnable_sessions(conn: Connection, workspace_id: str, now: int,
                      limit: int) -> list[str]:
    """Sessions whose turn needs a runtime: running or rescheduling, with no valid lease."""
    found = conn.execute(select(sessions.c.id).where(
        sessions.c.workspace_id == workspace_id, sessions.c.archived_at.is_(None),
        sessions.c.status.in_(("running", "rescheduling")),
        (sessions.c.lease_expires_at.is_(None)) | (sessions.c.lease_expires_at < now))
        .order_by(sessions.c.updated_at).limit(limit)).all()
    return [row.id for row in found]


def expired_leases(conn: Connection, now: int, limit: int) -> list[tuple[str, str]]:
    """(workspace, session) pairs whose runtime lease ran out while the turn was running."""
    found: Any = conn.execute(select(sessions.c.workspace_id, sessions.c.id).where(
        sessions.c.status == "running", sessions.c.lease_id.is_not(None),
        sessions.c.lease_expires_at < now).limit(limit)).all()
    return [(row.workspace_id, row.id) for row in found]
