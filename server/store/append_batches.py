"""Concurrent sends to one session, combined into one transaction (PostgreSQL).

Every append to a session takes its row lock, so concurrent sends to one session queue on
it, and each paid for its own BEGIN, lock and COMMIT: three round trips under the lock.
Here, sends that arrive while one is under way wait in this process and then go together:
one transaction locks the session once, runs each send's rules in turn on the same log,
and commits all their events with one round trip. The first send of a quiet session waits
for nothing.

Each send keeps its own outcome. Rules that fail (a domain error) are undone before the
next send's rules run, and that send alone gets the error. When undoing is not possible
(the failing rules had written already), or the database fails the transaction, nothing of
the batch was stored and each send runs again in a transaction of its own: rules given here
must give the same outcome when run again (they start from their request, not from what an
earlier run changed).

SQLite needs none of this: its writer commits queued units in groups already, and a unit
costs no round trips.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection, exc

from server.domain.errors import DomainError, NotFound, Unavailable
from server.domain.models import Event
from server.store import session_log
from server.store.database import Database, when_ended
from server.store.session_log import SessionLog, UndoImpossible

logger = logging.getLogger(__name__)

# At most this many sends in one transaction, so that none waits long behind a batch.
BATCH_MAX = 64

Rules = Callable[[SessionLog], Any]
Outcome = tuple[Any, list[Event]]


class _Send:
    __slots__ = ("rules", "done")

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # Seen, even when its caller left: else asyncio logs an error no one retrieved.
        self.done.add_done_callback(lambda done: done.cancelled() or done.exception())


class _Abandoned(Exception):
    """The batch cannot keep each send's outcome apart: nothing of it may be stored."""


class AppendBatches:
    """Runs the sends to each session in batches, one transaction per batch."""

    def __init__(self, db: Database,
                 alone: Callable[[str, str, Rules], Awaitable[Outcome]]) -> None:
        self._db = db
        self._alone = alone  # one send in a transaction of its own
        self._queued: dict[tuple[str, str], list[_Send]] = {}
        self._draining: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs

    async def send(self, ws: str, session_id: str, rules: Rules,
                   on_stored: Callable[[Outcome], None] | None = None) -> Outcome:
        """Runs `rules` on the locked session, in a batch with the sends queued beside it;
        returns what they returned and the events they appended, once committed. Once
        asked for, a send runs to its end even if its caller leaves, and `on_stored` is
        called with its outcome once committed (as `appends` wants)."""
        key = (ws, session_id)
        send = _Send(rules)
        when_ended(send.done, None, on_stored)
        queued = self._queued.get(key)
        if queued is None:
            self._queued[key] = [send]
            task = asyncio.ensure_future(self._drain(ws, session_id))
            self._draining.add(task)
            task.add_done_callback(self._drained)
        else:
            queued.append(send)
        return await asyncio.shield(send.done)

    def _drained(self, task: asyncio.Task[None]) -> None:
        self._draining.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("append batches stopped", exc_info=task.exception())

    async def _drain(self, ws: str, session_id: str) -> None:
        """Runs the session's queued sends, batch after batch, until none is left."""
        key = (ws, session_id)
        queued = self._queued[key]
        try:
            while queued:
                batch, queued[:] = queued[:BATCH_MAX], queued[BATCH_MAX:]
                await self._run(ws, session_id, batch)
        finally:
            del self._queued[key]
            for send in queued:  # only if the drain itself ended early (shutdown)
                _settle(send, error=asyncio.CancelledError())

    async def _run(self, ws: str, session_id: str, batch: list[_Send]) -> None:
        try:
            outcomes = await self._db.write(_batch, ws, session_id, [s.rules for s in batch])
        except (NotFound, Unavailable) as error:
            # The session is gone, or the database is: the same answer for every send. (An
            # Unavailable may even come after the COMMIT reached the database, so running
            # the sends again could store them twice; a send alone gets the same answer.)
            for send in batch:
                _settle(send, error=error)
            return
        except Exception as error:
            if len(batch) > 1 and _before_commit(error):
                # Nothing of the batch is stored: each send again, in a transaction of its
                # own, so that each has its own outcome.
                await asyncio.gather(*(self._one(ws, session_id, send) for send in batch))
                return
            cause = error.__cause__ if isinstance(error, _Abandoned) else None
            _settle(batch[0], error=cause or error)
            return
        except BaseException as error:  # cancelled: the server is shutting down
            for send in batch:
                _settle(send, error=error)
            raise
        for send, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                _settle(send, error=outcome)
            else:
                _settle(send, outcome)

    async def _one(self, ws: str, session_id: str, send: _Send) -> None:
        try:
            _settle(send, await self._alone(ws, session_id, send.rules))
        except BaseException as error:
            _settle(send, error=error)
            if not isinstance(error, Exception):
                raise


def _before_commit(error: Exception) -> bool:
    """Whether the failed batch surely stored nothing: the rules failed (`_Abandoned`, or a
    bug), or the database refused a statement (a constraint or a value). Any other database
    error may have struck the COMMIT itself, after it took effect."""
    return (not isinstance(error, exc.DBAPIError)
            or isinstance(error, exc.IntegrityError | exc.DataError))


def _settle(send: _Send, outcome: Outcome | None = None,
            error: BaseException | None = None) -> None:
    """Gives a send its outcome (once: a send settled already keeps what it had)."""
    if send.done.done():
        return
    if isinstance(error, asyncio.CancelledError):
        send.done.cancel()
    elif error is not None:
        send.done.set_exception(error)
    else:
        assert outcome is not None
        send.done.set_result(outcome)


def _batch(conn: Connection, ws: str, session_id: str,
           rules: list[Rules]) -> list[Outcome | DomainError]:
    """The unit of work of a batch: the session locked once, each send's rules in turn."""
    session = session_log.lock_session(conn, ws, session_id)
    if session is None:
        raise NotFound("session", session_id)
    log = SessionLog(conn, ws, session)
    outcomes: list[Outcome | DomainError] = []
    for send_rules in rules:
        mark = log.checkpoint()
        try:
            result = send_rules(log)
        except DomainError as error:
            try:
                log.undo(mark)
            except UndoImpossible:
                raise _Abandoned from error
            outcomes.append(error)
            continue
        outcomes.append((result, log.appended[mark.appended:]))
    if any(not isinstance(outcome, DomainError) for outcome in outcomes):
        log.flush()  # (when every send was refused, the session is as it was)
    return outcomes
