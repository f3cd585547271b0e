"""Follow a session's log: replay after a cursor from the database, then tail, with no gap
and no duplicate between the two."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from server.domain import event_rules, ids
from server.domain.clock import now_us
from server.domain.models import Event
from server.store import Store
from server.streaming.hub import Hub, Subscription

REPLAY_PAGE = 200


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent on an idle stream; `last_sequence` is where a reconnect should resume."""

    last_sequence: int


async def follow(store: Store, hub: Hub, sub: Subscription, ws: str, session_id: str,
                 after_sequence: int, heartbeat_seconds: float
                 ) -> AsyncIterator[Event | Heartbeat]:
    """Yields every event after `after_sequence` in order, then new ones as they commit.

    `sub` must have been subscribed before the caller read the session's head, so nothing
    committed after that read can be missed. Ends after a terminal event or a delete.
    """
    last = after_sequence
    while True:
        if sub.pending:
            fresh = _take_contiguous(sub, last)
            if fresh is not None:
                for event in fresh:
                    yield event
                    last = event.sequence
                    if event.type in event_rules.TERMINAL_TYPES:
                        return
                continue
        if sub.head > last:
            batch = await store.events_after(ws, session_id, last, REPLAY_PAGE)
            if batch is None:
                yield _deleted(session_id, last)
                return
            for event in batch:
                yield event
                last = event.sequence
                if event.type in event_rules.TERMINAL_TYPES:
                    return
            if not batch:  # the head moved ahead of what is stored: only after a delete
                sub.head = last
            continue
        if sub.deleted:
            yield _deleted(session_id, last)
            return
        sub.wakeup.clear()
        try:
            await asyncio.wait_for(sub.wakeup.wait(), heartbeat_seconds)
        except TimeoutError:
            yield Heartbeat(last)


def _take_contiguous(sub: Subscription, last: int) -> list[Event] | None:
    """Pending events that continue right after `last`; None when there is a gap to read."""
    while sub.pending and sub.pending[0].sequence <= last:
        sub.pending.popleft()  # already sent by the replay
    if not sub.pending:
        return []
    if sub.pending[0].sequence != last + 1:
        sub.pending.clear()  # a gap (the mailbox overflowed): read it from the database
        return None
    fresh = list(sub.pending)
    sub.pending.clear()
    return fresh


def _deleted(session_id: str, last: int) -> Event:
    """The `session.deleted` event a stream ends with; it is never stored."""
    return Event(id=ids.new_id(ids.EVENT), type=event_rules.SESSION_DELETED,
                 session_id=session_id, payload={}, sequence=last + 1, created_at=now_us())
