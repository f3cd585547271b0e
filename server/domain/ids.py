"""Resource IDs: a kind prefix plus a time-sortable ULID, such as `sess_01JF3Z…`."""

from __future__ import annotations

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


def has_prefix(value: str, prefix: str) -> bool:
    """Whether `value` looks like an ID of the given kind (prefix and a non-empty rest)."""
    return value.startswith(prefix + "_") and len(value) > len(prefix) + 1 and len(value) <= 128
