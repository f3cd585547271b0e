"""When busy streams in runs send: in slots all the streams of a server share, as short as
its event loop's load allows.

A busy stream sends at most once a slot, with whatever arrived meanwhile; the slot's length
is the event's wait for the ones after it, most of the delivery latency of such a stream.
Each message costs the server about as much as a small call: a session with 100
subscribers at 1,000 events a second would ask for 100,000 messages a second one event a
message, where a bare grpc.aio process sent 16,000-40,000 to Python clients on the
machines measured, and 68,000-86,000 to h2load (asyncio's loop, uvloop). A slot too short
for the load saturates the loop, and then every call waits.

No fixed length suits every machine and load. Measured (bench, 1 session x 100
subscribers in runs, 1,000 events/s, the loop kept off the clients' core):
- 10 ms slots: delivery p99 16 ms (in 10 of 14 runs; 24, 30, 33 and 33 in the others), the
  loop's thread running or waiting to run 0.77 of the time, SendEvents p50 3.5 ms;
  25 ms slots: p99 31-33 ms (in 10 of 12 runs; 43 and 77 in the others), 0.63, 2.1 ms.
- Another process taking half the loop's core: 10 ms still did better (p99 28-39 ms
  against 36-41).
- Taking three quarters of it: 10 ms slots kept the loop busy 0.92 of the time, and
  SendEvents p50 rose to 12 ms against 6 with 25 ms; these slots grew to about 20 ms
  (p99 36 ms, SendEvents p50 8-9 ms).
So the length follows the loop: the shortest while it has time to spare, longer while it
has none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# The shortest slot: 100 messages a second a stream at most.
MIN_INTERVAL = 0.010
# The longest: under any load, an event of a busy stream waits at most this long for its slot.
MAX_INTERVAL = 0.100
# Loop times closer than this are one moment (a microsecond; loop times are in seconds).
SAME_MOMENT = 1e-6
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
    """The slots of one server's streams (its hub's). Used on the event loop's thread only:
    `busy` measures the thread it is called on (default: `LoopBusy`)."""

    def __init__(self, busy: Callable[[], float | None] | None = None) -> None:
        self.interval = MIN_INTERVAL
        self._busy = busy if busy is not None else LoopBusy()
        self._reviewed_at: float | None = None

    def next_slot(self, sent_at: float, now: float) -> float:
        """When a busy stream that sent at `sent_at` sends next (both loop time, `now` the
        loop's; at or before `now`: at once): the first multiple of the slot length after
        `sent_at`. While the length stays, every stream that sent in one slot gets the same
        moment, so the busy streams of a session wake together and their messages leave in
        one turn of the loop; each stream's own `sent_at + interval` let their moments drift
        apart, a few streams waking at a time, several times a slot (measured at 25 ms
        slots: the server's CPU 0.81-0.89 cores against 0.91-0.93, SendEvents p50 1.4-2.5
        ms against 2.7-4.0)."""
        if self._reviewed_at is None or now >= self._reviewed_at + REVIEW_S:
            self._review(now)
        interval = self.interval
        # A send at a slot's end belongs to the slot it ends, not the one before: the end
        # as a float (k * interval) may fall a hair short of k slots when divided again.
        return (math.floor((sent_at + SAME_MOMENT) / interval) + 1) * interval

    def _review(self, now: float) -> None:
        # Reviews come only while streams are busy. After a quiet spell the window spans
        # it all, and a loop that had time to spare over it shrinks the slots as far as
        # that many reviews would have, rather than by one step.
        periods = 1.0 if self._reviewed_at is None else (now - self._reviewed_at) / REVIEW_S
        self._reviewed_at = now
        share = self._busy()
        if share is None:  # no measurement window yet
            return
        if share >= BUSY_HIGH:
            self.interval = min(MAX_INTERVAL, self.interval * GROW)
        elif share < BUSY_LOW:
            self.interval = max(MIN_INTERVAL, self.interval * SHRINK ** max(1.0, periods))


class LoopBusy:
    """The share of the time since the last call that the calling thread was running or
    waiting for a CPU: on Linux from the scheduler's own accounting of the thread
    (`/proc/thread-self/schedstat`), which counts the time another process held the
    thread's CPU too; elsewhere (or where the kernel keeps no such accounting) its CPU time
    alone. Time the thread waits for the GIL, held by another of the process's threads,
    counts as neither."""

    def __init__(self) -> None:
        self._last: tuple[int, int] | None = None
        self._read: Callable[[], int | None] = (
            _scheduled_ns if _scheduled_ns() is not None else time.thread_time_ns)

    def __call__(self) -> float | None:
        now, busy = time.monotonic_ns(), self._read()
        if busy is None:  # the file could not be read: CPU time from now on
            self._read, busy = time.thread_time_ns, time.thread_time_ns()
            self._last = None
        last, self._last = self._last, (now, busy)
        if last is None or now <= last[0]:
            return None
        return (busy - last[1]) / (now - last[0])


def _scheduled_ns() -> int | None:
    """Nanoseconds the calling thread has run and waited to run; None where not known (no
    file, or a kernel that does not account it: the calling thread has surely run)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            running, waiting = (int(field) for field in stat.read().split()[:2])
    except (OSError, ValueError):
        return None
    return running + waiting if running > 0 else None
