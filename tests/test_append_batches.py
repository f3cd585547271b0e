"""Sends to one session that share a transaction keep their own outcomes.

The store is driven directly, on the server's database, with the sends queued in one tick:
on PostgreSQL they form one batch (`server.store.append_batches`); on SQLite they run as one
group of the writer. Either way each send is stored, or refused with nothing of it stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from server.domain import ids
from server.domain.clock import now_us
from server.domain.errors import FailedPrecondition
from server.domain.models import Event
from server.store import Database, SessionLog, Store
from tests.helpers import create_session

WS = ids.DEFAULT_WORKSPACE


def _message(session_id: str, text: str) -> Callable[[SessionLog], list[Event]]:
    def rules(log: SessionLog) -> list[Event]:
        return [log.append(Event(
            id=ids.new_id(ids.EVENT), type="user.message", session_id=session_id,
            payload={"content": [{"type": "text", "text": text}]}, turn_id="",
            created_at=now_us()))]
    return rules


def _refused_before_writing(session_id: str) -> Callable[[SessionLog], Any]:
    """Appends and changes the session, then fails: undone in memory."""
    def rules(log: SessionLog) -> Any:
        _message(session_id, "refused")(log)
        log.session.title = "changed by a refused send"
        raise FailedPrecondition("refused before writing", "TEST_REFUSED")
    return rules


def _refused_after_writing(session_id: str) -> Callable[[SessionLog], Any]:
    """Writes rows (its event, marked processed), then fails: only a rollback undoes it."""
    def rules(log: SessionLog) -> Any:
        appended = _message(session_id, "wrote")(log)
        log.mark_processed([appended[0].id], now_us())
        raise FailedPrecondition("refused after writing", "TEST_REFUSED")
    return rules


@pytest.mark.parametrize("refused", [_refused_before_writing, _refused_after_writing])
def test_sends_sharing_a_transaction_keep_their_own_outcomes(server, refused):
    session_id = create_session(server).id

    async def sends() -> tuple[list[Any], list[Event], Any]:
        store = Store(Database(server.database_url))
        try:
            batch = [_message(session_id, "m0"), refused(session_id),
                     _message(session_id, "m1"), _message(session_id, "m2")]
            outcomes = await asyncio.gather(
                *(store.in_session(WS, session_id, rules, combine=True) for rules in batch),
                return_exceptions=True)
            log = await store.list_events(WS, session_id, types=[], after_sequence=None,
                                          before_sequence=None, descending=False, after=None,
                                          limit=100)
            assert log is not None
            return outcomes, log, await store.get_session(WS, session_id)
        finally:
            await store.db.aclose()

    outcomes, log, stored = asyncio.run(sends())
    assert isinstance(outcomes[1], FailedPrecondition)
    sent = {}
    for outcome in outcomes[:1] + outcomes[2:]:
        result, appended = outcome
        assert result == appended and len(appended) == 1
        sent[appended[0].id] = (appended[0].sequence, appended[0].payload)
    # Exactly the accepted sends are stored, as they were reported, in a dense sequence.
    assert {e.id: (e.sequence, e.payload) for e in log} == sent
    assert sorted(e.sequence for e in log) == [1, 2, 3]
    assert sorted(e.payload["content"][0]["text"] for e in log) == ["m0", "m1", "m2"]
    assert stored.last_sequence == 3 and stored.title != "changed by a refused send"


def _store_run(server, work):
    async def main():
        store = Store(Database(server.database_url))
        try:
            return await asyncio.wait_for(work(store), 30)  # a send never settled fails here
        finally:
            await store.db.aclose()
    return asyncio.run(main())


def _log(store: Store, session_id: str):
    return store.list_events(WS, session_id, types=[], after_sequence=None,
                             before_sequence=None, descending=False, after=None, limit=100)


def test_a_send_whose_caller_left_does_not_hold_up_the_others(server):
    """One caller of three leaves while their batch is under way: the other two get their
    outcomes, and the log stays dense (whether the third send landed or not)."""
    session_id = create_session(server).id

    async def work(store: Store):
        calls = [asyncio.ensure_future(store.in_session(
            WS, session_id, _message(session_id, f"m{i}"), combine=True)) for i in range(3)]
        await asyncio.sleep(0)  # all three queued, their batch under way
        calls[1].cancel()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        return outcomes, await _log(store, session_id)

    outcomes, log = _store_run(server, work)
    assert isinstance(outcomes[1], asyncio.CancelledError)
    reported = {appended[0].id: appended[0].sequence for _, appended in (outcomes[0], outcomes[2])}
    stored = {e.id: e.sequence for e in log}
    assert reported.items() <= stored.items()
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))


def test_sends_to_a_missing_session_are_each_not_found(server):
    missing = ids.new_id(ids.SESSION)

    async def work(store: Store):
        return await asyncio.gather(*(store.in_session(
            WS, missing, _message(missing, f"m{i}"), combine=True) for i in range(3)),
            return_exceptions=True)

    outcomes = _store_run(server, work)
    assert [type(o).__name__ for o in outcomes] == ["NotFound"] * 3
