"""Event types and the validation of events that clients send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.domain import ids
from server.domain.models import Event, Json
from server.domain.validation import Violations

USER_MESSAGE = "user.message"
USER_INTERRUPT = "user.interrupt"
USER_TOOL_CONFIRMATION = "user.tool_confirmation"
USER_CUSTOM_TOOL_RESULT = "user.custom_tool_result"
USER_DEFINE_OUTCOME = "user.define_outcome"

CLIENT_TYPES = frozenset({USER_MESSAGE, USER_INTERRUPT, USER_TOOL_CONFIRMATION,
                          USER_CUSTOM_TOOL_RESULT, USER_DEFINE_OUTCOME})
RUNTIME_TYPES = frozenset({
    "agent.message", "agent.thinking", "agent.tool_use", "agent.tool_result",
    "agent.custom_tool_use", "span.model_request_start", "span.model_request_end",
    "session.error"})
SESSION_STATUS_TERMINATED = "session.status_terminated"
SERVICE_TYPES = frozenset({
    "session.status_running", "session.status_idle", SESSION_STATUS_TERMINATED,
    "session.updated", "session.deleted"})
SESSION_DELETED = "session.deleted"
# After one of these a stream has nothing more to say, so it ends.
TERMINAL_TYPES = frozenset({SESSION_STATUS_TERMINATED, SESSION_DELETED})

ALL_TYPES = CLIENT_TYPES | RUNTIME_TYPES | SERVICE_TYPES
SCHEMA_VERSION = "1.0"
BATCH_MAX = 100
TEXT_MAX = 1_000_000
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOCUMENT_MEDIA_TYPES = frozenset({"application/pdf", "text/plain"})
ALLOW = "TOOL_CONFIRMATION_RESULT_ALLOW"
DENY = "TOOL_CONFIRMATION_RESULT_DENY"


def type_of_payload(payload_field: str) -> str:
    """The dotted event type of a payload field: `user_message` -> `user.message`."""
    return payload_field.replace("_", ".", 1)


def payload_of_type(event_type: str) -> str:
    """The payload field of a dotted event type: `user.message` -> `user_message`."""
    return event_type.replace(".", "_", 1)


def check_content(v: Violations, field: str, blocks: list[Json], text_only: bool = False) -> None:
    """Content blocks: text (non-empty), or image/document with a base64 source."""
    for i, block in enumerate(blocks):
        where = f"{field}[{i}]"
        kind = block.get("type", "")
        if kind == "text":
            if v.required(f"{where}.text", block.get("text", "")):
                v.max_length(f"{where}.text", block["text"], TEXT_MAX)
        elif text_only:
            v.add(f"{where}.type", "must be 'text'")
        elif kind in ("image", "document"):
            allowed = IMAGE_MEDIA_TYPES if kind == "image" else DOCUMENT_MEDIA_TYPES
            source = block.get("source", {})
            if source.get("type", "base64") != "base64":
                v.add(f"{where}.source.type", "must be 'base64'")
            if source.get("media_type", "") not in allowed:
                v.add(f"{where}.source.media_type", f"must be one of {', '.join(sorted(allowed))}")
            v.required(f"{where}.source.data", source.get("data", ""))
        elif not kind:
            v.add(f"{where}.type", "is required: 'text', 'image' or 'document'")
        else:
            v.add(f"{where}.type", f"unknown content block type {kind!r}")


def check_client_event(v: Violations, field: str, event_type: str, payload: Json) -> Json:
    """Validates one client event's payload (at `field`); returns the payload as stored."""
    if event_type == USER_MESSAGE:
        text, content = payload.get("text", ""), payload.get("content", [])
        if text and content:
            v.add(f"{field}.text", "give the message as text or as content, not both")
        elif text:
            content = [{"type": "text", "text": text}]
        elif not content:
            v.add(f"{field}.content", "is required: a non-empty list of content blocks, or text")
        check_content(v, f"{field}.content", content)
        return {"content": content}
    if event_type == USER_TOOL_CONFIRMATION:
        use_id = payload.get("tool_use_id", "")
        if v.required(f"{field}.tool_use_id", use_id) and not ids.has_prefix(use_id, ids.EVENT):
            v.add(f"{field}.tool_use_id", "must be the ID of an agent.tool_use event (evt_…)")
        result = payload.get("result", "")
        if result not in (ALLOW, DENY):
            v.add(f"{field}.result", "is required: allow or deny")
        if payload.get("deny_message") and result != DENY:
            v.add(f"{field}.deny_message", "is only allowed when result is deny")
        return payload
    if event_type == USER_CUSTOM_TOOL_RESULT:
        use_id = payload.get("custom_tool_use_id", "")
        if (v.required(f"{field}.custom_tool_use_id", use_id)
                and not ids.has_prefix(use_id, ids.EVENT)):
            v.add(f"{field}.custom_tool_use_id",
                  "must be the ID of an agent.custom_tool_use event (evt_…)")
        check_content(v, f"{field}.content", payload.get("content", []), text_only=True)
        return payload
    # user.interrupt carries nothing; user.define_outcome keeps whatever it was given.
    return payload


def check_runtime_event(v: Violations, field: str, event_type: str, payload: Json) -> Json:
    """Validates one event a runtime appends (at `field`); returns the payload as stored."""
    if event_type in ("agent.message", "agent.thinking"):
        if not payload.get("content"):
            v.add(f"{field}.content", "is required: a non-empty list of content blocks")
        check_content(v, f"{field}.content", payload.get("content", []))
    elif event_type in ("agent.tool_use", "agent.custom_tool_use"):
        v.required(f"{field}.name", payload.get("name", ""))
    elif event_type == "agent.tool_result":
        use_id = payload.get("tool_use_id", "")
        if v.required(f"{field}.tool_use_id", use_id) and not ids.has_prefix(use_id, ids.EVENT):
            v.add(f"{field}.tool_use_id", "must be the ID of an agent.tool_use event (evt_…)")
        check_content(v, f"{field}.content", payload.get("content", []))
    elif event_type == "session.error":
        v.required(f"{field}.message", payload.get("message", ""))
    return payload


@dataclass
class IncomingEvent:
    """One event of a request: the type it declares, the payload field it sets (such as
    `user_message`), the payload, and where it sits in the request (`events[2]`)."""

    type: str
    payload_field: str
    payload: Json
    field: str


Check = Callable[[Violations, str, str, Json], Json]


def parse_batch(session_id: str, batch: list[IncomingEvent], allowed: frozenset[str],
                sender: str, check: Check, now: int) -> list[tuple[Event, str]]:
    """Validates a batch (1..100 events of the `allowed` types); returns each new event
    with its place in the request, or raises one error that names every bad field."""
    v = Violations()
    if not batch:
        v.add("events", "must contain at least one event")
    if len(batch) > BATCH_MAX:
        v.add("events", f"must contain at most {BATCH_MAX} events")
    events: list[tuple[Event, str]] = []
    for item in batch:
        event_type = item.type
        if item.payload_field:
            event_type = type_of_payload(item.payload_field)
            if item.type and item.type != event_type:
                v.add(f"{item.field}.type", f"{item.type!r} does not match the payload, "
                                            f"which is {event_type!r}")
                continue
        elif not event_type:
            v.add(f"{item.field}.payload", "is required: set one, such as user_message")
            continue
        if event_type not in allowed:
            v.add(f"{item.field}.type", f"{event_type!r} cannot be sent by {sender}; send one "
                                        f"of {', '.join(sorted(allowed))}")
            continue
        where = f"{item.field}.{payload_of_type(event_type)}"
        payload = check(v, where, event_type, item.payload)
        events.append((Event(id=ids.new_id(ids.EVENT), type=event_type, session_id=session_id,
                             payload=payload, created_at=now), item.field))
    v.raise_if_any()
    return events
