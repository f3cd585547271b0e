"""Event use cases: send a batch of client events, list the log, and open a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from server.domain import appends, event_rules, ids, paging, turns
from server.domain.clock import now_us
from server.domain.errors import InvalidArgument, NotFound, Unavailable
from server.domain.event_rules import IncomingEvent
from server.domain.models import Event, Page, shallow_copy
from server.domain.updates import keyset_page
from server.domain.validation import page_size, require_id
from server.store import RequestKey, SessionLog, Store
from server.streaming.follow import Heartbeat, follow
from server.streaming.hub import Hub

# The most events a stream puts in one message when its client asks for runs.
EVENTS_PER_MESSAGE_MAX = 1000


@dataclass
class EventQuery:
    """The filters and order of an event list; cursors are sequences or event IDs."""

    types: list[str] = field(default_factory=list)
    after_sequence: int | None = None
    before_sequence: int | None = None
    after_event_id: str = ""
    before_event_id: str = ""
    descending: bool = False


class Events:
    """A session's event log."""

    def __init__(self, store: Store, hub: Hub, heartbeat_seconds: float) -> None:
        self.store = store
        self.hub = hub
        self.heartbeat_seconds = heartbeat_seconds

    async def send(self, ws: str, session_id: str, batch: list[IncomingEvent],
                   key: RequestKey | None) -> list[Event]:
        """Validates and appends a batch of client events, all or nothing."""
        require_id("session_id", session_id, ids.SESSION)
        now = now_us()
        events = event_rules.parse_batch(session_id, batch, event_rules.CLIENT_TYPES,
                                         "clients", event_rules.check_client_event, now)

        def rules(log: SessionLog) -> list[Event]:
            turns.check_open(log.session)
            # Copies, since the rules change the events they append: run again (when their
            # batch of sends failed as a whole), they start from the request as sent.
            sent = [(shallow_copy(event), where) for event, where in events]
            for event, where in sent:
                turns.on_client_event(log, event, where, now)
            log.session.updated_at = now
            return [event for event, _ in sent]

        return await appends.append(self.store, self.hub, ws, session_id, rules, key,
                                    combine=True)

    async def list_page(self, ws: str, session_id: str, size: int, token: str,
                   query: EventQuery) -> Page:
        require_id("session_id", session_id, ids.SESSION)
        size = page_size("page_size", size)
        for i, event_type in enumerate(query.types):
            if event_type not in event_rules.ALL_TYPES:
                raise InvalidArgument.one(f"types[{i}]", f"{event_type!r} is not an event type")
        after, before = query.after_sequence, query.before_sequence
        if query.after_event_id:
            after = _max(after, await self._sequence_of(ws, session_id, "after_event_id",
                                                        query.after_event_id))
        if query.before_event_id:
            found = await self._sequence_of(ws, session_id, "before_event_id",
                                            query.before_event_id)
            before = found if before is None else min(before, found)
        fingerprint = paging.query_fingerprint(kind="events", session=session_id, **vars(query))

        async def fetch(key: list[object] | None, limit: int) -> list[Event]:
            found = await self.store.list_events(
                ws, session_id, types=query.types, after_sequence=after, before_sequence=before,
                descending=query.descending, after=key, limit=limit)
            if found is None:
                raise NotFound("session", session_id)
            return found

        return await keyset_page(fetch, fingerprint, token, size, lambda e: [e.sequence],
                                 (int,))

    async def _sequence_of(self, ws: str, session_id: str, field_name: str,
                           event_id: str) -> int:
        require_id(field_name, event_id, ids.EVENT)
        sequence = await self.store.sequence_of(ws, session_id, event_id)
        if sequence is None and await self.store.get_session(ws, session_id) is None:
            raise NotFound("session", session_id)
        if sequence is None:
            raise InvalidArgument.one(field_name, f"{event_id!r} is not an event of session "
                                                  f"{session_id!r}")
        return sequence

    async def stream(self, ws: str, session_id: str, after_sequence: int | None,
                     after_event_id: str, per_message: int = 0
                     ) -> AsyncIterator[list[Event] | Heartbeat]:
        """Replays after the cursor, then follows; without a cursor, follows new events only.
        Events come in runs of consecutive events, at most `per_message` a run (0: as many
        as are ready, for a caller that sends them one a message: a generator step a run,
        not an event, in the loop's busiest path)."""
        require_id("session_id", session_id, ids.SESSION)
        if not 0 <= per_message <= EVENTS_PER_MESSAGE_MAX:
            raise InvalidArgument.one("max_events_per_message",
                                      f"must be between 0 and {EVENTS_PER_MESSAGE_MAX}")
        if after_sequence is not None and after_event_id:
            raise InvalidArgument.one("after_event_id", "give one cursor: after_sequence or "
                                                        "after_event_id, not both")
        if after_sequence is not None and after_sequence < 0:
            raise InvalidArgument.one("after_sequence", "must not be negative (0 replays all)")
        # Subscribe before reading the head: whatever commits after the read is notified.
        sub = self.hub.subscribe(session_id, ws)
        try:
            session = await self.store.get_session(ws, session_id)
            if session is None:
                raise NotFound("session", session_id)
            head = sub.read_head = session.last_sequence
            sub.feed.workspace_id = ws  # found there: the poller reads the head there
            if after_event_id:
                start = await self._sequence_of(ws, session_id, "after_event_id", after_event_id)
            elif after_sequence is not None:
                start = after_sequence
                if start > head:
                    raise InvalidArgument.one(
                        "after_sequence", f"{start} is ahead of the session's last sequence "
                                          f"{head}; resume from a sequence you received")
            else:
                start = head
            sub.taken = start  # the feed keeps nothing this stream is past
            last = start
            try:
                async for item in follow(self.store, sub, ws, session_id, start,
                                         self.heartbeat_seconds, per_message,
                                         self.hub.run_slots):
                    yield item
                    if not isinstance(item, Heartbeat):
                        last = item[-1].sequence
            except Unavailable as error:
                raise Unavailable(f"{error.message}; reconnect with after_sequence={last}",
                                  metadata={"after_sequence": str(last)}) from error
        finally:
            self.hub.unsubscribe(sub)


def _max(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)
