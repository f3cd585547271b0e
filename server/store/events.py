"""Reads of the event log (appends go through SessionLog): keyset pages and cursors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from server.domain.models import Event
from server.store import compiled, keyset, rows
from server.store.tables import events, sessions


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
    return [rows.event_from(row) for row in compiled.named(conn.execute(query))]


def events_after(conn: Connection, workspace_id: str, session_id: str, after_sequence: int,
                 limit: int) -> list[Event] | None:
    """The next events after a sequence, oldest first; None when the session is gone."""
    found = compiled.named(conn.execute(
        select(events).where(events.c.session_id == session_id,
                             events.c.workspace_id == workspace_id,
                             events.c.sequence > after_sequence)
        .order_by(events.c.sequence).limit(limit)))
    if not found and not session_exists(conn, workspace_id, session_id):
        return None
    return [rows.event_from(row) for row in found]


def events_by_id(conn: Connection, workspace_id: str, session_id: str,
                 event_ids: list[str]) -> list[Event]:
    """These events of a session (the result of an earlier send), in sequence order."""
    found = conn.execute(
        select(events).where(events.c.session_id == session_id,
                             events.c.workspace_id == workspace_id, events.c.id.in_(event_ids))
        .order_by(events.c.sequence)).all()
    return [rows.event_from(row) for row in found]


def sequence_of(conn: Connection, workspace_id: str, session_id: str,
                event_id: str) -> int | None:
    """The sequence of an event of this session, or None if the session has no such event."""
    return conn.execute(select(events.c.sequence).where(
        events.c.id == event_id, events.c.session_id == session_id,
        events.c.workspace_id == workspace_id)).scalar()
