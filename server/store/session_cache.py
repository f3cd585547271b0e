"""Sessions recently read, kept in memory on SQLite, where this process is the only writer.

Measured under `make bench` load: a SQLite read releases the GIL inside the driver, and with
gRPC's poller thread waiting for it each read cost about 3x what it costs alone. GetSession
is the hottest call, so it is served from here when it can be.

Coherence: every write that changes a session row forgets the session, on the event loop,
right after its commit and before its caller resumes (even a caller that went away), so a
read never returns a state older than the last acknowledged write.
"""

from __future__ import annotations

from collections import OrderedDict

from server.domain.models import Session


class SessionCache:
    """A bounded LRU of sessions by (workspace, session ID). Entries are shared: read only."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Session] = OrderedDict()

    def get(self, ws: str, session_id: str) -> Session | None:
        session = self._entries.get((ws, session_id))
        if session is not None:
            self._entries.move_to_end((ws, session_id))
        return session

    def put(self, ws: str, session: Session) -> None:
        self._entries[(ws, session.id)] = session
        self._entries.move_to_end((ws, session.id))
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def forget(self, ws: str, session_id: str) -> None:
        self._entries.pop((ws, session_id), None)
