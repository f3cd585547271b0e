"""In-process fan-out: who follows which session, a hint when its log grows, and a wake-up
for runtimes waiting for work."""

from __future__ import annotations

import asyncio
from collections import deque

from server.domain.models import Event


class Subscription:
    """One open stream's mailbox: the newest sequence it knows of and, while it keeps up,
    the new events themselves, so a caught-up stream needs no database read.

    Bounded: past `capacity` pending events the mailbox drops them and keeps only the head;
    the stream then reads what it missed from the database. Memory never grows with a slow
    consumer, and the consumer loses nothing.
    """

    def __init__(self, session_id: str, capacity: int, workspace_id: str = "") -> None:
        self.session_id = session_id
        self.workspace_id = workspace_id
        self.capacity = capacity
        self.head = 0
        self.pending: deque[Event] = deque()
        self.deleted = False
        self.wakeup = asyncio.Event()

    def notify(self, head: int, new_events: list[Event]) -> None:
        if head > self.head:
            self.head = head
        if len(self.pending) + len(new_events) > self.capacity:
            self.pending.clear()
        else:
            self.pending.extend(new_events)
        self.wakeup.set()

    def notify_deleted(self) -> None:
        self.deleted = True
        self.wakeup.set()


class Hub:
    """Routes notifications to the subscriptions of a session. Used on the event loop only."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._by_session: dict[str, set[Subscription]] = {}
        # Set when a turn may need a runtime; runtimes waiting for work wake on it.
        self.runnable = asyncio.Event()
        # Set when hints may have been lost: the poller reads every followed head at once.
        self.poll_now = asyncio.Event()

    def subscribe(self, session_id: str, workspace_id: str = "") -> Subscription:
        sub = Subscription(session_id, self.capacity, workspace_id)
        self._by_session.setdefault(session_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._by_session.get(sub.session_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_session[sub.session_id]

    def published(self, session_id: str, new_events: list[Event]) -> None:
        """Called after a commit appended `new_events` (in sequence order) to the session."""
        if any(e.type == "session.status_running" for e in new_events):
            self.runnable.set()
        subs = self._by_session.get(session_id)
        if subs and new_events:
            head = new_events[-1].sequence
            for sub in subs:
                sub.notify(head, new_events)

    def deleted(self, session_id: str) -> None:
        """Called after a session was deleted: its streams say so and end."""
        for sub in self._by_session.get(session_id, ()):
            sub.notify_deleted()

    def hinted(self, session_id: str, head: int, flag: str) -> None:
        """A hint from another replica's commit: events up to `head` exist (read them from
        the database); `flag` says whether a turn became runnable or the session is gone."""
        if flag == "r":
            self.runnable.set()
        for sub in self._by_session.get(session_id, ()):
            if flag == "d":
                sub.notify_deleted()
            elif head > sub.head:  # only news wakes a stream
                sub.notify(head, [])

    def recheck_all(self) -> None:
        """After hints may have been lost: the poller reads every head, runtimes look."""
        self.runnable.set()
        self.poll_now.set()

    def followed(self) -> list[tuple[str, str]]:
        """(workspace, session) of every session with an open stream."""
        return [(next(iter(subs)).workspace_id, session_id)
                for session_id, subs in self._by_session.items() if subs]
