"""Vaults and memory stores: named, archivable containers with the same rules."""

from __future__ import annotations

import copy
from collections.abc import Callable

from server.domain import ids, paging
from server.domain.clock import now_us
from server.domain.errors import FailedPrecondition, NotFound
from server.domain.models import Holder, Page
from server.domain.updates import apply_mask, keyset_page
from server.domain.validation import Violations, page_size, require_id
from server.store import RequestKey
from server.store.referenced import ReferencedStore

UPDATABLE = frozenset({"name", "description", "metadata"})


class Holders:
    """The use cases of one kind of container: "vault" or "memory store"."""

    def __init__(self, store: ReferencedStore, kind: str, prefix: str) -> None:
        self.store = store
        self.kind = kind
        self.prefix = prefix
        self.field = kind.replace(" ", "_") + "_id"  # vault_id, memory_store_id

    def _check(self, holder: Holder, prefix: str = "") -> None:
        v = Violations()
        if v.required(f"{prefix}name", holder.name):
            v.max_length(f"{prefix}name", holder.name, 256)
        v.max_length(f"{prefix}description", holder.description, 2048)
        v.metadata(f"{prefix}metadata", holder.metadata)
        v.raise_if_any()

    async def create(self, ws: str, holder: Holder, key: RequestKey | None) -> Holder:
        self._check(holder)
        now = now_us()
        holder.id, holder.created_at, holder.updated_at = ids.new_id(self.prefix), now, now
        return await self.store.create_holder(self.kind, ws, holder, key)

    async def get(self, ws: str, holder_id: str) -> Holder:
        require_id(self.field, holder_id, self.prefix)
        holder = await self.store.get_holder(self.kind, ws, holder_id)
        if holder is None:
            raise NotFound(self.kind, holder_id)
        return holder

    async def list_page(self, ws: str, size: int, token: str, include_archived: bool,
                        descending: bool) -> Page:
        size = page_size("page_size", size)
        fingerprint = paging.query_fingerprint(kind=self.kind, archived=include_archived,
                                               desc=descending)

        async def fetch(after: list[object] | None, limit: int) -> list[Holder]:
            return await self.store.list_holders(self.kind, ws, include_archived, descending,
                                                 after, limit)

        return await keyset_page(fetch, fingerprint, token, size,
                                 lambda h: [h.created_at, h.id], (int, str))

    async def update(self, ws: str, holder_id: str, changes: Holder,
                     paths: list[str]) -> Holder:
        require_id(self.field, holder_id, self.prefix)
        wrapper = self.kind.replace(" ", "_") + "."

        def change(current: Holder) -> Holder:
            holder = copy.deepcopy(current)
            apply_mask(holder, changes, paths, UPDATABLE)
            self._check(holder, prefix=wrapper)
            holder.updated_at = now_us()
            return holder

        return self._found(holder_id, await self.store.change_holder(self.kind, ws, holder_id,
                                                                     change))

    async def archive(self, ws: str, holder_id: str) -> Holder:
        require_id(self.field, holder_id, self.prefix)

        def change(current: Holder) -> Holder:
            if current.archived_at is None:
                current.archived_at = current.updated_at = now_us()
            return current

        return self._found(holder_id, await self.store.change_holder(self.kind, ws, holder_id,
                                                                     change))

    def _found(self, holder_id: str, holder: Holder | None) -> Holder:
        if holder is None:
            raise NotFound(self.kind, holder_id)
        return holder

    def usable(self, holder_id: str) -> Callable[[Holder | None], None]:
        """A check, run in the store's transaction, that the container exists and is open."""
        def admit(holder: Holder | None) -> None:
            if holder is None:
                raise NotFound(self.kind, holder_id)
            if holder.archived_at is not None:
                raise FailedPrecondition(f"{self.kind} {holder_id!r} is archived",
                                         f"{self.kind.upper().replace(' ', '_')}_ARCHIVED",
                                         holder_id)
        return admit
