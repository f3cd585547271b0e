"""In-process fan-out: who follows which session, its newest events, and a wake-up for
runtimes waiting for work."""

from __future__ import annotations

import asyncio

from server.domain.models import Event
from server.streaming.replay_pages import ReplayPages
from server.streaming.run_slots import RunSlots

# A feed looks for events every stream has taken, to let them go, once per this many new
# events (not on every publish: that scan visits every stream of the session).
TRIM_EVERY = 64


class Feed:
    """A followed session's newest events, kept once for all of its open streams.

    Each stream keeps only its cursor and takes slices of `events`, so a new event costs one
    append however many streams follow the session (a mailbox per stream cost an append and
    a pop per stream, which at 100 subscribers was most of the fan-out's own work).

    `events` is consecutive from `base`. Bounded: it keeps at most `capacity` events, and
    lets go sooner of those every stream has taken. A stream whose next event is not here (it
    fell behind, or commits published out of order) reads it from the database, in pages
    the session's streams share (`replay`); `head` says it exists. Memory never grows with
    a slow consumer, and the consumer loses nothing.

    `workspace_id` is the session's workspace once a stream has found the session there; until
    then, the one its first stream asked for.
    """

    def __init__(self, session_id: str, workspace_id: str, capacity: int) -> None:
        self.session_id = session_id
        self.workspace_id = workspace_id
        self.capacity = capacity
        self.events: list[Event] = []
        self.base = 0  # the sequence of events[0]
        self.head = 0  # the newest sequence known to exist, here or only in the database
        self.deleted = False
        self.streams: set[Subscription] = set()
        self.waiting: set[Subscription] = set()  # streams asleep until news
        # What its streams behind the feed read from the database, shared between them.
        self.replay = ReplayPages(lambda: len(self.streams) > 1)
        self._trim_at = TRIM_EVERY

    def add(self, new_events: list[Event]) -> None:
        """Events one commit appended, in sequence order."""
        end = self.base + len(self.events)
        first = new_events[0].sequence
        if self.events and first == end:
            self.events.extend(new_events)
        elif not self.events or first > end:
            # Nothing kept, or a gap (another commit has yet to publish what comes between):
            # start afresh here. Streams that need what is missing read it from the database.
            self.events = list(new_events)
            self.base = first
            self._trim_at = TRIM_EVERY
        else:  # overlaps what is kept: only what is new
            self.events.extend(e for e in new_events if e.sequence >= end)
        if len(self.events) > self.capacity:  # streams that far behind read the database
            self._drop_before(self.base + len(self.events) - self.capacity)
        if len(self.events) >= self._trim_at:
            self._trim()
        self.raise_head(new_events[-1].sequence)

    def raise_head(self, head: int) -> None:
        """Records news; wakes the streams asleep (only news wakes a stream)."""
        if head > self.head:
            self.head = head
            for sub in self.waiting:
                sub.wakeup.set()
            self.waiting.clear()

    def _trim(self) -> None:
        """Lets go of the events every stream is past."""
        end = self.base + len(self.events)
        self._drop_before(min((sub.taken for sub in self.streams), default=end - 1) + 1)
        self._trim_at = len(self.events) + TRIM_EVERY

    def _drop_before(self, sequence: int) -> None:
        if sequence > self.base:
            del self.events[:sequence - self.base]
            self.base = sequence


class Subscription:
    """One open stream of a session: where it has got to in the session's feed, and its
    wake-up."""

    __slots__ = ("feed", "taken", "read_head", "wakeup")

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.taken = 0  # where this stream has got to: the feed may let go of events up to it
        # The head this stream read from the database when it began. Its own: raising the
        # feed's would wake every stream of the session to read the database for an event
        # whose publish is on its way.
        self.read_head = 0
        self.wakeup = asyncio.Event()

    @property
    def head(self) -> int:
        """The newest sequence this stream knows to exist."""
        return max(self.feed.head, self.read_head)

    @property
    def deleted(self) -> bool:
        return self.feed.deleted

    def take(self, last: int) -> list[Event]:
        """The kept events that continue right after `last`, in order (empty when the next
        one is not kept)."""
        feed = self.feed
        start = last + 1 - feed.base
        if start < 0 or start >= len(feed.events):
            return []
        ready = feed.events[start:]
        self.taken = ready[-1].sequence
        return ready

    def sleep(self) -> None:
        """Clears the wake-up; the next news (or `wakeup.set()` by anyone) sets it."""
        self.wakeup.clear()
        self.feed.waiting.add(self)


class Hub:
    """Routes notifications to the feeds of followed sessions. Used on the event loop only."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._feeds: dict[str, Feed] = {}
        # Set when a turn may need a runtime; runtimes waiting for work wake on it.
        self.runnable = asyncio.Event()
        # Set when hints may have been lost: the poller reads every followed head at once.
        self.poll_now = asyncio.Event()
        # When the busy streams in runs send, shared by all of them.
        self.run_slots = RunSlots()

    def subscribe(self, session_id: str, workspace_id: str = "") -> Subscription:
        feed = self._feeds.get(session_id)
        if feed is None:
            feed = self._feeds[session_id] = Feed(session_id, workspace_id, self.capacity)
        sub = Subscription(feed)
        feed.streams.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        feed = sub.feed
        feed.streams.discard(sub)
        feed.waiting.discard(sub)
        if not feed.streams and self._feeds.get(feed.session_id) is feed:
            del self._feeds[feed.session_id]

    def published(self, session_id: str, new_events: list[Event]) -> None:
        """Called after a commit appended `new_events` (in sequence order) to the session."""
        if any(e.type == "session.status_running" for e in new_events):
            self.runnable.set()
        feed = self._feeds.get(session_id)
        if feed is not None and new_events:
            feed.add(new_events)

    def deleted(self, session_id: str) -> None:
        """Called after a session was deleted: its streams say so and end."""
        feed = self._feeds.get(session_id)
        if feed is not None:
            feed.deleted = True
            for sub in feed.streams:
                sub.wakeup.set()

    def hinted(self, session_id: str, head: int, flag: str) -> None:
        """A hint from another replica's commit: events up to `head` exist (read them from
        the database); `flag` says whether a turn became runnable or the session is gone."""
        if flag == "r":
            self.runnable.set()
        if flag == "d":
            self.deleted(session_id)
            return
        feed = self._feeds.get(session_id)
        if feed is not None:
            feed.raise_head(head)  # only news wakes a stream

    def recheck_all(self) -> None:
        """After hints may have been lost: the poller reads every head, runtimes look."""
        self.runnable.set()
        self.poll_now.set()

    def followed(self) -> list[tuple[str, str]]:
        """(workspace, session) of every session with an open stream."""
        return [(feed.workspace_id, session_id) for session_id, feed in self._feeds.items()]
