"""Environment queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, insert, select, update

from server.domain.errors import FailedPrecondition
from server.domain.models import Environment
from server.store import compiled, keyset, rows
from server.store.tables import environments, sessions

_BY_ID = select(environments).where(environments.c.id == bindparam("environment_id"),
                                    environments.c.workspace_id == bindparam("workspace_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
# What a new session takes: a change or a delete waits for it to commit, but other new
# sessions of the same environment do not (under FOR UPDATE, creates queued on one row).
_BY_ID_SHARED = _BY_ID.with_for_update(read=True)


def insert_environment(conn: Connection, workspace_id: str, env: Environment) -> None:
    conn.execute(insert(environments), rows.environment_values(env, workspace_id))


def get_environment(conn: Connection, workspace_id: str, environment_id: str,
                    for_update: bool = False, for_share: bool = False) -> Environment | None:
    statement = _BY_ID_LOCKED if for_update else _BY_ID_SHARED if for_share else _BY_ID
    row = compiled.first(conn, statement,
                         {"environment_id": environment_id, "workspace_id": workspace_id})
    return rows.environment_from(row) if row else None


def list_environments(conn: Connection, workspace_id: str, include_archived: bool,
                      descending: bool, after: list[Any] | None,
                      limit: int) -> list[Environment]:
    query = select(environments).where(environments.c.workspace_id == workspace_id)
    if not include_archived:
        query = query.where(environments.c.archived_at.is_(None))
    query = keyset.page(query, [environments.c.created_at, environments.c.id], after,
                        descending, limit)
    return [rows.environment_from(row) for row in conn.execute(query)]


def change_environment(conn: Connection, workspace_id: str, environment_id: str,
                       change: Callable[[Environment], Environment]) -> Environment | None:
    """Read-modify-write under the row lock: `change` gets the current value, returns the new."""
    current = get_environment(conn, workspace_id, environment_id, for_update=True)
    if current is None:
        return None
    new = change(current)
    values = rows.environment_values(new, workspace_id)
    conn.execute(update(environments).where(environments.c.id == environment_id)
                 .values({k: v for k, v in values.items() if k not in ("id", "workspace_id")}))
    return new


def delete_environment(conn: Connection, workspace_id: str, environment_id: str) -> bool:
    """Deletes the environment unless a session refers to it; False when it does not exist."""
    if get_environment(conn, workspace_id, environment_id, for_update=True) is None:
        return False
    in_use = conn.execute(select(exists().where(
        sessions.c.environment_id == environment_id,
        sessions.c.workspace_id == workspace_id))).scalar()
    if in_use:
        raise FailedPrecondition(
            f"environment {environment_id!r} is used by sessions; delete them first",
            "ENVIRONMENT_IN_USE", environment_id)
    conn.execute(delete(environments).where(environments.c.id == environment_id))
    return True
