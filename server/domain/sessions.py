"""Session use cases: create from an agent snapshot and an environment, read, list, update,
archive and delete."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain import appends, ids, paging, turns
from server.domain.clock import now_us
from server.domain.environments import DEFAULT_INLINE_NAME, check_environment, new_environment
from server.domain.errors import InvalidArgument, NotFound, agent_archived
from server.domain.models import Agent, Environment, Json, Page, Session, shallow_copy
from server.domain.resources import check_resources
from server.domain.updates import apply_mask, keyset_page
from server.domain.validation import Violations, page_size, require_id
from server.store import AgentChanged, RequestKey, SessionLog, Store
from server.streaming.hub import Hub

UPDATABLE = frozenset({"title", "metadata"})
TITLE_MAX = 512
STATUSES = frozenset({"idle", "running", "rescheduling", "terminated"})


@dataclass
class NewSession:
    """What a create request asks for. `agent_field` is how the request named the agent."""

    agent_id: str
    agent_version: int = 0
    agent_field: str = "agent_id"
    agent_type: str = ""
    environment_id: str = ""
    inline_environment: Environment | None = None
    title: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    resources: list[Json] = field(default_factory=list)
    vault_ids: list[str] = field(default_factory=list)
    memory_store_ids: list[str] = field(default_factory=list)


@dataclass
class SessionQuery:
    """The filters and order of a session list."""

    agent_id: str = ""
    agent_version: int = 0
    statuses: list[str] = field(default_factory=list)
    include_archived: bool = False
    created_after: int | None = None
    created_before: int | None = None
    descending: bool = True


def _check_ids(v: Violations, field_name: str, values: list[str], prefix: str) -> None:
    for i, value in enumerate(values):
        if not ids.has_prefix(value, prefix):
            v.add(f"{field_name}[{i}]", f"must be an ID with the '{prefix}_' prefix")
    if len(set(values)) != len(values):
        v.add(field_name, "must not repeat an ID")


class Sessions:
    """The session resource's use cases."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self.store = store
        self.hub = hub

    async def create(self, ws: str, new: NewSession, key: RequestKey | None) -> Session:
        v = Violations()
        if not new.agent_id:
            v.add(new.agent_field, "is required: an agent ID, or a reference {id, version}")
        elif not ids.has_prefix(new.agent_id, ids.AGENT):
            v.add(new.agent_field, "must be an agent ID with the 'agent_' prefix")
        if new.agent_type not in ("", "agent"):
            v.add("agent.type", "must be 'agent' when given")
        if new.agent_version < 0:
            v.add("agent.version", "must not be negative (0 means the latest)")
        inline = new.inline_environment
        if inline is not None:
            inline.name = inline.name.strip() or DEFAULT_INLINE_NAME
            check_environment(v, inline, prefix="environment.")
        elif not new.environment_id:
            v.add("environment_id", "is required: an environment ID, or an inline environment")
        elif not ids.has_prefix(new.environment_id, ids.ENVIRONMENT):
            v.add("environment_id", "must be an environment ID with the 'env_' prefix")
        v.max_length("title", new.title, TITLE_MAX)
        v.metadata("metadata", new.metadata)
        resources = check_resources(v, "resources", new.resources)
        _check_ids(v, "vault_ids", new.vault_ids, ids.VAULT)
        _check_ids(v, "memory_store_ids", new.memory_store_ids, ids.MEMORY_STORE)
        v.raise_if_any()
        if key is not None and (earlier := await self.store.recall(ws, key)) is not None:
            return await self.get(ws, earlier)  # a retry: the first result, whatever changed since

        now = now_us()
        if inline is not None:
            inline = new_environment(inline, now)
        # A create that is one statement may take its agent as an earlier create found
        # it: the statement refuses it if it changed since, and it is read afresh.
        may_remember = self.store.takes_one_statement(key, inline, resources, new.vault_ids,
                                                      new.memory_store_ids)
        latest = not new.agent_version
        agent, remembered = await self._usable_agent(ws, new, may_remember)
        session = Session(
            id=ids.new_id(ids.SESSION), agent=agent,
            environment_id=inline.id if inline else new.environment_id, title=new.title,
            metadata=new.metadata, resources=resources, vault_ids=new.vault_ids,
            memory_store_ids=new.memory_store_ids, created_at=now, updated_at=now)
        try:
            return await self.store.create_session(ws, session, inline, key, latest, remembered)
        except AgentChanged:
            session.agent, _ = await self._usable_agent(ws, new, may_remember=False)
            return await self.store.create_session(ws, session, inline, key, latest)

    async def _usable_agent(self, ws: str, new: NewSession,
                            may_remember: bool) -> tuple[Agent, bool]:
        """The agent to snapshot, and whether it is one an earlier create found (which a
        create that is one statement may take: see `Store.session_agent`)."""
        agent, remembered = await self.store.session_agent(
            ws, new.agent_id, new.agent_version or None, may_remember)
        if agent is None:
            if new.agent_version:
                raise NotFound("agent version", f"{new.agent_id}@{new.agent_version}")
            raise NotFound("agent", new.agent_id)
        if agent.archived_at is not None:
            raise agent_archived(agent.id)
        return agent, remembered

    async def get(self, ws: str, session_id: str) -> Session:
        require_id("session_id", session_id, ids.SESSION)
        session = await self.store.get_session(ws, session_id)
        if session is None:
            raise NotFound("session", session_id)
        return session

    async def list_page(self, ws: str, size: int, token: str, query: SessionQuery) -> Page:
        size = page_size("page_size", size)
        if query.agent_id:
            require_id("agent_id", query.agent_id, ids.AGENT)
        for i, status in enumerate(query.statuses):
            if status not in STATUSES:
                raise InvalidArgument.one(f"statuses[{i}]", f"{status} is not a session status")
        if query.agent_version < 0:
            raise InvalidArgument.one("agent_version", "must not be negative")
        if query.agent_version and not query.agent_id:
            raise InvalidArgument.one("agent_version", "needs agent_id")
        if (query.created_after is not None and query.created_before is not None
                and query.created_after >= query.created_before):
            raise InvalidArgument.one("created_before", "must be later than created_after")
        fingerprint = paging.query_fingerprint(kind="sessions", **vars(query))

        async def fetch(after: list[object] | None, limit: int) -> list[Session]:
            return await self.store.list_sessions(ws, after=after, limit=limit, **vars(query))

        return await keyset_page(fetch, fingerprint, token, size,
                                 lambda s: [s.created_at, s.id], (int, str))

    async def update(self, ws: str, session_id: str, changes: Session,
                     paths: list[str]) -> Session:
        require_id("session_id", session_id, ids.SESSION)

        def change(current: Session) -> Session:
            session = shallow_copy(current)
            apply_mask(session, changes, paths, UPDATABLE)
            v = Violations()
            v.max_length("session.title", session.title, TITLE_MAX)
            v.metadata("session.metadata", session.metadata)
            v.raise_if_any()
            session.updated_at = now_us()
            return session

        session = await self.store.change_session(ws, session_id, change)
        if session is None:
            raise NotFound("session", session_id)
        return session

    async def archive(self, ws: str, session_id: str) -> Session:
        require_id("session_id", session_id, ids.SESSION)

        def rules(log: SessionLog) -> Session:
            turns.archive(log, now_us())
            return log.session

        return await appends.append(self.store, self.hub, ws, session_id, rules)

    async def delete(self, ws: str, session_id: str) -> None:
        require_id("session_id", session_id, ids.SESSION)
        if not await self.store.delete_session(ws, session_id):
            raise NotFound("session", session_id)
        self.hub.deleted(session_id)
