"""Session queries. A session row never loads its events."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    bindparam,
    delete,
    exists,
    insert,
    select,
    update,
)

from server.domain.models import Session
from server.store import compiled, keyset, notify, rows
from server.store.tables import agents, environments, events, sessions

_INSERT = insert(sessions)


def insert_session(conn: Connection, workspace_id: str, session: Session) -> None:
    compiled.write(conn, _INSERT, rows.session_values(session, workspace_id))


# The common create as one statement: the session goes in only while its environment
# exists in the workspace, unarchived, and FOR SHARE holds it so until the statement ends
# (an archive or a delete waits; other creates do not). Its agent must exist unarchived,
# and, for a create that asked for the latest version, still be at the version the session
# snapshots. A statement is a transaction of its own, so on PostgreSQL this is one round
# trip, where BEGIN, a check, the INSERT and COMMIT were four. Each value carries its
# column's type (PostgreSQL gets it cast in the SQL).
def _insert_if_usable(latest: bool) -> Insert:
    agent_usable = [agents.c.id == bindparam("agent_id"),
                    agents.c.workspace_id == bindparam("workspace_id"),
                    agents.c.archived_at.is_(None)]
    if latest:
        agent_usable.append(agents.c.latest_version == bindparam("agent_version"))
    environment_usable = select(environments.c.id).where(
        environments.c.id == bindparam("environment_id"),
        environments.c.workspace_id == bindparam("workspace_id"),
        environments.c.archived_at.is_(None)).with_for_update(read=True)
    return insert(sessions).from_select(
        [column.name for column in sessions.columns],
        select(*[bindparam(column.name, type_=column.type) for column in sessions.columns])
        .where(exists(environment_usable), exists(select(agents.c.id).where(*agent_usable)))
    ).returning(sessions.c.id)


_INSERT_IF_USABLE = {latest: _insert_if_usable(latest) for latest in (False, True)}


def insert_if_usable(workspace_id: str, session: Session, latest: bool,
                     snapshot: str | None) -> tuple[Insert, dict[str, Any]]:
    """The statement and parameters (for `Database.write_one`) that store a new session
    whose environment and agent are usable (`latest`: the agent's version is still its
    latest); it stores nothing otherwise. `snapshot`: as for `rows.session_values`."""
    return _INSERT_IF_USABLE[latest], rows.session_values(session, workspace_id, snapshot)


# Built once: GetSession is the hottest read, and building a statement costs more than
# running it (measured with cProfile under `make bench` load).
_BY_ID = select(sessions).where(sessions.c.id == bindparam("session_id"),
                                sessions.c.workspace_id == bindparam("workspace_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
BY_ID = _BY_ID  # for the hottest read, which the database layer runs on its fastest path


_WRITE_STATE = update(sessions).where(sessions.c.id == bindparam("the_session_id")).values(
    {name: bindparam(name) for name in rows.SESSION_STATE})


def write_state(conn: Connection, session: Session) -> None:
    """Stores the parts of a session that change after it is created."""
    compiled.write(conn, _WRITE_STATE, {**rows.session_state_values(session),
                                        "the_session_id": session.id})


def get_session(conn: Connection, workspace_id: str, session_id: str,
                for_update: bool = False) -> Session | None:
    row = compiled.first(conn, _BY_ID_LOCKED if for_update else _BY_ID,
                         {"session_id": session_id, "workspace_id": workspace_id})
    return rows.session_from(row) if row else None


def heads(conn: Connection, followed: list[tuple[str, str]]) -> dict[str, int]:
    """Session ID -> last sequence, for those of the (workspace, session) pairs that exist."""
    if not followed:
        return {}
    found = conn.execute(select(sessions.c.id, sessions.c.workspace_id,
                                sessions.c.last_sequence)
                         .where(sessions.c.id.in_([sid for _, sid in followed]))).all()
    wanted = set(followed)
    return {row.id: row.last_sequence for row in found if (row.workspace_id, row.id) in wanted}


def list_query(workspace_id: str, *, agent_id: str, agent_version: int,
               statuses: list[str], include_archived: bool, created_after: int | None,
               created_before: int | None, descending: bool, after: list[Any] | None,
               limit: int) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and parameters of a page of sessions (for `Database.read_all`)."""
    statuses = sorted(set(statuses))  # a statement per count of statuses: keep it small
    statement = _list_statement(bool(agent_id), bool(agent_version), len(statuses),
                                include_archived, created_after is not None,
                                created_before is not None, descending, after is not None)
    params: dict[str, Any] = {"workspace_id": workspace_id, "agent_id": agent_id,
                              "agent_version": agent_version, "created_after": created_after,
                              "created_before": created_before, "limit": limit + 1}
    params.update((f"status_{i}", status) for i, status in enumerate(statuses))
    if after is not None:
        params["after_created_at"], params["after_id"] = after
    return statement, params


@functools.cache  # the filter shapes are few (< 500), and each is compiled once
def _list_statement(agent: bool, version: bool, statuses: int, include_archived: bool,
                    created_after: bool, created_before: bool, descending: bool,
                    paged: bool) -> Select[Any]:
    """One session list statement per combination of filters, built once: building one
    per call cost as much as running it."""
    query = select(sessions).where(sessions.c.workspace_id == bindparam("workspace_id"))
    if agent:
        query = query.where(sessions.c.agent_id == bindparam("agent_id"))
    if version:
        query = query.where(sessions.c.agent_version == bindparam("agent_version"))
    if statuses:
        query = query.where(sessions.c.status.in_(
            [bindparam(f"status_{i}") for i in range(statuses)]))
    if not include_archived:
        query = query.where(sessions.c.archived_at.is_(None))
    if created_after:
        query = query.where(sessions.c.created_at >= bindparam("created_after"))
    if created_before:
        query = query.where(sessions.c.created_at < bindparam("created_before"))
    return keyset.page_statement(query, [sessions.c.created_at, sessions.c.id],
                                 ["after_created_at", "after_id"] if paged else None,
                                 descending)


def change_session(conn: Connection, workspace_id: str, session_id: str,
                   change: Callable[[Session], Session]) -> Session | None:
    """Read-modify-write under the row lock: `change` gets the current value, returns the new."""
    current = get_session(conn, workspace_id, session_id, for_update=True)
    if current is None:
        return None
    new = change(current)
    write_state(conn, new)
    return new


def delete_session(conn: Connection, workspace_id: str, session_id: str) -> bool:
    """Deletes the session and its events; False when it does not exist."""
    gone = conn.execute(delete(sessions).where(sessions.c.id == session_id,
                                               sessions.c.workspace_id == workspace_id)
                        .returning(sessions.c.id)).first()
    if gone is None:
        return False
    conn.execute(delete(events).where(events.c.session_id == session_id))
    notify.notify(conn, session_id, 0, notify.DELETED)
    return True
