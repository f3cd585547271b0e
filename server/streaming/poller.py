"""The slow poll behind the hints: now and then, one query reads the stored head of every
session that has open streams, so a lost hint costs a delay, never an event."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.store import Store
from server.streaming.hub import Hub

log = logging.getLogger(__name__)
CHUNK = 500


async def poll_heads(store: Store, hub: Hub, interval_seconds: float) -> None:
    """Runs until cancelled: every `interval_seconds`, or at once when the hub asks (after
    the PostgreSQL listener reconnected), hints every followed session with its head."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hub.poll_now.wait(), interval_seconds)
        hub.poll_now.clear()
        try:
            followed = hub.followed()
            for start in range(0, len(followed), CHUNK):
                chunk = followed[start:start + CHUNK]
                heads = await store.heads(chunk)
                for _, session_id in chunk:
                    head = heads.get(session_id)
                    hub.hinted(session_id, head or 0, "d" if head is None else "")
        except Exception:  # noqa: BLE001 - storage down: the next round tries again
            log.warning("polling stream heads failed; retrying", exc_info=True)
