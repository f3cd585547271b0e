"""Memories: path-addressed content in a store; an update keeps the version it replaces."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from server.domain.models import Memory
from server.store import keyset, rows
from server.store.tables import memories, memory_versions


def insert_memory(conn: Connection, ws: str, memory: Memory) -> None:
    conn.execute(insert(memories), {
        "id": memory.id, "workspace_id": ws, "memory_store_id": memory.memory_store_id,
        "path": memory.path, "content": memory.content, "version": memory.version,
        "created_at": memory.created_at, "updated_at": memory.updated_at})


def find_memory(conn: Connection, ws: str, store_id: str, memory_id: str = "",
                path: str = "", for_update: bool = False) -> Memory | None:
    query = select(memories).where(memories.c.memory_store_id == store_id,
                                   memories.c.workspace_id == ws)
    query = query.where(memories.c.id == memory_id if memory_id else memories.c.path == path)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return rows.memory_from(row) if row else None


def older_version(conn: Connection, memory: Memory, version: int) -> Memory | None:
    row = conn.execute(select(memory_versions).where(
        memory_versions.c.memory_id == memory.id, memory_versions.c.version == version)).first()
    if row is None:
        return None
    return Memory(id=memory.id, memory_store_id=memory.memory_store_id, path=memory.path,
                  content=row.content, version=version, created_at=memory.created_at,
                  updated_at=row.created_at)


def replace_content(conn: Connection, current: Memory, content: str, now: int) -> Memory:
    """Keeps the current version, then stores `content` as the next one."""
    conn.execute(insert(memory_versions), {
        "memory_id": current.id, "version": current.version, "content": current.content,
        "created_at": current.updated_at})
    conn.execute(update(memories).where(memories.c.id == current.id).values(
        content=content, version=current.version + 1, updated_at=now))
    return Memory(id=current.id, memory_store_id=current.memory_store_id, path=current.path,
                  content=content, version=current.version + 1, created_at=current.created_at,
                  updated_at=now)


def list_memories(conn: Connection, ws: str, store_id: str, prefix: str,
                  after: list[Any] | None, limit: int) -> list[Memory]:
    query = select(memories).where(memories.c.memory_store_id == store_id,
                                   memories.c.workspace_id == ws)
    if prefix:
        # Escaped: a prefix may hold "%" or "_", which LIKE would take as wildcards.
        query = query.where(memories.c.path.startswith(prefix, autoescape=True))
    query = keyset.page(query, [memories.c.path], after, False, limit)
    return [rows.memory_from(row) for row in conn.execute(query)]


def delete_memory(conn: Connection, ws: str, store_id: str, memory_id: str) -> bool:
    """Deletes the memory (only if it is in this store) and then its versions."""
    gone = conn.execute(delete(memories).where(
        memories.c.id == memory_id, memories.c.memory_store_id == store_id,
        memories.c.workspace_id == ws).returning(memories.c.id)).first()
    if gone is None:
        return False
    conn.execute(delete(memory_versions).where(memory_versions.c.memory_id == memory_id))
    return True
