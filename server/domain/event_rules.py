"""Event types and the validation of events that clients send."""

from __future__ import annotations

from server.domain import ids
from server.domain.models import Json
from server.domain.validation import Violations

USER_MESSAGE = "user.message"
USER_INTERRUPT = "user.interrupt"
USER_TOOL_CONFIRMATION = "user.tool_confirmation"
USER_CUSTOM_TOOL_RESULT = "user.custom_tool_result"
USER_DEFINE_OUTCOME = "user.define_outcome"

CLIENT_TYPES = frozenset({USER_MESSAGE, USER_INTERRUPT, USER_TOOL_CONFIRMATION,
                          USER_CUSTOM_TOOL_RESULT, USER_DEFINE_OUTCOME})
SESSION_STATUS_TERMINATED = "session.status_terminated"
SESSION_DELETED = "session.deleted"
# After one of these a stream has nothing more to say, so it ends.
TERMINAL_TYPES = frozenset({SESSION_STATUS_TERMINATED, SESSION_DELETED})

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
