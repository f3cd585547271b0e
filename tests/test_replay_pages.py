"""A session's stored events, read once for all of its streams that replay them. (Streams of a
real server replaying together: tests/test_streams.py.)"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from server import event_loop
from server.domain.models import Event
from server.streaming import replay_pages
from server.streaming.replay_pages import PAGE, ReplayPages


def on_a_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Runs an async test on a loop of its own, of the kind the server runs on by default
    (its fixtures and parameters passed on)."""
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        event_loop.run(test(*args, **kwargs), event_loop.DEFAULT)
    return run


class Stored:
    """A session's stored events, read as the store reads them; each read can be held until
    the test lets it go."""

    def __init__(self, count: int) -> None:
        self.events: list[Event] = []
        self.add(count)
        self.gone = False
        self.failing: Exception | None = None
        self.held = asyncio.Event()
        self.held.set()
        self.reads: list[int] = []  # the `after` of each read begun

    def add(self, count: int) -> None:
        start = len(self.events) + 1
        self.events += [Event(id=f"evt_{n}", type="user.message", session_id="sesn_1",
                              payload={}, sequence=n) for n in range(start, start + count)]

    async def read(self, after: int, limit: int) -> list[Event] | None:
        self.reads.append(after)
        seen = [e for e in self.events if e.sequence > after][:limit]  # as of the read's start
        await self.held.wait()
        if self.failing is not None:
            raise self.failing
        return None if self.gone else seen


def sequences(events: list[Event] | None) -> list[int]:
    assert events is not None
    return [e.sequence for e in events]


@on_a_loop
async def test_streams_on_one_page_share_its_read():
    stored, pages = Stored(3 * PAGE), ReplayPages(lambda: True)
    stored.held.clear()
    lasts = [0, 1, 57, PAGE - 1, PAGE, PAGE + 3]
    asking = [asyncio.create_task(pages.after(last, stored.read)) for last in lasts]
    await asyncio.sleep(0.01)
    assert stored.reads == [0, PAGE]  # one read a page, on the page's boundary
    stored.held.set()
    got = await asyncio.gather(*asking)
    for last, events in zip(lasts, got, strict=True):
        end = (last // PAGE + 1) * PAGE  # each to the end of its own page
        assert sequences(events) == list(range(last + 1, end + 1))
    assert stored.reads == [0, PAGE]  # and no more


@on_a_loop
async def test_a_full_page_is_kept_for_the_streams_that_come_next_then_let_go(monkeypatch):
    monkeypatch.setattr(replay_pages, "KEEP_S", 0.05)
    stored, pages = Stored(PAGE), ReplayPages(lambda: True)
    assert sequences(await pages.after(0, stored.read)) == list(range(1, PAGE + 1))
    assert sequences(await pages.after(150, stored.read)) == list(range(151, PAGE + 1))
    assert stored.reads == [0]
    await asyncio.sleep(0.1)
    assert sequences(await pages.after(150, stored.read)) == list(range(151, PAGE + 1))
    assert stored.reads == [0, 0]  # let go after KEEP_S: read again


@on_a_loop
async def test_a_stream_replaying_alone_keeps_no_pages():
    stored, pages = Stored(PAGE), ReplayPages(lambda: False)
    await pages.after(0, stored.read)
    await pages.after(150, stored.read)
    assert stored.reads == [0, 0]


@on_a_loop
async def test_at_most_keep_pages_are_kept():
    stored, pages = Stored((replay_pages.KEEP + 2) * PAGE), ReplayPages(lambda: True)
    for number in range(replay_pages.KEEP + 2):
        await pages.after(number * PAGE, stored.read)
    newest = (replay_pages.KEEP + 1) * PAGE
    await pages.after(newest, stored.read)  # kept
    await pages.after(0, stored.read)  # the oldest, let go
    assert stored.reads == [n * PAGE for n in range(replay_pages.KEEP + 2)] + [0]


@on_a_loop
async def test_a_partial_page_is_not_kept_the_next_read_sees_what_came_since():
    stored, pages = Stored(50), ReplayPages(lambda: True)
    assert sequences(await pages.after(0, stored.read)) == list(range(1, 51))
    stored.add(10)
    assert sequences(await pages.after(50, stored.read)) == list(range(51, 61))
    assert stored.reads == [0, 0]


@on_a_loop
async def test_a_stream_past_a_shared_partial_page_reads_its_own():
    """A stream that knows of events a read already in flight cannot have seen still gets
    them: it reads after its own cursor."""
    stored, pages = Stored(50), ReplayPages(lambda: True)
    stored.held.clear()
    first = asyncio.create_task(pages.after(0, stored.read))
    await asyncio.sleep(0.01)
    stored.add(20)  # committed after the first read began
    later = asyncio.create_task(pages.after(60, stored.read))
    await asyncio.sleep(0.01)
    stored.held.set()
    assert sequences(await first) == list(range(1, 51))
    assert sequences(await later) == list(range(61, 71))
    assert stored.reads == [0, 60]


@on_a_loop
async def test_a_stream_that_closes_mid_read_leaves_the_read_to_the_others():
    stored, pages = Stored(PAGE), ReplayPages(lambda: True)
    stored.held.clear()
    closing = asyncio.create_task(pages.after(0, stored.read))
    staying = asyncio.create_task(pages.after(10, stored.read))
    await asyncio.sleep(0.01)
    closing.cancel()
    await asyncio.sleep(0.01)
    stored.held.set()
    assert sequences(await staying) == list(range(11, PAGE + 1))
    assert closing.cancelled()
    assert stored.reads == [0]


@on_a_loop
async def test_a_gone_session_is_none_for_every_stream_and_nothing_is_kept():
    stored, pages = Stored(PAGE), ReplayPages(lambda: True)
    stored.gone = True
    stored.held.clear()
    asking = [asyncio.create_task(pages.after(last, stored.read)) for last in (0, 5)]
    await asyncio.sleep(0.01)
    stored.held.set()
    assert await asyncio.gather(*asking) == [None, None]
    assert await pages.after(0, stored.read) is None
    assert stored.reads == [0, 0]


@on_a_loop
async def test_a_failed_read_fails_every_stream_that_waited_and_the_next_reads_again():
    stored, pages = Stored(PAGE), ReplayPages(lambda: True)
    stored.failing = ConnectionError("database unreachable")
    stored.held.clear()
    asking = [asyncio.create_task(pages.after(last, stored.read)) for last in (0, 5)]
    await asyncio.sleep(0.01)
    stored.held.set()
    for outcome in await asyncio.gather(*asking, return_exceptions=True):
        assert isinstance(outcome, ConnectionError)
    stored.failing = None
    assert sequences(await pages.after(5, stored.read)) == list(range(6, PAGE + 1))
    assert stored.reads == [0, 0]


@pytest.mark.parametrize(("gap_at", "after"), [(1, 0), (10, 149), (150, 149), (199, PAGE)])
@on_a_loop
async def test_sequences_missing_from_the_store_are_skipped_not_lost(gap_at, after):
    """Pages are found by sequence, not by position: a page without some sequence still
    gives each stream every event after its cursor."""
    stored, pages = Stored(2 * PAGE), ReplayPages(lambda: True)
    stored.events = [e for e in stored.events if e.sequence != gap_at]
    got = sequences(await pages.after(after, stored.read))
    end = (after // PAGE + 1) * PAGE
    assert got[0] == after + 1 + (gap_at == after + 1)
    assert set(range(after + 1, end + 1)) - {gap_at} <= set(got)
