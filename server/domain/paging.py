"""Opaque page tokens for keyset paging, bound to the query that made them."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from server.domain.errors import InvalidArgument


def query_fingerprint(**filters: Any) -> str:
    """A short digest of a list's filters and order (not its page size)."""
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(fingerprint: str, key: list[Any]) -> str:
    """The token of the page after the row whose sort key is `key`."""
    raw = json.dumps({"q": fingerprint, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, fingerprint: str, shape: tuple[type, ...],
           field: str = "page_token") -> list[Any] | None:
    """The sort key in `token` (of the types in `shape`), or None for no token. A token of
    another query, or one that was tampered with, is rejected."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
        key = body["k"]
        bound_to = body["q"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument.one(field, "is not a page token issued by this service") from exc
    if (not isinstance(key, list) or len(key) != len(shape)
            or any(type(value) is not kind for value, kind in zip(key, shape, strict=True))):
        raise InvalidArgument.one(field, "is not a page token issued by this service")
    if bound_to != fingerprint:
        raise InvalidArgument.one(
            field,
            "was issued for a list with other filters or order; "
            "repeat the request that returned it, or start without a token",
        )
    return key
