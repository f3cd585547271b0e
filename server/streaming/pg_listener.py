"""One LISTEN connection per replica: hints from other replicas' commits reach local streams
and waiting runtimes. The events themselves are always read from the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from psycopg import pq
from sqlalchemy.engine import URL

from server.store import notify
from server.streaming.hub import Hub

log = logging.getLogger(__name__)


class PostgresListener:
    """Listens on the event loop; reconnects after a drop, then has every stream re-read its
    session's head, so nothing committed meanwhile is missed.

    Every commit on any replica notifies every replica, this one's own commits included, so
    hints arrive at the rate of all writes. They are read straight off the connection's
    socket, in one reader callback on the loop: a listening thread (psycopg's
    `notifies()`) took 57 µs of CPU a SendEvents under load, at one hint per 2 sends, and
    needed the GIL for each, which the busy loop gave up only at the switch interval.
    """

    def __init__(self, url: URL, hub: Hub, connect_timeout_s: int = 5) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.hub = hub
        self.connect_timeout_s = connect_timeout_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True,
                        connect_timeout=self.connect_timeout_s) as conn:
                    await conn.execute(f"LISTEN {notify.CHANNEL}")
                    # Whatever committed while we were not listening: streams look it up.
                    self.hub.recheck_all()
                    await self._listen(conn.pgconn)
            except psycopg.Error as error:
                log.warning("LISTEN connection lost (%s); reconnecting", type(error).__name__)
                await asyncio.sleep(1.0)

    async def _listen(self, pgconn: pq.abc.PGconn) -> None:
        """Delivers hints as they arrive, until the connection fails (raises its error)."""
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            try:
                pgconn.consume_input()
                if pgconn.status != pq.ConnStatus.OK:
                    raise psycopg.OperationalError("the LISTEN connection is closed")
            except psycopg.Error as error:
                loop.remove_reader(socket)
                if not lost.done():
                    lost.set_exception(error)
                return
            while (hint := pgconn.notifies()) is not None:
                self._deliver(hint.extra.decode())

        socket = pgconn.socket
        loop.add_reader(socket, readable)
        try:
            readable()  # any hint that came with LISTEN's own reply
            await lost
        finally:
            loop.remove_reader(socket)

    def _deliver(self, payload: str) -> None:
        hint = notify.parse(payload)
        if hint is None or hint[0] == notify.REPLICA_ID:
            return  # not ours, or our own commit, which the hub already heard of
        _, session_id, head, flag = hint
        self.hub.hinted(session_id, head, flag)
