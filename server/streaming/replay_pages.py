"""A followed session's stored events, read from the database once for all of its streams
that replay them.

Streams that are behind the feed (they asked to start from an old sequence, or fell more
than a feed's worth behind) read the database. Each used to read its own pages: 100
subscribers catching up on one session read every page 100 times, and turned every row
into an event 100 times (a fifth of the event loop's time while 100 streams replayed, under
py-spy). Here they read pages on fixed boundaries, so that streams a few events apart ask
for the same page; a read in flight is shared by every stream that asks for its page, and a
full page is kept for a moment for the streams that come to it next. (100 streams replaying
one session from its start, read by h2load, alternating runs: 40,100 stream messages a
second, each stream reading its own pages; 54,000-55,600 sharing them.)

A kept page holds events as they were read, up to KEEP_S ago: an event's processed_at or
turn_id set since, or the session's delete, is not in it. A stream sends each event once,
as it finds it, and the feed's events are likewise as they were at commit; a stream that
reaches the end of what is kept reads the database again (and finds a delete there).

Pages are kept only while the session has more than one stream: a stream replaying alone
reads each page once anyway, and memory holds one page of its, not several.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable

from server.domain.models import Event

# Stored events read at a time: a page.
PAGE = 200
# Full pages kept per session, the newest read: streams that replay together stay within a
# few pages of one another.
KEEP = 4
# How long a full page is kept after its read, in seconds: long enough for streams a few
# pages apart to come to it, short enough that a session's replay holds no memory after.
KEEP_S = 1.0

# Reads `limit` stored events after a sequence, oldest first; None when the session is gone.
Read = Callable[[int, int], Awaitable[list[Event] | None]]


class ReplayPages:
    """One session's pages of stored events, shared by its streams. Used on the event loop
    only."""

    def __init__(self, shared: Callable[[], bool]) -> None:
        self._shared = shared  # whether the session has other streams that may read a page
        self._kept: dict[int, list[Event]] = {}  # full pages by number, oldest read first
        self._reading: dict[int, asyncio.Task[list[Event] | None]] = {}

    async def after(self, last: int, read: Read) -> list[Event] | None:
        """The stored events after sequence `last`, up to the end of its page (at least
        one, when any exist); None when the session is gone."""
        number = last // PAGE
        page = self._kept.get(number)
        if page is None:
            page = await self._page(number, read)
            if page is None:
                return None
        rest = page[bisect.bisect_right(page, last, key=_sequence):]
        if not rest and len(page) < PAGE:
            # A page read before its later events were committed, or shared from a read
            # that began before this stream knew of them: read this stream's own.
            return await read(last, PAGE)
        return rest

    async def _page(self, number: int, read: Read) -> list[Event] | None:
        reading = self._reading.get(number)
        if reading is None:
            # A task of its own, not the first asker's: a stream that closes mid-read
            # leaves the read to the others.
            reading = self._reading[number] = asyncio.get_running_loop().create_task(
                self._read(number, read))
            reading.add_done_callback(lambda done: self._read_ended(number, done))
        return await asyncio.shield(reading)  # a waiter's cancellation is its own

    async def _read(self, number: int, read: Read) -> list[Event] | None:
        page = await read(number * PAGE, PAGE)
        # A partial page may yet grow; a page only this stream reads, it reads once.
        if page is not None and len(page) == PAGE and self._shared():
            self._keep(number, page)
        return page

    def _read_ended(self, number: int, done: asyncio.Task[list[Event] | None]) -> None:
        # (Also when cancelled before it began, at shutdown, when no `finally` would run.)
        if self._reading.get(number) is done:
            del self._reading[number]

    def _keep(self, number: int, page: list[Event]) -> None:
        self._kept[number] = page
        while len(self._kept) > KEEP:
            del self._kept[next(iter(self._kept))]
        asyncio.get_running_loop().call_later(KEEP_S, self._let_go, number, page)

    def _let_go(self, number: int, page: list[Event]) -> None:
        if self._kept.get(number) is page:
            del self._kept[number]


def _sequence(event: Event) -> int:
    return event.sequence
