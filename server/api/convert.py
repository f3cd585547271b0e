"""Conversion between protobuf messages and domain objects."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message
from managedagents.v1 import agent_pb2, environment_pb2, event_pb2, session_pb2

from server.api import proto_dicts
from server.domain import event_rules, resources
from server.domain.clock import now_us
from server.domain.errors import InvalidArgument
from server.domain.models import Agent, Environment, Event, Json, Session
from server.store import RequestKey

SESSION_STATUS = {"idle": session_pb2.SESSION_STATUS_IDLE,
                  "running": session_pb2.SESSION_STATUS_RUNNING,
                  "rescheduling": session_pb2.SESSION_STATUS_RESCHEDULING,
                  "terminated": session_pb2.SESSION_STATUS_TERMINATED}
STATUS_NAME = {number: name for name, number in SESSION_STATUS.items()}
TURN_STATUS = {"idle": session_pb2.TURN_STATUS_IDLE,
               "running": session_pb2.TURN_STATUS_RUNNING,
               "canceling": session_pb2.TURN_STATUS_CANCELING,
               "requires_action": session_pb2.TURN_STATUS_REQUIRES_ACTION}


def to_dict(message: Message) -> Json:
    """A message as the domain's JSON-shaped dict, keyed by the contract's field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def fill(message: Message, value: Json) -> None:
    """Fills the empty `message` from a dict made by `to_dict` (stored values are trusted)."""
    proto_dicts.fill(message, value)


TIMESTAMP_MIN, TIMESTAMP_MAX = -62135596800, 253402300799  # 0001-01-01 .. 9999-12-31
REQUEST_ID_MAX = 256


def micros(ts: timestamp_pb2.Timestamp, field: str) -> int:
    """A request's timestamp in microseconds; one outside years 1..9999 names its field."""
    if not TIMESTAMP_MIN <= ts.seconds <= TIMESTAMP_MAX or not 0 <= ts.nanos < 1_000_000_000:
        raise InvalidArgument.one(field, "must be a time between years 1 and 9999")
    return ts.ToMicroseconds()


def nul_field(message: Message, prefix: str = "") -> str | None:
    """The path of the first string field holding a NUL character, which no database
    stores as text; None when there is none."""
    for descriptor, value in message.ListFields():
        path = f"{prefix}{descriptor.name}"
        if descriptor.type == descriptor.TYPE_STRING:
            items = value if descriptor.is_repeated else [value]
            for i, item in enumerate(items):
                if "\x00" in item:
                    return f"{path}[{i}]" if descriptor.is_repeated else path
        elif descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if "\x00" in key or (isinstance(item, str) and "\x00" in item):
                    return f"{path}[{key!r}]"
        elif descriptor.type == descriptor.TYPE_MESSAGE:
            items = value if descriptor.is_repeated else [value]
            for i, item in enumerate(items):
                where = f"{path}[{i}]." if descriptor.is_repeated else f"{path}."
                found = nul_field(item, where)
                if found:
                    return found
    return None


def stamp(target: timestamp_pb2.Timestamp, us: int | None) -> None:
    if us is not None:  # what FromMicroseconds does, at a third of its cost
        target.seconds, micros_left = divmod(us, 1_000_000)
        target.nanos = micros_left * 1000


def request_key(scope: str, request: Message) -> RequestKey | None:
    """The idempotency key of a request with a `request_id`: bound to the rest of the request."""
    request_id: str = getattr(request, "request_id", "")
    if not request_id:
        return None
    if len(request_id) > REQUEST_ID_MAX:
        raise InvalidArgument.one("request_id", f"must be at most {REQUEST_ID_MAX} characters")
    rest = type(request)()
    rest.CopyFrom(request)
    rest.ClearField("request_id")
    digest = hashlib.sha256(rest.SerializeToString(deterministic=True)).hexdigest()
    return RequestKey(scope, request_id, digest)


def agent_from(msg: agent_pb2.Agent | agent_pb2.CreateAgentRequest) -> Agent:
    return Agent(id="", version=0, name=msg.name, model=msg.model,
                 description=msg.description, system=msg.system,
                 tools=[to_dict(t) for t in msg.tools], metadata=dict(msg.metadata))


class _KeptEncodings(dict[Any, Any]):
    """Encodings kept by key, `limit` bytes of them at most: past it, all are dropped (the
    ones still asked for come back at once). Bytes, not a count: an agent's encoding holds
    its system prompt and tools, a session's its agent's, and an event may be nearly 1 MiB.
    A dict, so that a hit is a plain `get`; `keep` adds one (`size`: its bytes, when what
    is kept is not itself bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._size, self._limit = 0, limit

    def keep(self, key: Any, kept: Any, size: int | None = None) -> Any:
        size = len(kept) if size is None else size
        if self._size + size > self._limit:
            self.clear()
            self._size = 0
        self[key] = kept
        self._size += size
        return kept


_AGENT_BYTES = _KeptEncodings(16 * 2**20)


def agent_to(agent: Agent, out: agent_pb2.Agent | None = None) -> agent_pb2.Agent:
    """An agent version as protobuf. A version never changes (only its archive time), so
    its encoding is kept: converting tools from JSON is most of a GetSession's cost."""
    out = out if out is not None else agent_pb2.Agent()
    key = (agent.id, agent.version, agent.archived_at)
    cached = _AGENT_BYTES.get(key)
    if cached is not None:
        out.MergeFromString(cached)
        return out
    _agent_fields(agent, out)
    _AGENT_BYTES.keep(key, out.SerializeToString())
    return out


def _agent_fields(agent: Agent, out: agent_pb2.Agent) -> None:
    out.id, out.type, out.version = agent.id, "agent", agent.version
    out.name, out.description, out.model = agent.name, agent.description, agent.model
    out.system = agent.system
    for tool in agent.tools:
        fill(out.tools.add(), tool)
    out.metadata.update(agent.metadata)
    stamp(out.archived_at, agent.archived_at)
    stamp(out.created_at, agent.created_at)
    stamp(out.updated_at, agent.updated_at)


def environment_from(msg: Any) -> Environment:
    """From an Environment, a CreateEnvironmentRequest or an InlineEnvironment."""
    config = to_dict(msg.config) if msg.HasField("config") else None
    return Environment(id="", name=msg.name, description=msg.description, config=config,
                       metadata=dict(msg.metadata))


def environment_to(env: Environment) -> environment_pb2.Environment:
    out = environment_pb2.Environment(id=env.id, type="environment", name=env.name,
                                      description=env.description, metadata=env.metadata)
    fill(out.config, env.config or {})
    stamp(out.archived_at, env.archived_at)
    stamp(out.created_at, env.created_at)
    stamp(out.updated_at, env.updated_at)
    return out


def session_to(session: Session, out: session_pb2.Session | None = None
               ) -> session_pb2.Session:
    """The session as protobuf, built in `out` when given (a session list is built from
    each session's kept encoding instead: `session_list`)."""
    out = out if out is not None else session_pb2.Session()
    out.id, out.type, out.agent_id = session.id, "session", session.agent.id
    out.environment_id, out.title = session.environment_id, session.title
    out.status = SESSION_STATUS[session.status]
    out.turn_status = TURN_STATUS[session.turn_status]
    out.last_sequence, out.turn_id = session.last_sequence, session.turn_id
    # Collections only when they hold something: most are empty, and handing an empty one
    # to the constructor still costs (a list page builds 20 sessions; measured -37%).
    if session.metadata:
        out.metadata.update(session.metadata)
    if session.vault_ids:
        out.vault_ids.extend(session.vault_ids)
    if session.memory_store_ids:
        out.memory_store_ids.extend(session.memory_store_ids)
    agent_to(session.agent, out.agent)
    if session.resources:
        for resource in resources.public_view(session.resources):
            fill(out.resources.add(), resource)
    out.stats.active_seconds = session.active_seconds
    out.stats.duration_seconds = _duration_seconds(session)
    stamp(out.archived_at, session.archived_at)
    stamp(out.created_at, session.created_at)
    stamp(out.updated_at, session.updated_at)
    return out


_LISTED_SESSIONS = _KeptEncodings(16 * 2**20)
_SESSIONS_FIELD, _NEXT_PAGE_TOKEN_FIELD, _STATS_FIELD = b"\x0a", b"\x12", b"\x6a"
# SessionStats: two doubles, each a tag byte and 8 bytes (zeros too: they decode the same).
_STATS = struct.Struct("<BdBd")
_STATS_LENGTH, _ACTIVE_FIELD, _DURATION_FIELD = bytes((_STATS.size,)), 0x09, 0x11


def session_list(sessions: list[Session], next_page_token: str) -> bytes:
    """A page of sessions as a serialized `ListSessionsResponse`. A session's encoding is
    kept for as long as nothing stored of it changes (its `stored_version`): building 20
    sessions was a third of a ListSessions on the event loop. Only `stats` moves with the
    clock; it is encoded anew and appended (a field may come in any order)."""
    parts = []
    for session in sessions:
        key = session.stored_version
        cached = _LISTED_SESSIONS.get(key) if key is not None else None
        if cached is None:
            built = session_to(session)
            built.ClearField("stats")
            cached = built.SerializeToString()
            if key is not None:
                _LISTED_SESSIONS.keep(key, cached)
        body = cached + _STATS_FIELD + _STATS_LENGTH + _STATS.pack(
            _ACTIVE_FIELD, session.active_seconds, _DURATION_FIELD, _duration_seconds(session))
        parts.append(_SESSIONS_FIELD + _varint(len(body)) + body)
    if next_page_token:
        token = next_page_token.encode()
        parts.append(_NEXT_PAGE_TOKEN_FIELD + _varint(len(token)) + token)
    return b"".join(parts)


def _duration_seconds(session: Session) -> float:
    """`stats.duration_seconds`: the session's age, which moves with the clock."""
    return max(0, now_us() - session.created_at) / 1e6


def event_to(event: Event, out: event_pb2.Event | None = None) -> event_pb2.Event:
    """The event as protobuf, built in `out` when given (as for `session_to`)."""
    out = out if out is not None else event_pb2.Event()
    out.id, out.type, out.schema_version = event.id, event.type, event_rules.SCHEMA_VERSION
    out.session_id, out.turn_id, out.sequence = event.session_id, event.turn_id, event.sequence
    payload = getattr(out, event_rules.payload_of_type(event.type))
    payload.SetInParent()
    fill(payload, event.payload)
    stamp(out.created_at, event.created_at)
    stamp(out.processed_at, event.processed_at)
    return out


_STREAM_ITEMS = _KeptEncodings(16 * 2**20)
_EVENT_FIELD, _EVENTS_FIELD, _BATCH_EVENT_FIELD = b"\x0a", b"\x1a", b"\x0a"


def stream_item(event: Event) -> bytes:
    """An event as a stream message (`StreamEventsResponse.event`), serialized. Every open
    stream of a session sends the same events, so each is converted and serialized once
    (until it changes: only `processed_at` and, for a message queued for a later turn,
    `turn_id` do)."""
    return _EVENT_FIELD + _serialized_event(event)


# The most a run of events puts in one message: gRPC clients refuse messages over 4 MiB by
# default, and one event may be nearly that big on its own (it then goes alone).
RUN_BYTES_MAX = 1024 * 1024


# A session's busy streams send the same run in the same slot (server/streaming/follow.py):
# its messages are built once for all of them. (Built per stream, they were 7% of the
# event loop's time at 1,000 events/s to 100 subscribers, under py-spy.)
_SHARED_RUNS = _KeptEncodings(16 * 2**20)


def stream_runs(events: list[Event]) -> list[bytes]:
    """Consecutive events as stream messages (`StreamEventsResponse.events`), serialized:
    the events' cached encodings joined, with no message built per stream; a new message
    whenever the next event would take one past RUN_BYTES_MAX.

    The messages of a run are shared by the streams that send the very same Event objects,
    first to last: a session's feed holds one object per sequence, never changed once
    published, so those two and the sequences between say which events lie between. A run
    read from the database is the objects of one page its streams share (never changed
    either: server/streaming/replay_pages.py), or new ones, built afresh."""
    first, last = events[0], events[-1]
    key = (first.session_id, first.sequence, last.sequence)
    shared = _SHARED_RUNS.get(key)
    if shared is not None and shared[0] is first and shared[1] is last:
        return shared[2]
    messages = _runs(events)
    _SHARED_RUNS.keep(key, (first, last, messages), sum(map(len, messages)))
    return messages


def _runs(events: list[Event]) -> list[bytes]:
    messages: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for event in events:
        part = _BATCH_EVENT_FIELD + _serialized_event(event)
        if parts and size + len(part) > RUN_BYTES_MAX:
            messages.append(_run_message(parts))
            parts, size = [], 0
        parts.append(part)
        size += len(part)
    if parts:
        messages.append(_run_message(parts))
    return messages


def _run_message(parts: list[bytes]) -> bytes:
    body = b"".join(parts)
    return _EVENTS_FIELD + _varint(len(body)) + body


def _serialized_event(event: Event) -> bytes:
    """The event's encoding, length first: the body of a length-delimited field."""
    key = (event.id, event.processed_at, event.turn_id)
    item = _STREAM_ITEMS.get(key)
    if item is None:
        encoded = event_to(event).SerializeToString()
        item = _STREAM_ITEMS.keep(key, _varint(len(encoded)) + encoded)
    return item


def _varint(n: int) -> bytes:
    """A length as protobuf encodes it: seven bits a byte, low bits first."""
    if n < 0x4000:  # one or two bytes, nearly every length here: 170-240 ns, not 240-330
        return bytes((n,)) if n < 0x80 else bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def each_into(container: Any, items: list[Any], build: Callable[[Any, Any], Any]) -> None:
    """Each item built by `build(item, out)` in its place in a repeated field of a response
    (see `session_to`)."""
    for item in items:
        build(item, container.add())
