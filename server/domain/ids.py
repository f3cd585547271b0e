"""Resource IDs: a kind prefix plus a time-sortable ULID, such as `sess_01JF3Z…`."""

from __future__ import annotations

import re

from ulid import ULID

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
    return f"{prefix}_{ULID()}"


_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


def has_prefix(value: str, prefix: str) -> bool:
    """Whether `value` looks like an ID of the given kind: the prefix, then letters and digits,
    at most 64 characters in all (what the tables hold)."""
    return (value.startswith(prefix + "_") and len(value) > len(prefix) + 1
            and _ID.fullmatch(value) is not None)
