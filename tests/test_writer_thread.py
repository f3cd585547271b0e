"""The SQLite writer's thread: calls run in order off the event loop, and each outcome, a
failure included, reaches the coroutine awaiting it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from server.store.writer_thread import WriterThread


def test_calls_run_in_order_on_the_thread_and_their_results_come_back():
    async def main() -> None:
        thread = WriterThread("test-writer")
        ran: list[tuple[int, str]] = []

        def call(n: int):
            return lambda: ran.append((n, threading.current_thread().name)) or n * 10

        futures = [thread.run(call(n)) for n in range(50)]
        assert await asyncio.gather(*futures) == [n * 10 for n in range(50)]
        assert ran == [(n, "test-writer") for n in range(50)]
        thread.close()

    asyncio.run(main())


def test_a_failing_call_raises_in_its_caller_and_the_next_call_still_runs():
    async def main() -> None:
        thread = WriterThread("test-writer")

        def fail() -> None:
            raise OSError("disk I/O error")

        with pytest.raises(OSError, match="disk I/O error"):
            await thread.run(fail)
        assert await thread.run(lambda: "after") == "after"
        thread.close()

    asyncio.run(main())


def test_a_caller_that_left_does_not_break_the_loop_and_close_waits_for_queued_calls():
    errors: list[dict] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        thread = WriterThread("test-writer")
        release = threading.Event()
        done: list[str] = []
        blocked = thread.run(lambda: release.wait(5))
        blocked.cancel()  # the caller left; the call itself runs on
        queued = thread.run(lambda: done.append("queued"))
        release.set()
        await queued
        await asyncio.sleep(0.05)  # the cancelled call's outcome, handed back meanwhile
        thread.run(lambda: done.append("last"))
        thread.close()  # the call queued before `close` has run by the time it returns
        assert done == ["queued", "last"]

    asyncio.run(main())
    assert errors == []
