"""Field checks shared by every resource: required strings, lengths, IDs, metadata, page sizes."""

from __future__ import annotations

from urllib.parse import urlsplit

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.ids import has_prefix

METADATA_MAX_KEYS = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


class Violations:
    """Collects every bad field of a request, so one error names them all."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    def required(self, field: str, value: str) -> bool:
        """Records a violation when `value` is empty; returns whether it was present."""
        if not value:
            self.add(field, "is required")
            return False
        return True

    def max_length(self, field: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self.add(field, f"must be at most {limit} characters (got {len(value)})")

    def metadata(self, field: str, metadata: dict[str, str]) -> None:
        check_metadata(self, field, metadata)

    def https_url(self, field: str, url: str, example: str) -> None:
        """A required https URL of at most 2048 characters."""
        if self.required(field, url):
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.netloc:
                self.add(field, f"must be an https URL, such as {example}")
            self.max_length(field, url, 2048)


def check_metadata(v: Violations, field: str, metadata: dict[str, str]) -> None:
    """Metadata limits: at most 16 keys, keys 1..64 characters, values at most 512."""
    if len(metadata) > METADATA_MAX_KEYS:
        v.add(field, f"must have at most {METADATA_MAX_KEYS} keys (got {len(metadata)})")
    for key, value in metadata.items():
        if not key:
            v.add(field, "keys must not be empty")
        elif len(key) > METADATA_KEY_MAX:
            v.add(f"{field}[{key[:20]}…]", f"key must be at most {METADATA_KEY_MAX} characters")
        if len(value) > METADATA_VALUE_MAX:
            v.add(f"{field}[{key[:64]}]", f"value must be at most {METADATA_VALUE_MAX} characters")


def require_id(field: str, value: str, prefix: str) -> str:
    """Checks that a request names a resource by an ID of the right kind."""
    if not value:
        raise InvalidArgument.one(field, "is required")
    if not has_prefix(value, prefix):
        raise InvalidArgument.one(field, f"must be an ID with the '{prefix}_' prefix")
    return value


def page_size(field: str, value: int) -> int:
    """A list's page size: 0 means the default (20); 1..100 are taken as given."""
    if value < 0:
        raise InvalidArgument.one(field, "must not be negative")
    if value > PAGE_SIZE_MAX:
        raise InvalidArgument.one(field, f"must be at most {PAGE_SIZE_MAX}")
    return value or PAGE_SIZE_DEFAULT
