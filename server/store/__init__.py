"""The storage interface: one async method per unit of work, each a single transaction.

Every method takes the owning workspace and never sees rows of another. Reads return domain
objects or None when nothing matches; writes return what was stored, once it committed.
The SQL lives in the sibling modules; this class only chooses the transaction for each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Connection

from server.domain.errors import FailedPrecondition, NotFound
from server.domain.models import Agent, Environment, Event, Json, Session
from server.store import (
    agents,
    environments,
    events,
    references,
    request_ids,
    rows,
    session_log,
    sessions,
)
from server.store.append_batches import AppendBatches
from server.store.database import Database
from server.store.remembered_agents import RememberedAgents
from server.store.request_ids import RequestKey
from server.store.session_cache import SessionCache
from server.store.session_log import SessionLog

__all__ = ["AgentChanged", "Database", "RequestKey", "SessionLog", "Store"]
T = TypeVar("T")


class AgentChanged(Exception):
    """The agent a create remembered was archived or given a newer version since."""


class Store:
    """The async storage interface of the service."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Only where this process is the only writer; replicas on PostgreSQL share no memory.
        self._sessions = SessionCache() if db.is_sqlite else None
        # Sessions with a write under way: read from the database meanwhile, never cached,
        # since the write may already be visible there before it has ended here.
        self._writing: dict[tuple[str, str], int] = {}
        self._agents = RememberedAgents()  # for creates that are one statement
        # PostgreSQL: concurrent sends to one session share a transaction (append_batches).
        self._batches = None if db.is_sqlite else AppendBatches(
            db, lambda ws, session_id, rules: self.in_session(ws, session_id, rules))

    def _session_write(self, ws: str, session_id: str) -> Callable[[], None] | None:
        """Marks a write to the session as under way; returns what runs once it has ended."""
        cache = self._sessions
        if cache is None:
            return None
        key = (ws, session_id)
        self._writing[key] = self._writing.get(key, 0) + 1
        done = False

        def ended() -> None:
            nonlocal done
            if done:
                return
            done = True
            left = self._writing.pop(key, 1) - 1
            if left > 0:
                self._writing[key] = left
            cache.forget(ws, session_id)
        return ended

    async def recall(self, ws: str, key: RequestKey) -> str | None:
        """The result recorded for an idempotency key, or None if it was not used yet."""
        return await self.db.read(request_ids.recall, ws, key)

    # Agents
    async def create_agent(self, ws: str, agent: Agent, key: RequestKey | None) -> Agent:
        def work(conn: Connection) -> Agent:
            if key and (earlier := request_ids.recall(conn, ws, key)):
                return request_ids.must(agents.get_agent(conn, ws, earlier), "agent", earlier)
            agents.insert_agent(conn, ws, agent)
            if key:
                request_ids.remember(conn, ws, key, agent.id, agent.created_at)
            return agent
        return await request_ids.write_once(self.db, key, work)

    async def get_agent(self, ws: str, agent_id: str, version: int | None) -> Agent | None:
        row = await self.db.read_one(*agents.by_id(agent_id, ws, version))
        return agents.from_row(row) if row else None

    async def session_agent(self, ws: str, agent_id: str, version: int | None,
                            may_remember: bool) -> tuple[Agent | None, bool]:
        """The agent a new session snapshots (`version` None: the latest), and whether it
        is remembered: as an earlier create in this process found it. Only a create that
        `takes_one_statement` may take a remembered one (`may_remember`): its statement
        refuses an agent archived or given a newer version since, on any replica."""
        if may_remember and (known := self._agents.get(ws, agent_id, version)) is not None:
            return known, True
        agent = await self.get_agent(ws, agent_id, version)
        if agent is not None:
            self._agents.put(ws, version, agent)
        return agent, False

    async def list_agents(self, ws: str, include_archived: bool, descending: bool,
                          after: list[Any] | None, limit: int) -> list[Agent]:
        return await self.db.read(agents.list_agents, ws, include_archived, descending, after,
                                  limit)

    async def list_agent_versions(self, ws: str, agent_id: str, before: int | None,
                                  limit: int) -> list[Agent] | None:
        return await self.db.read(agents.list_versions, ws, agent_id, before, limit)

    # Creates here then read the agent afresh (other replicas' creates find out by their
    # statement), even when the caller left before the commit.
    async def add_agent_version(self, ws: str, agent: Agent, base_version: int) -> None:
        await self.db.write(agents.add_version, ws, agent, base_version,
                            after_commit=lambda: self._agents.forget(ws, agent.id))

    async def archive_agent(self, ws: str, agent_id: str, now: int) -> Agent | None:
        return await self.db.write(agents.archive_agent, ws, agent_id, now,
                                   after_commit=lambda: self._agents.forget(ws, agent_id))

    # Environments
    async def create_environment(self, ws: str, env: Environment,
                                 key: RequestKey | None) -> Environment:
        def work(conn: Connection) -> Environment:
            if key and (earlier := request_ids.recall(conn, ws, key)):
                found = environments.get_environment(conn, ws, earlier)
                return request_ids.must(found, "environment", earlier)
            environments.insert_environment(conn, ws, env)
            if key:
                request_ids.remember(conn, ws, key, env.id, env.created_at)
            return env
        return await request_ids.write_once(self.db, key, work)

    async def get_environment(self, ws: str, environment_id: str) -> Environment | None:
        return await self.db.read(environments.get_environment, ws, environment_id)

    async def list_environments(self, ws: str, include_archived: bool, descending: bool,
                                after: list[Any] | None, limit: int) -> list[Environment]:
        return await self.db.read(environments.list_environments, ws, include_archived,
                                  descending, after, limit)

    async def change_environment(self, ws: str, environment_id: str,
                                 change: Callable[[Environment], Environment]
                                 ) -> Environment | None:
        return await self.db.write(environments.change_environment, ws, environment_id, change)

    async def delete_environment(self, ws: str, environment_id: str) -> bool:
        return await self.db.write(environments.delete_environment, ws, environment_id)

    # Sessions
    @staticmethod
    def takes_one_statement(key: RequestKey | None, inline: Environment | None,
                            *references: list[Any]) -> bool:
        """Whether creating a session is one statement: with no request ID, no inline
        environment and no `references` (files, vaults, memory stores) to check."""
        return key is None and inline is None and not any(references)

    async def create_session(self, ws: str, session: Session, inline: Environment | None,
                             key: RequestKey | None, latest: bool = False,
                             agent_remembered: bool = False) -> Session:
        """Creates the session (and its inline environment); an existing environment must
        exist and not be archived, checked under its row lock so a delete cannot interleave.

        `latest`: the session snapshots its agent's latest version. `agent_remembered`: that
        agent was remembered (`session_agent`); if it changed since, raises AgentChanged
        (read it afresh and create again).
        """
        refused = False
        if self.takes_one_statement(key, inline, session.resources, session.vault_ids,
                                    session.memory_store_ids):
            # A remembered agent's snapshot text was encoded when it was remembered.
            snapshot = self._agents.snapshot(ws, None if latest else session.agent.version,
                                             session.agent)
            if await self.db.write_one(*sessions.insert_if_usable(ws, session, latest,
                                                                  snapshot)):
                return session
            # Nothing stored: the environment or the agent is missing or changed.
            if agent_remembered:
                self._agents.forget(ws, session.agent.id)
                raise AgentChanged(session.agent.id)
            refused = True  # the unit below says which

        def work(conn: Connection) -> Session:
            if key and (earlier := request_ids.recall(conn, ws, key)):
                return request_ids.must(sessions.get_session(conn, ws, earlier), "session", earlier)
            if refused:  # the agent may have been archived since it was read
                agents.check_usable(conn, ws, session.agent.id)
            if inline is not None:
                environments.insert_environment(conn, ws, inline)
            else:
                _usable_environment(conn, ws, session.environment_id)
            references.check_files(conn, ws, [(f"resources[{i}]", r)
                                              for i, r in enumerate(session.resources)])
            references.check_holders(conn, ws, session.vault_ids, session.memory_store_ids)
            sessions.insert_session(conn, ws, session)
            if key:
                request_ids.remember(conn, ws, key, session.id, session.created_at)
            return session
        return await request_ids.write_once(self.db, key, work)

    async def get_session(self, ws: str, session_id: str) -> Session | None:
        """The session (shared with other readers when cached: read it, never change it)."""
        cache = self._sessions
        if cache is None or (ws, session_id) in self._writing:
            return await self._read_session(ws, session_id)
        if hit := cache.get(ws, session_id):
            return hit
        session = await self._read_session(ws, session_id)
        if session is not None and (ws, session_id) not in self._writing:
            cache.put(ws, session)
        return session

    async def _read_session(self, ws: str, session_id: str) -> Session | None:
        row = await self.db.read_one(sessions.BY_ID, {"session_id": session_id,
                                                      "workspace_id": ws})
        return rows.session_from(row) if row else None

    async def list_sessions(self, ws: str, **query: Any) -> list[Session]:
        found = await self.db.read_all(*sessions.list_query(ws, **query))
        listed = []
        for row in found:
            session = rows.session_from(row)
            session.stored_version = tuple(row)
            listed.append(session)
        return listed

    async def change_session(self, ws: str, session_id: str,
                             change: Callable[[Session], Session]) -> Session | None:
        return await self.db.write(sessions.change_session, ws, session_id, change,
                                   after_commit=self._session_write(ws, session_id))

    async def change_resources(self, ws: str, session_id: str,
                               change: Callable[[Session], Session],
                               new: list[tuple[str, Json]]) -> Session | None:
        """Changes a session's resources; `new` ones (with where they sit in the request)
        must name ready files, checked in the same transaction."""
        def work(conn: Connection) -> Session | None:
            references.check_files(conn, ws, new)
            return sessions.change_session(conn, ws, session_id, change)
        return await self.db.write(work, after_commit=self._session_write(ws, session_id))

    async def delete_session(self, ws: str, session_id: str) -> bool:
        return await self.db.write(sessions.delete_session, ws, session_id,
                                   after_commit=self._session_write(ws, session_id))

    # The session's log and state, changed together
    async def in_session(self, ws: str, session_id: str, rules: Callable[[SessionLog], T],
                         key: RequestKey | None = None, combine: bool = False,
                         on_stored: Callable[[tuple[T, list[Event]]], None] | None = None
                         ) -> tuple[T, list[Event]]:
        """Runs `rules` on the locked session in one transaction; returns what they returned
        and every event appended. With a `key` seen before, returns the first result's
        events instead (and appends nothing).

        `combine`: the transaction may be shared with other sends to the session that
        arrive meanwhile (see `append_batches` for what such rules must allow).
        `on_stored`: given, the transaction runs to its end even if the caller leaves, and
        `on_stored` is called with the same pair once it committed (before the caller
        resumes, if it is still there).
        """
        if combine and key is None and self._batches is not None:
            return cast(tuple[T, list[Event]],
                        await self._batches.send(ws, session_id, rules, on_stored))
        def work(conn: Connection) -> tuple[Any, list[Event]]:
            if key and (earlier := request_ids.recall(conn, ws, key)):
                if not events.session_exists(conn, ws, session_id):
                    raise NotFound("session", session_id)
                return events.events_by_id(conn, ws, session_id, rows.loads(earlier)), []
            session = session_log.lock_session(conn, ws, session_id)
            if session is None:
                raise NotFound("session", session_id)
            log = SessionLog(conn, ws, session)
            result = rules(log)
            log.flush()
            if key:
                ids = [e.id for e in cast(list[Event], result)]  # keys are for sends
                request_ids.remember(conn, ws, key, rows.dumps(ids), session.updated_at)
            return result, log.appended
        return await request_ids.write_once(self.db, key, work,
                                            after_commit=self._session_write(ws, session_id),
                                            on_stored=on_stored, complete=on_stored is not None)

    async def runnable_sessions(self, ws: str, now: int, limit: int) -> list[str]:
        return await self.db.read(session_log.runnable_sessions, ws, now, limit)

    async def expired_leases(self, now: int, limit: int) -> list[tuple[str, str]]:
        return await self.db.read(session_log.expired_leases, now, limit)

    async def list_events(self, ws: str, session_id: str, **query: Any) -> list[Event] | None:
        def work(conn: Connection) -> list[Event] | None:
            return events.list_events(conn, ws, session_id, **query)
        return await self.db.read(work)

    async def events_after(self, ws: str, session_id: str, after_sequence: int,
                           limit: int) -> list[Event] | None:
        return await self.db.read(events.events_after, ws, session_id, after_sequence, limit)

    async def heads(self, followed: list[tuple[str, str]]) -> dict[str, int]:
        """The newest sequence of each (workspace, session) that still exists."""
        return await self.db.read(sessions.heads, followed)

    async def sequence_of(self, ws: str, session_id: str, event_id: str) -> int | None:
        return await self.db.read(events.sequence_of, ws, session_id, event_id)


def _usable_environment(conn: Connection, ws: str, environment_id: str) -> None:
    env = environments.get_environment(conn, ws, environment_id, for_share=True)
    if env is None:
        raise NotFound("environment", environment_id)
    if env.archived_at is not None:
        raise FailedPrecondition(f"environment {environment_id!r} is archived",
                                 "ENVIRONMENT_ARCHIVED", environment_id)
