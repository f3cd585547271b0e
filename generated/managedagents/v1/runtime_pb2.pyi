import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from managedagents.v1 import event_pb2 as _event_pb2
from managedagents.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AcquireWorkRequest(_message.Message):
    __slots__ = ("runtime_id", "lease_seconds", "wait_seconds")
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    runtime_id: str
    lease_seconds: int
    wait_seconds: int
    def __init__(self, runtime_id: _Optional[str] = ..., lease_seconds: _Optional[int] = ..., wait_seconds: _Optional[int] = ...) -> None: ...

class AcquireWorkResponse(_message.Message):
    __slots__ = ("lease",)
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ...) -> None: ...

class Lease(_message.Message):
    __slots__ = ("lease_id", "session_id", "runtime_id", "expires_at", "session", "pending_events")
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    PENDING_EVENTS_FIELD_NUMBER: _ClassVar[int]
    lease_id: str
    session_id: str
    runtime_id: str
    expires_at: _timestamp_pb2.Timestamp
    session: _session_pb2.Session
    pending_events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    def __init__(self, lease_id: _Optional[str] = ..., session_id: _Optional[str] = ..., runtime_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ..., pending_events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ...) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ("session_id", "lease_id", "lease_seconds")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    lease_id: str
    lease_seconds: int
    def __init__(self, session_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., lease_seconds: _Optional[int] = ...) -> None: ...

class AppendRuntimeEventsRequest(_message.Message):
    __slots__ = ("session_id", "lease_id", "events", "processed_event_ids")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    lease_id: str
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    processed_event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., processed_event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AppendRuntimeEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ...) -> None: ...

class EndTurnRequest(_message.Message):
    __slots__ = ("session_id", "lease_id", "stop_reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    lease_id: str
    stop_reason: _event_pb2.StopReason
    def __init__(self, session_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., stop_reason: _Optional[_Union[_event_pb2.StopReason, str]] = ...) -> None: ...

class EndTurnResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ...) -> None: ...

class TerminateSessionRequest(_message.Message):
    __slots__ = ("session_id", "lease_id", "reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    lease_id: str
    reason: str
    def __init__(self, session_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TerminateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ...) -> None: ...

class ReleaseLeaseRequest(_message.Message):
    __slots__ = ("session_id", "lease_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    lease_id: str
    def __init__(self, session_id: _Optional[str] = ..., lease_id: _Optional[str] = ...) -> None: ...

class ReleaseLeaseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
