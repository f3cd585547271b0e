"""`python -m server serve` itself: what it does to the process once the server is up."""

from __future__ import annotations

import asyncio
import gc
import signal

from server import config
from server.__main__ import serve
from server.store import migrate


def test_the_accept_loops_requests_are_out_of_the_collectors_reach(tmp_path):
    """Requests the accept loops keep outstanding live about as long as the process: they
    are frozen with the rest of what start-up made, so the collector's passes never walk
    them (~17,000 objects: they were made one turn of the loop after start)."""
    url = f"sqlite:///{tmp_path}/serve.db"
    migrate.upgrade(url)
    settings = config.Settings(listen="127.0.0.1:0", database_url=url, log_level="WARNING")
    thresholds = gc.get_threshold()
    seen: dict[str, int] = {}

    async def look_then_stop() -> None:
        for _ in range(1000):  # until serve has frozen what start-up made (10 s at most)
            if gc.get_freeze_count():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # served a while: nothing called, nothing new
        seen["requests"] = sum(type(o).__name__ == "RPCState" for o in gc.get_objects())
        seen["frozen"] = gc.get_freeze_count()
        signal.raise_signal(signal.SIGTERM)  # serve's own way out

    async def main() -> None:
        looking = asyncio.create_task(look_then_stop())
        await serve(settings)
        await looking

    try:
        asyncio.run(main())
    finally:
        gc.unfreeze()  # this test process's objects back in the collector's reach
        gc.set_threshold(*thresholds)
    assert seen["frozen"] > 10_000
    assert seen["requests"] == 0
