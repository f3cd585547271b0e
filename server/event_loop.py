"""The event loop the server runs on: uvloop (a dependency wherever it builds) unless told
otherwise, and asyncio's own where uvloop is not installed.

Measured on one 2-core machine, the same code on each loop, alternating runs: 100 streams
replaying a session, read by h2load, 56,900-59,000 stream messages a second on asyncio's
loop against 70,400-71,000 on uvloop; GetSession under h2load 9,743 calls/s against 13,298,
CreateSession 5,658 against 6,402, SendEvents 4,889 against 5,267 (`make bench-quick`).
gRPC's own work per message and per call is the same on both: uvloop makes the loop's
share cheaper (its callbacks, timers and futures' wake-ups).

uvloop's clock and timers count whole milliseconds (asyncio's, to the clock's resolution):
a timer may fire while the clock still reads a little before its moment, which `follow`
allows for (server/streaming/follow.py, TIMER_SLACK)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

KINDS = ("uvloop", "asyncio")
DEFAULT = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def unusable(kind: str) -> str | None:
    """Why a loop of `kind` cannot run here, or None."""
    if kind not in KINDS:
        return f"event_loop: {kind!r} is not one of {', '.join(KINDS)}"
    if kind == "uvloop" and importlib.util.find_spec("uvloop") is None:
        return "event_loop: uvloop is not installed here (it does not build on Windows)"
    return None


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A new loop of `kind` (one of KINDS)."""
    problem = unusable(kind)
    if problem is not None:
        raise ValueError(problem)
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T], kind: str) -> T:
    """Runs `main` to its end on a new loop of `kind`, as `asyncio.run` does."""
    with asyncio.Runner(loop_factory=lambda: new_event_loop(kind)) as runner:
        return runner.run(main)
