"""Idempotency keys: the result of the first request made with a `request_id`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, exc, insert, select

from server.domain.errors import AlreadyExists, NotFound
from server.store.database import Database
from server.store.tables import request_ids

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestKey:
    """An idempotency key as the domain hands it over: where it applies, and to what request."""

    scope: str
    request_id: str
    fingerprint: str


def recall(conn: Connection, workspace_id: str, key: RequestKey) -> str | None:
    """The stored result of an earlier request with this key, or None if there was none."""
    row = conn.execute(
        select(request_ids.c.fingerprint, request_ids.c.result).where(
            request_ids.c.workspace_id == workspace_id, request_ids.c.scope == key.scope,
            request_ids.c.request_id == key.request_id)).first()
    if row is None:
        return None
    if row.fingerprint != key.fingerprint:
        raise AlreadyExists(
            f"request_id {key.request_id!r} was already used with a different request",
            "REQUEST_ID_REUSED")
    return str(row.result)


def remember(conn: Connection, workspace_id: str, key: RequestKey, result: str, now: int) -> None:
    """Records the result of a request; a concurrent duplicate fails the transaction (retried)."""
    conn.execute(insert(request_ids), {
        "workspace_id": workspace_id, "scope": key.scope, "request_id": key.request_id,
        "fingerprint": key.fingerprint, "result": result, "created_at": now})


async def write_once(db: Database, key: RequestKey | None, work: Callable[..., T],
                     *args: Any, after_commit: Callable[[], None] | None = None,
                     on_stored: Callable[[T], None] | None = None,
                     complete: bool = False) -> T:
    """Runs a write that recalls and remembers `key`. Two concurrent requests with one key:
    the loser's insert of the key fails, and its retry finds the winner's result.
    (`after_commit`, `on_stored`, `complete`: as for `Database.write`.)"""
    try:
        return await db.write(work, *args, after_commit=after_commit, on_stored=on_stored,
                              complete=complete)
    except exc.IntegrityError:
        if key is None:
            raise
        return await db.write(work, *args, after_commit=after_commit, on_stored=on_stored,
                              complete=complete)


def must(found: T | None, kind: str, resource_id: str) -> T:
    """What an earlier request with the same key created; gone since, it is NOT_FOUND."""
    if found is None:
        raise NotFound(kind, resource_id)
    return found
