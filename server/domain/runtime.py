"""The agent runtime protocol: leases on sessions whose turn needs running, and the writes a
lease allows (the turn's events, its end, the session's end)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from server.domain import appends, event_rules, ids, turns
from server.domain.clock import now_us
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.event_rules import IncomingEvent
from server.domain.models import RESCHEDULING, RUNNING, Event, Session
from server.domain.validation import require_id
from server.store import SessionLog, Store
from server.streaming.hub import Hub

LEASE = "lease"
LEASE_SECONDS_DEFAULT, LEASE_SECONDS_MAX, WAIT_SECONDS_MAX = 30, 300, 60
STOP_REASONS = frozenset({turns.END_TURN, turns.CANCELLED, turns.REQUIRES_ACTION_REASON})
T = TypeVar("T")


@dataclass
class Lease:
    """A runtime's hold on a session's turn, and the turn's input it has not processed."""

    lease_id: str
    runtime_id: str
    expires_at: int
    session: Session
    pending_events: list[Event]


def _lease_seconds(value: int) -> int:
    if value < 0 or value > LEASE_SECONDS_MAX:
        raise InvalidArgument.one("lease_seconds", f"must be 1..{LEASE_SECONDS_MAX} (0 means "
                                                   f"{LEASE_SECONDS_DEFAULT})")
    return value or LEASE_SECONDS_DEFAULT


def _check_lease(log: SessionLog, lease_id: str, now: int) -> None:
    s = log.session
    if s.lease_id != lease_id or s.lease_expires_at is None or s.lease_expires_at <= now:
        raise FailedPrecondition(
            f"lease {lease_id!r} on session {s.id!r} is not valid (expired, released, or "
            "held by another runtime); nothing was stored. Acquire work again.",
            "LEASE_INVALID", lease_id)


def _expire(log: SessionLog, now: int) -> None:
    """The lease ran out: the turn is rescheduled, and the session's log says why."""
    s = log.session
    owner = s.lease_owner
    s.lease_id = s.lease_owner = None
    s.lease_expires_at = None
    s.status = RESCHEDULING
    turns.emit(log, "session.error", {
        "code": "RUNTIME_LEASE_EXPIRED", "retryable": True,
        "message": f"runtime {owner!r} stopped renewing its lease; the turn is rescheduled "
                   "to another runtime"}, now)


def _turn_input(log: SessionLog) -> list[Event]:
    """The turn's user events that no runtime has processed (not messages queued for later)."""
    return [e for e in log.unprocessed() if e.turn_id and e.turn_id == log.session.turn_id]


class Runtime:
    """The runtime side of sessions. Every method runs in the session's transaction."""

    def __init__(self, store: Store, hub: Hub, poll_seconds: float = 1.0) -> None:
        self.store = store
        self.hub = hub
        self.poll_seconds = poll_seconds

    async def _in_session(self, ws: str, session_id: str,
                          rules: Callable[[SessionLog], T]) -> T:
        return await appends.append(self.store, self.hub, ws, session_id, rules)

    async def acquire(self, ws: str, runtime_id: str, lease_seconds: int,
                      wait_seconds: int) -> Lease | None:
        """Leases a session whose turn needs a runtime, waiting up to `wait_seconds`."""
        if not runtime_id or len(runtime_id) > 256:
            raise InvalidArgument.one("runtime_id", "is required (at most 256 characters)")
        seconds = _lease_seconds(lease_seconds)
        if not 0 <= wait_seconds <= WAIT_SECONDS_MAX:
            raise InvalidArgument.one("wait_seconds", f"must be 0..{WAIT_SECONDS_MAX}")
        deadline = time.monotonic() + wait_seconds
        while True:
            self.hub.runnable.clear()  # before looking, so a turn that starts meanwhile wakes us
            lease = await self._claim_any(ws, runtime_id, seconds)
            left = deadline - time.monotonic()
            if lease is not None or left <= 0:
                return lease
            # Other replicas start turns too: look again after a while regardless.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.hub.runnable.wait(), min(left, self.poll_seconds))

    async def _claim_any(self, ws: str, runtime_id: str, seconds: int) -> Lease | None:
        for session_id in await self.store.runnable_sessions(ws, now_us(), limit=8):
            def take(log: SessionLog) -> Lease | None:
                s, now = log.session, now_us()
                taken = s.lease_expires_at is not None and s.lease_expires_at > now
                if s.status not in (RUNNING, RESCHEDULING) or taken:
                    return None  # another runtime was faster
                if s.lease_id is not None:
                    _expire(log, now)  # expired before the sweeper saw it: say so all the same
                s.status = RUNNING
                s.lease_id, s.lease_owner = ids.new_id(LEASE), runtime_id
                s.lease_expires_at = now + seconds * 1_000_000
                return Lease(s.lease_id, runtime_id, s.lease_expires_at, s, _turn_input(log))
            lease = await self._in_session(ws, session_id, take)
            if lease is not None:
                return lease
        return None

    async def renew(self, ws: str, session_id: str, lease_id: str, lease_seconds: int) -> Lease:
        require_id("session_id", session_id, ids.SESSION)
        require_id("lease_id", lease_id, LEASE)
        seconds = _lease_seconds(lease_seconds)

        def renew(log: SessionLog) -> Lease:
            now = now_us()
            _check_lease(log, lease_id, now)
            s = log.session
            s.lease_expires_at = now + seconds * 1_000_000
            return Lease(lease_id, s.lease_owner or "", s.lease_expires_at, s, _turn_input(log))
        return await self._in_session(ws, session_id, renew)

    async def append(self, ws: str, session_id: str, lease_id: str, batch: list[IncomingEvent],
                     processed_ids: list[str]) -> list[Event]:
        """Appends the turn's events; tool uses that wait for an answer become pending."""
        require_id("session_id", session_id, ids.SESSION)
        require_id("lease_id", lease_id, LEASE)
        now = now_us()
        events = (event_rules.parse_batch(session_id, batch, event_rules.RUNTIME_TYPES,
                                          "runtimes", event_rules.check_runtime_event, now)
                  if batch or not processed_ids else [])

        def rules(log: SessionLog) -> list[Event]:
            _check_lease(log, lease_id, now)
            s = log.session
            for i, event_id in enumerate(processed_ids):
                if log.find_event(event_id) is None:
                    raise InvalidArgument.one(f"processed_event_ids[{i}]",
                                              f"{event_id!r} is not an event of {s.id!r}")
            log.mark_processed(processed_ids, now)
            for event, _ in events:
                event.turn_id, event.processed_at = s.turn_id, now
                log.append(event)
                if (event.type == "agent.custom_tool_use" or (
                        event.type == "agent.tool_use"
                        and event.payload.get("requires_confirmation"))):
                    s.pending_actions = [*s.pending_actions, event.id]
            s.updated_at = now
            return [event for event, _ in events]
        return await self._in_session(ws, session_id, rules)

    async def end_turn(self, ws: str, session_id: str, lease_id: str,
                       stop_reason: str) -> Session:
        require_id("session_id", session_id, ids.SESSION)
        require_id("lease_id", lease_id, LEASE)
        if stop_reason not in STOP_REASONS:
            raise InvalidArgument.one("stop_reason", "must be end_turn, cancelled or "
                                                     "requires_action")

        def rules(log: SessionLog) -> Session:
            now = now_us()
            _check_lease(log, lease_id, now)
            if stop_reason == turns.REQUIRES_ACTION_REASON and not log.session.pending_actions:
                raise FailedPrecondition(
                    "no tool use of this turn waits for an answer (they were answered "
                    "already): continue the turn", "NOTHING_PENDING", session_id)
            turns.end_turn(log, stop_reason, now)
            log.session.updated_at = now
            return log.session
        # A queued message's new turn wakes waiting runtimes through its status_running event.
        return await self._in_session(ws, session_id, rules)

    async def terminate(self, ws: str, session_id: str, lease_id: str, reason: str) -> Session:
        require_id("session_id", session_id, ids.SESSION)
        require_id("lease_id", lease_id, LEASE)

        def rules(log: SessionLog) -> Session:
            now = now_us()
            _check_lease(log, lease_id, now)
            turns.terminate(log, reason[:1024], now)
            log.session.updated_at = now
            return log.session
        return await self._in_session(ws, session_id, rules)

    async def release(self, ws: str, session_id: str, lease_id: str) -> None:
        require_id("session_id", session_id, ids.SESSION)
        require_id("lease_id", lease_id, LEASE)

        def rules(log: SessionLog) -> None:
            _check_lease(log, lease_id, now_us())
            s = log.session
            s.lease_id = s.lease_owner = None
            s.lease_expires_at = None
            s.status = RESCHEDULING
        await self._in_session(ws, session_id, rules)
        self.hub.runnable.set()

    async def expire_leases(self) -> int:
        """Hands the turns of runtimes that stopped renewing to the next runtime."""
        expired = 0
        for ws, session_id in await self.store.expired_leases(now_us(), limit=100):
            def expire(log: SessionLog) -> bool:
                s, now = log.session, now_us()
                if s.status != RUNNING or s.lease_expires_at is None or s.lease_expires_at > now:
                    return False  # renewed or ended meanwhile
                _expire(log, now)
                return True
            expired += await self._in_session(ws, session_id, expire)
        if expired:
            self.hub.runnable.set()
        return expired
