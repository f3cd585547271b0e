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
        self._agents: dict[_Key, Agent] = {}

    def get(self, ws: str, agent_id: str, version: int | None) -> Agent | None:
        return self._agents.get((ws, agent_id, version))

    def put(self, ws: str, version: int | None, agent: Agent) -> None:
        """Remembers a usable agent (not archived, and not too large to keep)."""
        if agent.archived_at is not None or len(rows.agent_body(agent)) > MAX_AGENT_BYTES:
            return
        if len(self._agents) >= MAX_AGENTS:
            self._agents.pop(next(iter(self._agents)))  # the oldest
        self._agents[(ws, agent.id, version)] = agent

    def forget(self, ws: str, agent_id: str) -> None:
        """Forgets every version of the agent (it changed, or a create found it changed)."""
        for key in [k for k in self._agents if k[:2] == (ws, agent_id)]:
            del self._agents[key]
