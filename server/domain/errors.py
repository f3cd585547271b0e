"""Domain errors: what went wrong, in the product's words. `server.errors` maps them to gRPC."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error a caller is meant to see. `reason` is a stable UPPER_SNAKE code."""

    reason = "ERROR"

    def __init__(self, message: str, reason: str | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = metadata or {}  # machine-readable facts, such as where to resume


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (such as `events[0].user_message.content`) and why."""

    field: str
    description: str


class InvalidArgument(DomainError):
    """The request is malformed; `violations` name every bad field found."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], reason: str | None = None) -> None:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"invalid request: {summary}", reason)
        self.violations = violations

    @classmethod
    def one(cls, field: str, description: str, reason: str | None = None) -> InvalidArgument:
        return cls([FieldViolation(field, description)], reason)


class NotFound(DomainError):
    """The named resource does not exist in the caller's workspace."""

    reason = "NOT_FOUND"

    def __init__(self, resource_type: str, resource_id: str) -> None:
        reason = resource_type.upper().replace(" ", "_") + "_NOT_FOUND"
        super().__init__(f"{resource_type} {resource_id!r} not found", reason)
        self.resource_type = resource_type
        self.resource_id = resource_id


class FailedPrecondition(DomainError):
    """The request is well formed but the resource's state does not allow it."""

    reason = "FAILED_PRECONDITION"

    def __init__(self, message: str, reason: str, subject: str = "") -> None:
        super().__init__(message, reason)
        self.subject = subject


class AlreadyExists(DomainError):
    """A resource (or an idempotency key used with another request) already exists."""

    reason = "ALREADY_EXISTS"


class Aborted(DomainError):
    """A concurrency conflict, such as an update based on a stale version; retry after a re-read."""

    reason = "ABORTED"


class ResourceExhausted(DomainError):
    """A size or count limit was exceeded."""

    reason = "RESOURCE_EXHAUSTED"


class Unavailable(DomainError):
    """Storage cannot be reached right now; the call can be retried."""

    reason = "STORAGE_UNAVAILABLE"


def agent_archived(agent_id: str) -> FailedPrecondition:
    """A new session asked for an archived agent (checked before and, on a race, in the
    create's transaction)."""
    return FailedPrecondition(f"agent {agent_id!r} is archived; new sessions cannot use it",
                              "AGENT_ARCHIVED", agent_id)
