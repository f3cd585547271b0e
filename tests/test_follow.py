"""`follow` itself, on each event loop the server can run on. (Streams through a real
server: tests/test_streams.py.)"""

from __future__ import annotations

import pytest

from server import event_loop
from server.streaming.follow import Heartbeat, follow
from server.streaming.hub import Hub, Subscription


@pytest.mark.parametrize("kind", event_loop.KINDS)
def test_an_idle_stream_wakes_once_a_heartbeat(kind, monkeypatch):
    """uvloop's clock counts whole milliseconds, so a heartbeat's timer can fire while the
    clock still reads a little before the heartbeat is due: the stream sends it then, not
    sets the timer again, and again, until the clock moves on. (The heartbeat interval is
    off whole milliseconds, where that happens.)"""
    waits = 0
    sleep = Subscription.sleep

    def counted(sub: Subscription) -> None:
        nonlocal waits
        waits += 1
        sleep(sub)
    monkeypatch.setattr(Subscription, "sleep", counted)

    async def idle_stream() -> int:
        hub = Hub()
        sub = hub.subscribe("sesn_idle", "wksp_1")
        beats = 0
        # No events: the stream never reads the store.
        async for item in follow(None, sub, "wksp_1", "sesn_idle", 0,  # type: ignore[arg-type]
                                 0.0123, 0, hub.run_slots):
            assert isinstance(item, Heartbeat)
            beats += 1
            if beats == 40:
                break
        return beats

    beats = event_loop.run(idle_stream(), kind)
    assert waits <= beats + 1
