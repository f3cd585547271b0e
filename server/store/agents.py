"""Agent queries: the agent row holds identity and the latest version; each version is a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from server.domain.errors import Aborted, FailedPrecondition, NotFound, agent_archived
from server.domain.models import Agent
from server.store import compiled, keyset, rows
from server.store.tables import agent_versions, agents

_JOINED = select(agents, agent_versions.c.version, agent_versions.c.body,
                 agent_versions.c.created_at.label("version_created_at")).join(
    agent_versions, agent_versions.c.agent_id == agents.c.id)


_ONE = _JOINED.where(agents.c.id == bindparam("agent_id"),
                     agents.c.workspace_id == bindparam("workspace_id"))
_LATEST = _ONE.where(agent_versions.c.version == agents.c.latest_version)
_VERSION = _ONE.where(agent_versions.c.version == bindparam("version"))


def by_id(agent_id: str, workspace_id: str, version: int | None) -> tuple[Any, dict[str, Any]]:
    """The statement and parameters that read one agent (for `Database.read_one`)."""
    params = {"agent_id": agent_id, "workspace_id": workspace_id}
    if version is None:
        return _LATEST, params
    return _VERSION, {**params, "version": version}


def from_row(row: Any) -> Agent:
    return rows.agent_from(row, row.version, row.body, row.version_created_at)


def insert_agent(conn: Connection, workspace_id: str, agent: Agent) -> None:
    conn.execute(insert(agents).values(
        id=agent.id, workspace_id=workspace_id, latest_version=agent.version,
        archived_at=None, created_at=agent.created_at, updated_at=agent.updated_at))
    _insert_version(conn, workspace_id, agent)


def _insert_version(conn: Connection, workspace_id: str, agent: Agent) -> None:
    conn.execute(insert(agent_versions).values(
        agent_id=agent.id, version=agent.version, workspace_id=workspace_id,
        body=rows.agent_body(agent), created_at=agent.updated_at))


def get_agent(conn: Connection, workspace_id: str, agent_id: str,
              version: int | None = None) -> Agent | None:
    """The agent at `version`, or at its latest version when None."""
    row = compiled.first(conn, *by_id(agent_id, workspace_id, version))
    return from_row(row) if row else None


def list_agents(conn: Connection, workspace_id: str, include_archived: bool, descending: bool,
                after: list[Any] | None, limit: int) -> list[Agent]:
    query = _JOINED.where(agents.c.workspace_id == workspace_id,
                          agent_versions.c.version == agents.c.latest_version)
    if not include_archived:
        query = query.where(agents.c.archived_at.is_(None))
    query = keyset.page(query, [agents.c.created_at, agents.c.id], after, descending, limit)
    return [from_row(row) for row in conn.execute(query)]


def list_versions(conn: Connection, workspace_id: str, agent_id: str, before: int | None,
                  limit: int) -> list[Agent] | None:
    """Versions newest first, below `before`; None when the agent does not exist."""
    if get_agent(conn, workspace_id, agent_id) is None:
        return None
    query = _JOINED.where(agents.c.id == agent_id, agents.c.workspace_id == workspace_id)
    after = None if before is None else [before]
    query = keyset.page(query, [agent_versions.c.version], after, True, limit)
    return [from_row(row) for row in conn.execute(query)]


def add_version(conn: Connection, workspace_id: str, agent: Agent, base_version: int) -> None:
    """Stores `agent` as version base_version + 1, if base_version is still the latest."""
    done = conn.execute(
        update(agents).where(agents.c.id == agent.id, agents.c.workspace_id == workspace_id,
                             agents.c.latest_version == base_version,
                             agents.c.archived_at.is_(None))
        .values(latest_version=agent.version, updated_at=agent.updated_at)).rowcount
    if done != 1:
        current = get_agent(conn, workspace_id, agent.id)
        if current is None:
            raise NotFound("agent", agent.id)
        if current.archived_at is not None:
            raise FailedPrecondition(f"agent {agent.id!r} is archived", "AGENT_ARCHIVED", agent.id)
        raise Aborted(f"agent {agent.id!r} is at version {current.version}, not {base_version}; "
                      "re-read it and apply the change to the latest version", "VERSION_CONFLICT")
    _insert_version(conn, workspace_id, agent)


def check_usable(conn: Connection, workspace_id: str, agent_id: str) -> None:
    """Raises unless the agent exists and is not archived (its row read FOR SHARE, so an
    archive in progress is waited for)."""
    row = conn.execute(select(agents.c.archived_at).where(
        agents.c.id == agent_id, agents.c.workspace_id == workspace_id)
        .with_for_update(read=True)).first()
    if row is None:
        raise NotFound("agent", agent_id)
    if row.archived_at is not None:
        raise agent_archived(agent_id)


def archive_agent(conn: Connection, workspace_id: str, agent_id: str, now: int) -> Agent | None:
    """Archives the agent (once: a second archive keeps the first time)."""
    conn.execute(update(agents).where(agents.c.id == agent_id,
                                      agents.c.workspace_id == workspace_id,
                                      agents.c.archived_at.is_(None))
                 .values(archived_at=now))
    return get_agent(conn, workspace_id, agent_id)
