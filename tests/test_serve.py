"""`python -m server serve` itself: what it does to the process once the server is up, and
the event loop it runs on."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys

import pytest

from server import config, event_loop
from server.__main__ import main, serve
from server.store import migrate
from tests.harness import RunningServer
from tests.helpers import create_session, message, send
from tests.reader import Reader


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


@pytest.mark.parametrize("kind", event_loop.KINDS)
def test_the_server_serves_and_streams_on_either_event_loop(new_database, kind):
    """uvloop by default (where installed), asyncio's own when asked: the same calls and
    streams on each."""
    running = RunningServer(database_url=new_database(), event_loop=kind).start()
    try:
        loop_class = running.call(_loop_class())
        assert ("uvloop" in loop_class) == (kind == "uvloop"), loop_class
        session = create_session(running)
        reader = Reader(running, session_id=session.id, after_sequence=0,
                        max_events_per_message=10)
        sent = [send(running, session.id, message(f"hello {i}"))[0] for i in range(5)]
        got = reader.until(lambda e: e.id == sent[-1].id)
        assert [e.id for e in got if e.type == "user.message"] == [e.id for e in sent]
        reader.close()
    finally:
        running.stop()


async def _loop_class() -> str:
    loop = asyncio.get_running_loop()
    return f"{type(loop).__module__}.{type(loop).__name__}"


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not build on Windows")
def test_the_default_event_loop_is_uvloop():
    """uvloop is a dependency wherever it builds (pyproject.toml): the server runs on it."""
    assert config.Settings().event_loop == "uvloop"


@pytest.mark.parametrize("asked", ["tokio", "UVLOOP", ""])
def test_an_event_loop_that_cannot_run_is_refused_naming_the_setting(tmp_path, caplog, asked):
    url = f"sqlite:///{tmp_path}/serve.db"
    migrate.upgrade(url)
    assert main(["serve", "--database-url", url, "--event-loop", asked]) == 2
    assert "event_loop" in caplog.text and repr(asked) in caplog.text
