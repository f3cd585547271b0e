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
from server.streaming.follow import _take_contiguous
from server.streaming.hub import Subscription

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


@given(last=st.integers(0, 20), arrivals=st.lists(st.integers(1, 40), max_size=30))
def test_the_stream_only_takes_the_run_that_continues_its_cursor(last, arrivals):
    async def run():
        sub = Subscription("sess_x", capacity=100)
        sub.notify(max(arrivals, default=0),
                   [Event(id=f"evt_{s}", type="user.message", session_id="sess_x", payload={},
                          sequence=s) for s in arrivals])
        return _take_contiguous(sub, last)
    fresh = asyncio.run(run())
    assert [e.sequence for e in fresh] == list(range(last + 1, last + 1 + len(fresh)))
