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
    loop = asyncio.get_running_loop()
    beat_at = loop.time() + heartbeat_seconds  # moved on by whatever is sent, nothing else
    while True:
        fresh = _take_contiguous(sub, last)
        if fresh:
            for event in fresh:
                yield event
                last = event.sequence
                if event.type in event_rules.TERMINAL_TYPES:
                    return
            beat_at = loop.time() + heartbeat_seconds
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
            beat_at = loop.time() + heartbeat_seconds
            continue
        if sub.deleted:
            yield _deleted(session_id, last)
            return
        sub.wakeup.clear()
        try:
            await asyncio.wait_for(sub.wakeup.wait(), max(0.0, beat_at - loop.time()))
        except TimeoutError:
            yield Heartbeat(last)
            beat_at = loop.time() + heartbeat_seconds


def _take_contiguous(sub: Subscription, last: int) -> list[Event]:
    """The pending events that continue right after `last`, in order.

    Writers publish after their commits, and two commits can publish in either order, so
    the mailbox may hold sequences out of order or with a gap. Whatever does not continue
    the run is dropped; the head still says it exists, so the caller reads it from the
    database.
    """
    fresh: list[Event] = []
    expected = last + 1
    while sub.pending:
        event = sub.pending.popleft()
        if event.sequence < expected:
            continue  # already sent
        if event.sequence != expected:
            sub.pending.clear()
            break
        fresh.append(event)
        expected += 1
    return fresh


def _deleted(session_id: str, last: int) -> Event:
    """The `session.deleted` event a stream ends with; it is never stored."""
    return Event(id=ids.new_id(ids.EVENT), type=event_rules.SESSION_DELETED,
                 session_id=session_id, payload={}, sequence=last + 1, created_at=now_us())
