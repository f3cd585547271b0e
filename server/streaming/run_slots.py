"""When busy streams in runs send: in slots the whole process shares, as short as the event
loop's load allows.

A busy stream sends at most once a slot, with whatever arrived meanwhile; the slot's length
is the event's wait for the ones after it, most of the delivery latency of such a stream.
Each message costs the server about as much as a small call: a session with 100
subscribers at 1,000 events a second would ask for 100,000 messages a second one event a
message, where a bare grpc.aio process sent 16,000-40,000 on the machines measured. A slot
too short for the load saturates the loop, and then every call waits.

No fixed length suits every machine and load. Measured (bench, 1 session x 100
subscribers in runs, 1,000 events/s, the loop on a core of its own):
- 10 ms slots: delivery p99 16 ms, the loop's thread running or waiting to run 0.77 of
  the time, SendEvents p50 3.5 ms; 25 ms slots: p99 31 ms, 0.63, 2.1 ms.
- Another process taking half the loop's core: 10 ms still did better (p99 28-39 ms
  against 36-41).
- Taking three quarters of it: 10 ms slots kept the loop busy 0.92 of the time, and
  SendEvents p50 rose to 12 ms against 6 with 25 ms; these slots grew to about 20 ms
  (p99 36 ms, SendEvents p50 8-9 ms).
So the length follows the loop: the shortest while it has time to spare, longer while it
has none.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The shortest slot: 100 messages a second a stream at most.
MIN_INTERVAL = 0.010
# The longest: under any load, an event of a busy stream waits at most about this long.
MAX_INTERVAL = 0.100
# How often the length is reviewed (only while streams are busy: they ask for slots).
REVIEW_S = 0.5
# Busy shares of the loop's thread (running, or ready to run and waiting for a CPU): at or
# above BUSY_HIGH the loop has no time to spare and the slots grow by GROW; below BUSY_LOW
# they shrink by SHRINK. Between the two they stay. Growing is faster than shrinking: a
# saturated loop delays every call, a long slot only the streams in runs.
BUSY_HIGH = 0.90
BUSY_LOW = 0.80
GROW = 1.5
SHRINK = 0.8


class RunSlots:
    """The process's slots. Used on the event loop's thread only: `busy` measures the thread
    it is called on (default: `LoopBusy`)."""

    def __init__(self, busy: Callable[[], float | None] | None = None) -> None:
        self.interval = MIN_INTERVAL
        self._busy = busy if busy is not None else LoopBusy()
        self._review_at = 0.0

    def next_slot(self, sent_at: float, now: float) -> float:
        """When a busy stream that sent at `sent_at` sends next (both loop time, `now` the
        loop's): the first multiple of the slot length after it. Every stream of the process
        gets the same moment for the same slot, so the busy streams of a session wake
        together and their messages leave in one turn of the loop; each stream's own
        `sent_at + interval` let their moments drift apart, a few streams waking at a time,
        several times a slot (measured at 25 ms slots: the server's CPU 0.81-0.89 cores
        against 0.91-0.93, SendEvents p50 1.4-2.5 ms against 2.7-4.0)."""
        if now >= self._review_at:
            self._review()
            self._review_at = now + REVIEW_S
        interval = self.interval
        return (sent_at // interval + 1) * interval

    def _review(self) -> None:
        share = self._busy()
        if share is None:  # no measurement window yet
            return
        if share >= BUSY_HIGH:
            self.interval = min(MAX_INTERVAL, self.interval * GROW)
        elif share < BUSY_LOW:
            self.interval = max(MIN_INTERVAL, self.interval * SHRINK)


class LoopBusy:
    """The share of the time since the last call that the calling thread was running or
    waiting for a CPU: on Linux from the scheduler's own accounting of the thread
    (`/proc/thread-self/schedstat`), which counts the time another process held the
    thread's CPU too; elsewhere its CPU time alone."""

    def __init__(self) -> None:
        self._last: tuple[int, int] | None = None
        self._read = _scheduled_ns if _scheduled_ns() is not None else time.thread_time_ns

    def __call__(self) -> float | None:
        now, busy = time.monotonic_ns(), self._read()
        if busy is None:  # the file went away: a window of nothing
            self._last = None
            return None
        last, self._last = self._last, (now, busy)
        if last is None or now <= last[0]:
            return None
        return (busy - last[1]) / (now - last[0])


def _scheduled_ns() -> int | None:
    """Nanoseconds the calling thread has run and waited to run; None where not known."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            running, waiting = stat.read().split()[:2]
        return int(running) + int(waiting)
    except (OSError, ValueError):
        return None
