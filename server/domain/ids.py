"""Resource IDs: a kind prefix plus a time-sortable ULID, such as `sess_01JF3Z…`."""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

AGENT = "agent"
ENVIRONMENT = "env"
SESSION = "sess"
EVENT = "evt"
TURN = "turn"
FILE = "file"
VAULT = "vault"
MEMORY_STORE = "memstore"

DEFAULT_WORKSPACE = "wrkspc_default"


def new_id(prefix: str) -> str:
    """A new ID of the given kind."""
    return f"{prefix}_{_ulid()}"


# ULIDs (ulid/spec): 48 bits of Unix milliseconds, then 80 random bits, as 26 characters of
# Crockford's base32 (10 for the time, 16 for the random part). Made here rather than by
# python-ulid, which took 9-10 µs an ID (a SendEvents makes one to three); this takes 2.5.
# Like python-ulid's default, IDs made within one millisecond increase: the random part of
# the first is counted up for the next ones. tests/test_ids.py reads them with python-ulid.
_PAIRS = [a + b for a in "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
          for b in "0123456789ABCDEFGHJKMNPQRSTVWXYZ"]  # 10 bits -> 2 characters
_RANDOM_MAX = (1 << 80) - 1
_lock = threading.Lock()  # IDs are made on the event loop and on a few threads
_last: list[Any] = [0, 0, ""]  # the last ID's milliseconds, random part, and time part


def _ulid() -> str:
    p = _PAIRS
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms == _last[0] and _last[1] < _RANDOM_MAX:
            random, head = _last[1] + 1, _last[2]
        else:
            random = int.from_bytes(os.urandom(10), "big")
            head = (p[ms >> 40 & 1023] + p[ms >> 30 & 1023] + p[ms >> 20 & 1023]
                    + p[ms >> 10 & 1023] + p[ms & 1023])
        _last[:] = ms, random, head
    return (head + p[random >> 70] + p[random >> 60 & 1023] + p[random >> 50 & 1023]
            + p[random >> 40 & 1023] + p[random >> 30 & 1023] + p[random >> 20 & 1023]
            + p[random >> 10 & 1023] + p[random & 1023])


_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


def has_prefix(value: str, prefix: str) -> bool:
    """Whether `value` looks like an ID of the given kind: the prefix, then letters and digits,
    at most 64 characters in all (what the tables hold)."""
    return (value.startswith(prefix + "_") and len(value) > len(prefix) + 1
            and _ID.fullmatch(value) is not None)
