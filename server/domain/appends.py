"""Appending to a session's log: one transaction, then a notification to its open streams."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.store import RequestKey, SessionLog, Store
from server.streaming.hub import Hub

T = TypeVar("T")


async def append(store: Store, hub: Hub, ws: str, session_id: str,
                 rules: Callable[[SessionLog], T], key: RequestKey | None = None,
                 combine: bool = False) -> T:
    """Runs `rules` on the locked session; once it committed, notifies the session's
    streams. (`combine`: see `Store.in_session`.)

    The caller may go away (a deadline, a cancel) while the transaction commits. The commit
    happens all the same, so its notification must too, or open streams would not hear of
    events that are stored: the store makes it once the transaction committed, whether or
    not the caller is still there. (It did so from a shielded task of its own; the callback
    costs no task, measured +5-8% SendEvents.)
    """
    result, _ = await store.in_session(
        ws, session_id, rules, key, combine,
        on_stored=lambda outcome: hub.published(session_id, outcome[1]))
    return result
