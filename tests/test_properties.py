"""Property-based tests of the rules that take arbitrary input: mount paths, page tokens, and
the stream's contiguous-run rule."""

from __future__ import annotations

import asyncio
import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import paging
from server.domain.errors import InvalidArgument
from server.domain.models import Event
from server.domain.resources import check_file
from server.domain.validation import Violations
from server.streaming.hub import TRIM_EVERY, Hub

path_text = st.text(alphabet=st.sampled_from(list("ab./_-")) | st.characters(), max_size=40)


@given(path=path_text)
def test_a_mount_path_is_accepted_only_under_data(path):
    v = Violations()
    stored = check_file(v, "f", {"file_id": "file_x", "path": path})
    if not v.items:
        assert stored["path"].startswith("/data/")
        assert ".." not in stored["path"].split("/")
        assert posixpath.normpath(stored["path"]) == stored["path"]
        assert len(stored["path"]) <= 512
    else:
        assert [x.field for x in v.items] == ["f.path"]


@given(key=st.lists(st.one_of(st.integers(), st.text(max_size=20)), max_size=3),
       a=st.text(max_size=8), b=st.text(max_size=8))
def test_a_page_token_round_trips_only_with_its_own_query(key, a, b):
    token = paging.encode(paging.query_fingerprint(f=a), key)
    shape = tuple(type(value) for value in key)
    assert paging.decode(token, paging.query_fingerprint(f=a), shape) == key
    if a != b:
        with pytest.raises(InvalidArgument):
            paging.decode(token, paging.query_fingerprint(f=b), shape)
    with pytest.raises(InvalidArgument):  # a key of another shape: tampered with
        paging.decode(token, paging.query_fingerprint(f=a), (*shape, int))


@given(token=st.text(max_size=40))
def test_any_garbage_token_is_invalid_argument_never_a_crash(token):
    fingerprint = paging.query_fingerprint(f="x")
    try:
        paging.decode(token, fingerprint, (int, str))
    except InvalidArgument as error:
        assert error.violations[0].field == "page_token"


def _event(sequence: int) -> Event:
    return Event(id=f"evt_{sequence}", type="user.message", session_id="sess_x", payload={},
                 sequence=sequence)


@given(total=st.integers(0, 300), cut_every=st.integers(1, 12), order=st.randoms(),
       capacity=st.integers(1, 100),
       cursors=st.lists(st.integers(0, 320), min_size=1, max_size=4),
       takes=st.lists(st.booleans(), min_size=1, max_size=4))
def test_a_stream_takes_only_the_events_that_continue_its_cursor(total, cut_every, order,
                                                                  capacity, cursors, takes):
    """Commits (runs of consecutive events) published in any order, to a session streams
    follow from any cursor, some taking as they go and some not: what a stream takes
    continues its cursor with the very events published, and is all the feed holds past it;
    the feed never holds more than its capacity."""
    async def run():
        hub = Hub(capacity=capacity)
        subs = [hub.subscribe("sess_x") for _ in cursors]
        at = list(cursors)
        for sub, cursor in zip(subs, cursors, strict=True):
            sub.taken = cursor
        commits = [[_event(s) for s in range(a, min(a + cut_every, total + 1))]
                   for a in range(1, total + 1, cut_every)]
        order.shuffle(commits)
        published = {}
        for commit in commits:
            hub.published("sess_x", commit)
            published.update((e.sequence, e) for e in commit)
            feed = subs[0].feed
            assert len(feed.events) <= capacity
            end = feed.base + len(feed.events)
            for i, sub in enumerate(subs):
                if not takes[i % len(takes)]:
                    continue  # this stream stalls: the feed must not keep more for it
                taken = sub.take(at[i])
                assert [e.sequence for e in taken] == list(range(at[i] + 1,
                                                                 at[i] + 1 + len(taken)))
                assert all(published[e.sequence] is e for e in taken)
                if feed.base <= at[i] + 1 < end:
                    assert taken and taken[-1].sequence == end - 1
                if taken:
                    at[i] = taken[-1].sequence
        assert subs[0].head == total
    asyncio.run(run())


def test_the_feed_lets_go_of_what_every_stream_has_taken():
    """A session followed by streams that keep up holds about TRIM_EVERY events, not its
    whole capacity; one stream that stops taking holds at most the capacity."""
    async def run():
        hub = Hub(capacity=500)
        keeping_up, stalled = hub.subscribe("sess_x"), hub.subscribe("sess_x")
        for sequence in range(1, 301):
            hub.published("sess_x", [_event(sequence)])
            assert [e.sequence for e in keeping_up.take(sequence - 1)] == [sequence]
        held_by_stalled = len(keeping_up.feed.events)
        hub.unsubscribe(stalled)
        for sequence in range(301, 1001):
            hub.published("sess_x", [_event(sequence)])
            keeping_up.take(sequence - 1)
        return held_by_stalled, len(keeping_up.feed.events)
    held_by_stalled, held_after = asyncio.run(run())
    assert held_by_stalled == 300  # the stalled stream (at 0) still needs them all
    assert held_after <= TRIM_EVERY + 1
