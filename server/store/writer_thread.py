"""The thread that runs what SQLite's writer must not run on the event loop (the commit's
fsync, the wait for another process's write lock), one call at a time, each outcome handed
back to the loop with a single `call_soon_threadsafe`.

Why not `loop.run_in_executor`: its concurrent.futures.Future, chained onto an asyncio
future through the executor's bookkeeping, cost the loop's thread 64-69 µs a call, against
32-35 µs here (20,000 no-op round trips each, on the 2-core machine of the bench), and the
writer makes such a call for every group it commits. Measured in the service on SQLite, two
servers (old, new) taking h2load rounds in turn, each order run, the geometric mean of the
two orders: SendEvents +8% and +15% (two such runs), CreateSession +6%, GetSession +2% (a
control: it writes nothing). The writer runs one group at a time, so one thread is all it
needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[Callable[[], Any], "asyncio.Future[Any]"]


class WriterThread:
    """Runs blocking calls in order on one thread of its own."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        # A daemon: a process that ends without `close` is not held up by an idle thread.
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def run(self, call: Callable[[], T]) -> asyncio.Future[T]:
        """Queues `call`; the returned future (of the running loop) gets its outcome."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((call, future))
        return future

    def close(self) -> None:
        """Lets the calls queued already run, then ends the thread."""
        self._calls.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            call, future = item
            try:
                outcome: tuple[Any, BaseException | None] = (call(), None)
            except BaseException as error:  # noqa: BLE001 - the caller's to handle
                outcome = (None, error)
            # A closed loop refuses the call: no one is waiting any more.
            with contextlib.suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(_settle, future, *outcome)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled by its caller meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
