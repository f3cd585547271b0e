"""Field-mask updates and keyset pages, shared by every resource's use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.domain import paging
from server.domain.errors import InvalidArgument
from server.domain.models import Page

T = TypeVar("T")


def apply_mask(target: Any, source: Any, paths: list[str], allowed: frozenset[str]) -> list[str]:
    """Copies the fields named in `paths` from `source` to `target`; returns the fields changed.

    `metadata` replaces the whole map; `metadata.<key>` sets that key from `source.metadata`,
    or removes it when `source.metadata` does not have it.
    """
    if not paths:
        raise InvalidArgument.one("update_mask", f"is required: name the fields to change "
                                                 f"({', '.join(sorted(allowed))})")
    changed: list[str] = []
    for path in paths:
        if path.startswith("metadata.") and "metadata" in allowed:
            key = path.removeprefix("metadata.")
            metadata = dict(target.metadata)
            if key in source.metadata:
                metadata[key] = source.metadata[key]
            else:
                metadata.pop(key, None)
            target.metadata = metadata
            field = "metadata"
        elif path in allowed:
            setattr(target, path, getattr(source, path))
            field = path
        else:
            raise InvalidArgument.one(
                "update_mask", f"cannot update {path!r}; updatable: {', '.join(sorted(allowed))}")
        if field not in changed:
            changed.append(field)
    return changed


async def keyset_page(fetch: Callable[[list[Any] | None, int], Awaitable[list[T]]],
                      fingerprint: str, token: str, size: int,
                      key_of: Callable[[T], list[Any]], shape: tuple[type, ...]) -> Page:
    """One page from `fetch(after_key, size)`, which returns up to size + 1 items; `shape`
    is the types of the sort key that `key_of` gives."""
    after = paging.decode(token, fingerprint, shape)
    items = await fetch(after, size)
    if len(items) <= size:
        return Page(items, "")
    items = items[:size]
    return Page(items, paging.encode(fingerprint, key_of(items[-1])))
