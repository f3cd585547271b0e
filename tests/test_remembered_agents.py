"""What a process remembers of agents for its creates stays bounded, and is forgotten
when the agent changes."""

from __future__ import annotations

from server.domain.models import Agent
from server.store import rows
from server.store.remembered_agents import MAX_AGENT_BYTES, MAX_AGENTS, RememberedAgents


def _agent(agent_id: str, version: int = 1, **fields: object) -> Agent:
    return Agent(id=agent_id, version=version, name="a", model="m", **fields)  # type: ignore[arg-type]


def test_bounded_in_entries_and_in_size():
    remembered = RememberedAgents()
    for i in range(MAX_AGENTS + 10):
        remembered.put("ws", None, _agent(f"agent_{i}"))
    assert remembered.get("ws", "agent_0", None) is None  # the oldest went first
    assert remembered.get("ws", f"agent_{MAX_AGENTS + 9}", None) is not None
    assert sum(remembered.get("ws", f"agent_{i}", None) is not None
               for i in range(MAX_AGENTS + 10)) == MAX_AGENTS
    remembered.put("ws", None, _agent("big", system="x" * MAX_AGENT_BYTES))
    remembered.put("ws", None, _agent("archived", archived_at=1))
    assert remembered.get("ws", "big", None) is None
    assert remembered.get("ws", "archived", None) is None


def test_forget_drops_every_version_of_that_agent_in_that_workspace_only():
    remembered = RememberedAgents()
    for ws in ("ws1", "ws2"):
        remembered.put(ws, None, _agent("agent_a", 2))
        remembered.put(ws, 1, _agent("agent_a", 1))
        remembered.put(ws, None, _agent("agent_b"))
    remembered.forget("ws1", "agent_a")
    assert remembered.get("ws1", "agent_a", None) is None
    assert remembered.get("ws1", "agent_a", 1) is None
    assert remembered.get("ws1", "agent_b", None) is not None
    assert remembered.get("ws2", "agent_a", 1) is not None


def test_the_snapshot_text_is_given_only_for_the_very_agent_remembered():
    """A create of a remembered agent stores the text encoded when it was remembered; an
    equal agent read afresh (another object) is encoded anew, never given stale text."""
    remembered = RememberedAgents()
    agent = _agent("agent_a", 2, system="be brief")
    remembered.put("ws", None, agent)
    assert remembered.snapshot("ws", None, agent) == rows.agent_snapshot(agent)
    assert remembered.snapshot("ws", None, _agent("agent_a", 2, system="be brief")) is None
    assert remembered.snapshot("ws", 2, agent) is None  # remembered as the latest only
    remembered.forget("ws", "agent_a")
    assert remembered.snapshot("ws", None, agent) is None
