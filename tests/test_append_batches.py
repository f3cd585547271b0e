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
