"""Agent use cases: versioned configurations; every update creates the next version."""

from __future__ import annotations

import copy

from server.domain import ids, paging
from server.domain.clock import now_us
from server.domain.errors import InvalidArgument, NotFound
from server.domain.models import Agent, Page
from server.domain.updates import apply_mask, keyset_page
from server.domain.validation import Violations, page_size, require_id
from server.store import RequestKey, Store

UPDATABLE = frozenset({"name", "description", "model", "system", "tools", "metadata"})
TOOLS_MAX = 128


def check_agent(v: Violations, agent: Agent, prefix: str = "") -> None:
    """The fields of an agent: name and model required, lengths, tools, metadata."""
    if v.required(f"{prefix}name", agent.name):
        v.max_length(f"{prefix}name", agent.name, 256)
    if v.required(f"{prefix}model", agent.model):
        v.max_length(f"{prefix}model", agent.model, 256)
    v.max_length(f"{prefix}description", agent.description, 2048)
    v.max_length(f"{prefix}system", agent.system, 200_000)
    v.metadata(f"{prefix}metadata", agent.metadata)
    if len(agent.tools) > TOOLS_MAX:
        v.add(f"{prefix}tools", f"must have at most {TOOLS_MAX} entries")
    names: set[str] = set()
    for i, tool in enumerate(agent.tools):
        where = f"{prefix}tools[{i}]"
        v.required(f"{where}.type", tool.get("type", ""))
        name = tool.get("name", "")
        if tool.get("type") == "custom" and not name:
            v.add(f"{where}.name", "is required for custom tools")
        if name in names:
            v.add(f"{where}.name", f"duplicates the tool name {name!r}")
        elif name:
            names.add(name)


class Agents:
    """Create, read, list, version and archive agents."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, ws: str, agent: Agent, key: RequestKey | None) -> Agent:
        v = Violations()
        check_agent(v, agent)
        v.raise_if_any()
        now = now_us()
        agent.id, agent.version = ids.new_id(ids.AGENT), 1
        agent.created_at = agent.updated_at = now
        agent.archived_at = None
        return await self.store.create_agent(ws, agent, key)

    async def get(self, ws: str, agent_id: str, version: int = 0) -> Agent:
        require_id("agent_id", agent_id, ids.AGENT)
        if version < 0:
            raise InvalidArgument.one("version", "must not be negative (0 means the latest)")
        agent = await self.store.get_agent(ws, agent_id, version or None)
        if agent is None:
            if version and await self.store.get_agent(ws, agent_id, None) is not None:
                raise NotFound("agent version", f"{agent_id}@{version}")
            raise NotFound("agent", agent_id)
        return agent

    async def list_page(self, ws: str, size: int, token: str, include_archived: bool,
                   descending: bool) -> Page:
        size = page_size("page_size", size)
        fingerprint = paging.query_fingerprint(kind="agents", archived=include_archived,
                                               desc=descending)

        async def fetch(after: list[object] | None, limit: int) -> list[Agent]:
            return await self.store.list_agents(ws, include_archived, descending, after, limit)

        return await keyset_page(fetch, fingerprint, token, size,
                                 lambda a: [a.created_at, a.id], (int, str))

    async def list_versions(self, ws: str, agent_id: str, size: int, token: str) -> Page:
        require_id("agent_id", agent_id, ids.AGENT)
        size = page_size("page_size", size)
        fingerprint = paging.query_fingerprint(kind="agent_versions", agent=agent_id)

        async def fetch(after: list[object] | None, limit: int) -> list[Agent]:
            before = int(after[0]) if after else None  # type: ignore[call-overload]  # (int,)
            found = await self.store.list_agent_versions(ws, agent_id, before, limit)
            if found is None:
                raise NotFound("agent", agent_id)
            return found

        return await keyset_page(fetch, fingerprint, token, size, lambda a: [a.version],
                                 (int,))

    async def update(self, ws: str, agent_id: str, base_version: int, changes: Agent,
                     paths: list[str]) -> Agent:
        """Stores the next version: `base_version` with the masked fields of `changes`."""
        require_id("agent_id", agent_id, ids.AGENT)
        v = Violations()
        if base_version <= 0:
            v.add("version", "is required: the version this update is based on")
        v.raise_if_any()
        base = await self.get(ws, agent_id, base_version)
        agent = copy.deepcopy(base)
        apply_mask(agent, changes, paths, UPDATABLE)
        check_agent(v, agent, prefix="agent.")
        v.raise_if_any()
        agent.version = base_version + 1
        agent.updated_at = now_us()
        await self.store.add_agent_version(ws, agent, base_version)
        return agent

    async def archive(self, ws: str, agent_id: str) -> Agent:
        require_id("agent_id", agent_id, ids.AGENT)
        agent = await self.store.archive_agent(ws, agent_id, now_us())
        if agent is None:
            raise NotFound("agent", agent_id)
        return agent
