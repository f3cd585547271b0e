"""Commit hints for other replicas: PostgreSQL NOTIFY, sent inside the writing transaction
so it is delivered exactly when (and only if) the write commits."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from server.store import compiled

CHANNEL = "managed_agents_events"
# Tells this process's own notifications apart from other replicas'.
REPLICA_ID = uuid.uuid4().hex[:12]
RUNNABLE, DELETED = "r", "d"
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def notify(conn: Connection, session_id: str, head: int, flag: str = "") -> None:
    """Hints 'session S has events up to `head`' (and whether a turn became runnable, or the
    session was deleted). On SQLite there is only one process, so nothing is sent."""
    if conn.dialect.name == "postgresql":
        compiled.write(conn, _NOTIFY, {"channel": CHANNEL,
                                       "payload": f"{REPLICA_ID}:{session_id}:{head}:{flag}"})


def parse(payload: str) -> tuple[str, str, int, str] | None:
    """(replica, session, head, flag) of a hint, or None for a payload not of ours."""
    parts = payload.split(":")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2]), parts[3]
