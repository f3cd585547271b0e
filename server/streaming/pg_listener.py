"""One LISTEN connection per replica: hints from other replicas' commits reach local streams
and waiting runtimes. The events themselves are always read from the database."""

from __future__ import annotations

import asyncio
import logging
import threading

import psycopg
from sqlalchemy.engine import URL

from server.store import notify
from server.streaming.hub import Hub

log = logging.getLogger(__name__)


class PostgresListener:
    """Listens on a thread of its own; reconnects after a drop, then has every stream
    re-read its session's head, so nothing committed meanwhile is missed."""

    def __init__(self, url: URL, hub: Hub, loop: asyncio.AbstractEventLoop,
                 connect_timeout_s: int = 5) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.hub = hub
        self.loop = loop
        self.connect_timeout_s = connect_timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True,
                                     connect_timeout=self.connect_timeout_s) as conn:
                    conn.execute(f"LISTEN {notify.CHANNEL}")
                    self.connected.set()
                    # Whatever committed while we were not listening: streams look it up.
                    self.loop.call_soon_threadsafe(self.hub.recheck_all)
                    while not self._stop.is_set():
                        for hint in conn.notifies(timeout=1.0):
                            self._deliver(hint.payload)
            except psycopg.Error as error:
                self.connected.clear()
                log.warning("LISTEN connection lost (%s); reconnecting", type(error).__name__)
                self._stop.wait(1.0)

    def _deliver(self, payload: str) -> None:
        hint = notify.parse(payload)
        if hint is None or hint[0] == notify.REPLICA_ID:
            return  # not ours, or our own commit, which the hub already heard of
        _, session_id, head, flag = hint
        self.loop.call_soon_threadsafe(self.hub.hinted, session_id, head, flag)
