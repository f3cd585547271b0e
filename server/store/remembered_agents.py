"""Agents as earlier creates in this process found them, for the next create to snapshot.

A version of an agent never changes; whether the agent is archived, and which version is
its latest, can (on any replica). A create that takes a remembered agent is one statement
that checks both, and reads the agent afresh when that statement refuses it
(`Store.create_session`), so what is remembered here is never trusted, only tried.
"""

from __future__ import annotations

from server.domain.models import Agent
from server.store import rows

# Bounded in entries and in size: an agent can carry a long system prompt and many tools.
MAX_AGENTS = 256
MAX_AGENT_BYTES = 64 * 1024

_Key = tuple[str, str, int | None]  # (workspace, agent ID, version; None for the latest)


class RememberedAgents:
    def __init__(self) -> None:
        # Each agent with its snapshot text, encoded once, when it is remembered.
        self._agents: dict[_Key, tuple[Agent, str]] = {}

    def get(self, ws: str, agent_id: str, version: int | None) -> Agent | None:
        found = self._agents.get((ws, agent_id, version))
        return None if found is None else found[0]

    def snapshot(self, ws: str, version: int | None, agent: Agent) -> str | None:
        """The snapshot text of `agent`, if it is the very agent remembered for `version`."""
        found = self._agents.get((ws, agent.id, version))
        return found[1] if found is not None and found[0] is agent else None

    def put(self, ws: str, version: int | None, agent: Agent) -> None:
        """Remembers a usable agent (not archived, and not too large to keep)."""
        if agent.archived_at is not None:
            return
        snapshot = rows.agent_snapshot(agent)
        if len(snapshot) > MAX_AGENT_BYTES:
            return
        if len(self._agents) >= MAX_AGENTS:
            self._agents.pop(next(iter(self._agents)))  # the oldest
        self._agents[(ws, agent.id, version)] = (agent, snapshot)

    def forget(self, ws: str, agent_id: str) -> None:
        """Forgets every version of the agent (it changed, or a create found it changed)."""
        for key in [k for k in self._agents if k[:2] == (ws, agent_id)]:
            del self._agents[key]
