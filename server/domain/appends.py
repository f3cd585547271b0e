"""Appending to a session's log: one transaction, then a notification to its open streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from server.store import RequestKey, SessionLog, Store
from server.streaming.hub import Hub

T = TypeVar("T")


async def append(store: Store, hub: Hub, ws: str, session_id: str,
                 rules: Callable[[SessionLog], T], key: RequestKey | None = None,
                 combine: bool = False) -> T:
    """Runs `rules` on the locked session; after the commit, notifies the session's streams.
    (`combine`: see `Store.in_session`.)

    The caller may go away (a deadline, a cancel) while the transaction commits. The commit
    happens all the same, so its notification must too, or open streams would not hear of
    events that are stored: the pair is shielded from the caller's cancellation.
    """
    async def commit() -> T:
        result, appended = await store.in_session(ws, session_id, rules, key, combine)
        hub.published(session_id, appended)
        return result
    return await asyncio.shield(commit())
