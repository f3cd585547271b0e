"""The event log: appends that assign dense per-session sequences, and keyset reads."""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import Connection, insert, select, update

from server.domain.errors import FailedPrecondition, NotFound
from server.domain.models import TERMINATED, Event
from server.store import keyset, rows
from server.store.tables import events, sessions


def append(conn: Connection, workspace_id: str, session_id: str, batch: list[Event],
           now: int) -> list[Event]:
    """Stores `batch` at the end of the session's log; sets each event's sequence.

    The counter on the session row is incremented by one UPDATE … RETURNING, which takes the
    row's lock until commit: concurrent appends to one session queue on that lock and get
    consecutive ranges, and the cost does not depend on the history's length.
    """
    head = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.workspace_id == workspace_id,
               sessions.c.archived_at.is_(None), sessions.c.status != TERMINATED)
        .values(last_sequence=sessions.c.last_sequence + len(batch), updated_at=now)
        .returning(sessions.c.last_sequence)).scalar()
    if head is None:
        _refuse(conn, workspace_id, session_id)
    first = head - len(batch) + 1
    for offset, event in enumerate(batch):
        event.sequence = first + offset
    conn.execute(insert(events), [rows.event_values(e, workspace_id) for e in batch])
    return batch


def _refuse(conn: Connection, workspace_id: str, session_id: str) -> NoReturn:
    row = conn.execute(select(sessions.c.archived_at, sessions.c.status).where(
        sessions.c.id == session_id, sessions.c.workspace_id == workspace_id)).first()
    if row is None:
        raise NotFound("session", session_id)
    if row.archived_at is not None:
        raise FailedPrecondition(f"session {session_id!r} is archived and takes no new events",
                                 "SESSION_ARCHIVED", session_id)
    raise FailedPrecondition(f"session {session_id!r} is terminated and takes no new events",
                             "SESSION_TERMINATED", session_id)


def session_exists(conn: Connection, workspace_id: str, session_id: str) -> bool:
    return conn.execute(select(sessions.c.id).where(
        sessions.c.id == session_id, sessions.c.workspace_id == workspace_id)).first() is not None


def list_events(conn: Connection, workspace_id: str, session_id: str, *, types: list[str],
                after_sequence: int | None, before_sequence: int | None, descending: bool,
                after: list[Any] | None, limit: int) -> list[Event] | None:
    """A page of the log in sequence order; None when the session does not exist."""
    if not session_exists(conn, workspace_id, session_id):
        return None
    query = select(events).where(events.c.session_id == session_id)
    if types:
        query = query.where(events.c.type.in_(types))
    if after_sequence is not None:
        query = query.where(events.c.sequence > after_sequence)
    if before_sequence is not None:
        query = query.where(events.c.sequence < before_sequence)
    query = keyset.page(query, [events.c.sequence], after, descending, limit)
    return [rows.event_from(row) for row in conn.execute(query)]


def events_after(conn: Connection, workspace_id: str, session_id: str, after_sequence: int,
                 limit: int) -> list[Event] | None:
    """The next events after a sequence, oldest first; None when the session is gone."""
    found = conn.execute(
        select(events).where(events.c.session_id == session_id,
                             events.c.workspace_id == workspace_id,
                             events.c.sequence > after_sequence)
        .order_by(events.c.sequence).limit(limit)).all()
    if not found and not session_exists(conn, workspace_id, session_id):
        return None
    return [rows.event_from(row) for row in found]


def events_in_range(conn: Connection, workspace_id: str, session_id: str, first: int,
                    count: int) -> list[Event]:
    """Events first..first+count-1 of a session (the result of an earlier append)."""
    found = conn.execute(
        select(events).where(events.c.session_id == session_id,
                             events.c.workspace_id == workspace_id,
                             events.c.sequence >= first, events.c.sequence < first + count)
        .order_by(events.c.sequence)).all()
    return [rows.event_from(row) for row in found]


def sequence_of(conn: Connection, workspace_id: str, session_id: str,
                event_id: str) -> int | None:
    """The sequence of an event of this session, or None if the session has no such event."""
    return conn.execute(select(events.c.sequence).where(
        events.c.id == event_id, events.c.session_id == session_id,
        events.c.workspace_id == workspace_id)).scalar()
