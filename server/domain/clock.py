"""Time as integer microseconds since the epoch (UTC): exact, portable across databases."""

from __future__ import annotations

import time


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000
