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
from server.streaming.hub import Subscription
from server.streaming.run_slots import RunSlots

# uvloop's clock and timers count whole milliseconds: a timer set for a moment can fire
# while the clock still reads a little before it. A moment this close has come (else an idle
# stream would set its heartbeat's timer again and again until the clock moved on).
TIMER_SLACK = 0.001


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent on an idle stream; `last_sequence` is where a reconnect should resume."""

    last_sequence: int


async def follow(store: Store, sub: Subscription, ws: str, session_id: str,
                 after_sequence: int, heartbeat_seconds: float, per_message: int,
                 slots: RunSlots) -> AsyncIterator[list[Event] | Heartbeat]:
    """Yields every event after `after_sequence` in order, then new ones as they commit, in
    runs of consecutive events: as many as are ready, at most `per_message` a run (0: no
    limit, and no slots).

    `sub` must have been subscribed before the caller read the session's head, so nothing
    committed after that read can be missed. Ends after a terminal event or a delete.
    A busy stream with `per_message` > 1 sends in `slots` (its server's: the hub's).
    """
    last = after_sequence
    loop = asyncio.get_running_loop()
    beat_at = loop.time() + heartbeat_seconds  # moved on by whatever is sent, nothing else
    sent_at = -1.0  # long ago
    slot = -1.0  # the last slot this stream waited for
    paced = False  # the last run sent came from the feed: this stream is busy
    stored_to = 0  # a head the database was found to be behind (only after a delete)
    while True:
        ready = sub.take(last)
        if (ready or paced) and per_message > 1 and len(ready) < per_message:
            # A busy stream sends at most once a slot (a full run goes at once), with
            # whatever arrived meanwhile; the first event after a quiet spell goes at
            # once. (Only the tail waits: a replay from the database goes as fast as the
            # client takes it.) A stream that has just sent from the feed sleeps to the
            # next slot at once rather than wait for news and then sleep the rest: under
            # load, news comes within a slot, and that saves a wake-up a message.
            now = loop.time()
            slot = slots.next_slot(sent_at, now)
            wait = slot - now
            paced = False
            if wait > 0:
                await asyncio.sleep(wait)
                ready += sub.take(ready[-1].sequence if ready else last)
        from_db = False
        if not ready and sub.head > max(last, stored_to):
            head = sub.head
            # Read in pages shared by the session's streams (replay_pages.py).
            stored = await sub.feed.replay.after(
                last, lambda after, limit: store.events_after(ws, session_id, after, limit))
            if stored is None:
                yield [_deleted(session_id, last)]
                return
            if not stored:
                # The head moved ahead of what is stored (only after a delete): read again
                # only once it moves on. Look again at once: news may have come during the
                # read, and its wake-up is not to be cleared before it is seen.
                stored_to = head
                continue
            ready, from_db = stored, True
        if ready:
            ended = _through_terminal(ready)
            step = per_message or len(ready)
            for start in range(0, len(ready), step):
                run = ready[start:start + step]
                yield run
                last = run[-1].sequence
            sub.taken = last
            if ended:
                return
            paced = not from_db
            # Sent in the slot it waited for, even when its timer fired while the clock
            # still read a little before the slot's end (see TIMER_SLACK): counted in the
            # slot before, it would send again at once.
            sent_at = max(loop.time(), slot)
            beat_at = sent_at + heartbeat_seconds
            continue
        if sub.deleted:
            yield [_deleted(session_id, last)]
            return
        if loop.time() + TIMER_SLACK >= beat_at:
            yield Heartbeat(last)
            beat_at = loop.time() + heartbeat_seconds
            continue
        # Wait for news or for the heartbeat, whichever comes first. (A timer that sets the
        # wake-up costs less than `asyncio.wait_for`, which makes a task for every wait,
        # and a busy stream waits once per run it sends.)
        sub.sleep()
        timer = loop.call_at(beat_at, sub.wakeup.set)
        try:
            await sub.wakeup.wait()
        finally:
            timer.cancel()
            sub.feed.waiting.discard(sub)


def _through_terminal(events: list[Event]) -> bool:
    """Cuts `events` after its first terminal event, if any; says whether there was one."""
    for i, event in enumerate(events):
        if event.type in event_rules.TERMINAL_TYPES:
            del events[i + 1:]
            return True
    return False


def _deleted(session_id: str, last: int) -> Event:
    """The `session.deleted` event a stream ends with; it is never stored."""
    return Event(id=ids.new_id(ids.EVENT), type=event_rules.SESSION_DELETED,
                 session_id=session_id, payload={}, sequence=last + 1, created_at=now_us())
