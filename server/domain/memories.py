"""Memories: content at normalised paths in a memory store, with their earlier versions."""

from __future__ import annotations

import posixpath

from server.domain import ids, paging
from server.domain.clock import now_us
from server.domain.errors import InvalidArgument, NotFound
from server.domain.holders import Holders
from server.domain.models import Memory, Page
from server.domain.updates import keyset_page
from server.domain.validation import Violations, page_size, require_id

MEMORY = "mem"
PATH_MAX = 512
CONTENT_MAX = 100_000


def normalise_path(field: str, path: str) -> str:
    """An absolute path without '..', '.' or doubled slashes."""
    if not path:
        raise InvalidArgument.one(field, "is required")
    if not path.startswith("/") or ".." in path.split("/"):
        raise InvalidArgument.one(field, "must be an absolute path without '..', such as "
                                         "/projects/notes.md")
    normal = "/" + posixpath.normpath(path).lstrip("/")
    if len(normal) > PATH_MAX:
        raise InvalidArgument.one(field, f"must be at most {PATH_MAX} characters")
    return normal


class Memories:
    """Create, update (keeping the previous version), read, list and delete memories."""

    def __init__(self, stores: Holders) -> None:
        self.stores = stores
        self.store = stores.store

    def _content(self, content: str) -> None:
        v = Violations()
        v.max_length("content", content, CONTENT_MAX)
        v.raise_if_any()

    async def create(self, ws: str, store_id: str, path: str, content: str) -> Memory:
        require_id("memory_store_id", store_id, ids.MEMORY_STORE)
        self._content(content)
        now = now_us()
        memory = Memory(id=ids.new_id(MEMORY), memory_store_id=store_id,
                        path=normalise_path("path", path), content=content, created_at=now,
                        updated_at=now)
        await self.store.create_memory(ws, memory, self.stores.usable(store_id))
        return memory

    def _target(self, memory_id: str, path: str) -> tuple[str, str]:
        if memory_id:
            return require_id("memory_id", memory_id, MEMORY), ""
        if path:
            return "", normalise_path("path", path)
        raise InvalidArgument.one("memory_id", "is required: a memory ID, or a path")

    async def update(self, ws: str, store_id: str, memory_id: str, path: str,
                     content: str) -> Memory:
        require_id("memory_store_id", store_id, ids.MEMORY_STORE)
        memory_id, path = self._target(memory_id, path)
        self._content(content)
        return await self.store.update_memory(ws, store_id, memory_id, path, content, now_us(),
                                              self.stores.usable(store_id))

    async def get(self, ws: str, store_id: str, memory_id: str, path: str,
                  version: int) -> Memory:
        require_id("memory_store_id", store_id, ids.MEMORY_STORE)
        memory_id, path = self._target(memory_id, path)
        if version < 0:
            raise InvalidArgument.one("version", "must not be negative (0 means the current)")
        memory = await self.store.get_memory(ws, store_id, memory_id, path, version)
        if memory is None:
            await self.stores.get(ws, store_id)
            raise NotFound("memory", memory_id or path)
        return memory

    async def list_page(self, ws: str, store_id: str, prefix: str, size: int,
                        token: str) -> Page:
        require_id("memory_store_id", store_id, ids.MEMORY_STORE)
        size = page_size("page_size", size)
        if prefix and not prefix.startswith("/"):
            raise InvalidArgument.one("path_prefix", "must start with '/'")
        await self.stores.get(ws, store_id)
        fingerprint = paging.query_fingerprint(kind="memories", store=store_id, prefix=prefix)

        async def fetch(after: list[object] | None, limit: int) -> list[Memory]:
            return await self.store.list_memories(ws, store_id, prefix, after, limit)

        return await keyset_page(fetch, fingerprint, token, size, lambda m: [m.path], (str,))

    async def delete(self, ws: str, store_id: str, memory_id: str) -> None:
        require_id("memory_store_id", store_id, ids.MEMORY_STORE)
        require_id("memory_id", memory_id, MEMORY)
        if not await self.store.delete_memory(ws, store_id, memory_id):
            await self.stores.get(ws, store_id)
            raise NotFound("memory", memory_id)
