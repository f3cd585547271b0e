"""Conversion between table rows and domain objects: the one place rows are read or built."""

from __future__ import annotations

import functools
import json
from dataclasses import fields
from typing import Any

from sqlalchemy import Row

from server.domain.models import (
    Agent,
    Credential,
    Environment,
    Event,
    File,
    Holder,
    Memory,
    Session,
)

_AGENT_FIELDS = fields(Agent)


def dumps(value: Any) -> str:
    # Most stored lists and maps are empty (a session row holds five): those skip the encoder.
    if not value and type(value) in (list, dict):
        return "[]" if type(value) is list else "{}"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    """JSON text as a value. Most stored lists and maps are empty: those skip the parser
    (a session row holds five of them; parsing dominated ListSessions under cProfile)."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def agent_body(agent: Agent) -> str:
    """The per-version fields of an agent, as stored in `agent_versions.body`."""
    return dumps({"name": agent.name, "description": agent.description, "model": agent.model,
                  "system": agent.system, "tools": agent.tools, "metadata": agent.metadata})


def agent_from(head: Row[Any], version: int, body: str, version_created_at: int) -> Agent:
    fields = loads(body)
    return Agent(id=head.id, version=version, archived_at=head.archived_at,
                 created_at=head.created_at, updated_at=version_created_at, **fields)


def agent_snapshot(agent: Agent) -> str:
    """The agent as a session stores it (`RememberedAgents` keeps it for agents it keeps)."""
    # Not dataclasses.asdict: it deep-copies every value first (90 µs a session under load).
    return dumps({f.name: getattr(agent, f.name) for f in _AGENT_FIELDS})


def environment_values(env: Environment, workspace_id: str) -> dict[str, Any]:
    return {"id": env.id, "workspace_id": workspace_id, "name": env.name,
            "description": env.description, "config": dumps(env.config),
            "metadata": dumps(env.metadata), "archived_at": env.archived_at,
            "created_at": env.created_at, "updated_at": env.updated_at}


def environment_from(row: Row[Any]) -> Environment:
    return Environment(id=row.id, name=row.name, description=row.description,
                       config=loads(row.config), metadata=loads(row.metadata),
                       archived_at=row.archived_at, created_at=row.created_at,
                       updated_at=row.updated_at)


def session_values(s: Session, workspace_id: str,
                   snapshot: str | None = None) -> dict[str, Any]:
    """A new session's row; `snapshot`: its agent's snapshot text, if already encoded."""
    return {"id": s.id, "workspace_id": workspace_id, "agent_id": s.agent.id,
            "agent_version": s.agent.version,
            "agent_snapshot": agent_snapshot(s.agent) if snapshot is None else snapshot,
            "environment_id": s.environment_id, "vault_ids": dumps(s.vault_ids),
            "memory_store_ids": dumps(s.memory_store_ids), "created_at": s.created_at,
            **session_state_values(s)}


# The columns of a session that change after it is created.
SESSION_STATE = ("status", "turn_status", "turn_id", "title", "metadata", "resources",
                 "active_seconds", "last_sequence", "archived_at", "updated_at",
                 "pending_actions", "lease_id", "lease_owner", "lease_expires_at",
                 "running_since")


def session_state_values(s: Session) -> dict[str, Any]:
    """The columns of a session that change after it is created."""
    return {"status": s.status, "turn_status": s.turn_status, "turn_id": s.turn_id,
            "title": s.title, "metadata": dumps(s.metadata), "resources": dumps(s.resources),
            "active_seconds": s.active_seconds, "last_sequence": s.last_sequence,
            "archived_at": s.archived_at, "updated_at": s.updated_at,
            "pending_actions": dumps(s.pending_actions), "lease_id": s.lease_id,
            "lease_owner": s.lease_owner, "lease_expires_at": s.lease_expires_at,
            "running_since": s.running_since}


@functools.lru_cache(maxsize=1024)
def _snapshot(text: str) -> Agent:
    """The agent snapshot of a session. Many sessions share one snapshot, so the parsed
    object is shared too: callers read it and never change it."""
    return Agent(**loads(text))


def session_from(row: Row[Any]) -> Session:
    return Session(id=row.id, agent=_snapshot(row.agent_snapshot),
                   environment_id=row.environment_id, status=row.status,
                   turn_status=row.turn_status, turn_id=row.turn_id, title=row.title,
                   metadata=loads(row.metadata), resources=loads(row.resources),
                   vault_ids=loads(row.vault_ids), memory_store_ids=loads(row.memory_store_ids),
                   active_seconds=row.active_seconds, last_sequence=row.last_sequence,
                   archived_at=row.archived_at, created_at=row.created_at,
                   updated_at=row.updated_at, pending_actions=loads(row.pending_actions),
                   lease_id=row.lease_id, lease_owner=row.lease_owner,
                   lease_expires_at=row.lease_expires_at, running_since=row.running_since)


def event_values(e: Event, workspace_id: str) -> dict[str, Any]:
    return {"session_id": e.session_id, "sequence": e.sequence, "id": e.id,
            "workspace_id": workspace_id, "type": e.type, "turn_id": e.turn_id,
            "created_at": e.created_at, "processed_at": e.processed_at,
            "payload": dumps(e.payload)}


def event_from(row: Row[Any]) -> Event:
    return Event(id=row.id, type=row.type, session_id=row.session_id, sequence=row.sequence,
                 turn_id=row.turn_id, created_at=row.created_at,
                 processed_at=row.processed_at, payload=loads(row.payload))


def file_values(f: File, workspace_id: str) -> dict[str, Any]:
    return {"id": f.id, "workspace_id": workspace_id, "filename": f.filename,
            "mime_type": f.mime_type, "purpose": f.purpose, "status": f.status,
            "size_bytes": f.size_bytes, "sha256": f.sha256, "metadata": dumps(f.metadata),
            "session_id": f.session_id, "created_at": f.created_at,
            "updated_at": f.updated_at}


def file_from(row: Row[Any]) -> File:
    return File(id=row.id, filename=row.filename, mime_type=row.mime_type,
                purpose=row.purpose, status=row.status, size_bytes=row.size_bytes,
                sha256=row.sha256, metadata=loads(row.metadata), session_id=row.session_id,
                created_at=row.created_at, updated_at=row.updated_at)


def holder_values(h: Holder, workspace_id: str) -> dict[str, Any]:
    return {"id": h.id, "workspace_id": workspace_id, "name": h.name,
            "description": h.description, "metadata": dumps(h.metadata),
            "archived_at": h.archived_at, "created_at": h.created_at,
            "updated_at": h.updated_at}


def holder_from(row: Row[Any]) -> Holder:
    return Holder(id=row.id, name=row.name, description=row.description,
                  metadata=loads(row.metadata), archived_at=row.archived_at,
                  created_at=row.created_at, updated_at=row.updated_at)


def credential_from(row: Row[Any]) -> Credential:
    return Credential(id=row.id, vault_id=row.vault_id, kind=row.kind,
                      public=loads(row.public), secret=row.secret, created_at=row.created_at)


def memory_from(row: Row[Any]) -> Memory:
    return Memory(id=row.id, memory_store_id=row.memory_store_id, path=row.path,
                  content=row.content, version=row.version, created_at=row.created_at,
                  updated_at=row.updated_at)
