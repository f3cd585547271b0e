import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ToolConfirmationResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOOL_CONFIRMATION_RESULT_UNSPECIFIED: _ClassVar[ToolConfirmationResult]
    TOOL_CONFIRMATION_RESULT_ALLOW: _ClassVar[ToolConfirmationResult]
    TOOL_CONFIRMATION_RESULT_DENY: _ClassVar[ToolConfirmationResult]

class StopReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_REASON_UNSPECIFIED: _ClassVar[StopReason]
    STOP_REASON_END_TURN: _ClassVar[StopReason]
    STOP_REASON_CANCELLED: _ClassVar[StopReason]
    STOP_REASON_REQUIRES_ACTION: _ClassVar[StopReason]
TOOL_CONFIRMATION_RESULT_UNSPECIFIED: ToolConfirmationResult
TOOL_CONFIRMATION_RESULT_ALLOW: ToolConfirmationResult
TOOL_CONFIRMATION_RESULT_DENY: ToolConfirmationResult
STOP_REASON_UNSPECIFIED: StopReason
STOP_REASON_END_TURN: StopReason
STOP_REASON_CANCELLED: StopReason
STOP_REASON_REQUIRES_ACTION: StopReason

class Event(_message.Message):
    __slots__ = ("id", "type", "schema_version", "session_id", "turn_id", "created_at", "processed_at", "sequence", "user_message", "user_interrupt", "user_tool_confirmation", "user_custom_tool_result", "user_define_outcome", "session_status_running", "session_status_idle", "session_status_terminated", "session_error", "session_updated", "session_deleted", "agent_message", "agent_thinking", "agent_tool_use", "agent_tool_result", "agent_custom_tool_use", "span_model_request_start", "span_model_request_end")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_AT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USER_INTERRUPT_FIELD_NUMBER: _ClassVar[int]
    USER_TOOL_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    USER_CUSTOM_TOOL_RESULT_FIELD_NUMBER: _ClassVar[int]
    USER_DEFINE_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SESSION_STATUS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    SESSION_STATUS_IDLE_FIELD_NUMBER: _ClassVar[int]
    SESSION_STATUS_TERMINATED_FIELD_NUMBER: _ClassVar[int]
    SESSION_ERROR_FIELD_NUMBER: _ClassVar[int]
    SESSION_UPDATED_FIELD_NUMBER: _ClassVar[int]
    SESSION_DELETED_FIELD_NUMBER: _ClassVar[int]
    AGENT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AGENT_THINKING_FIELD_NUMBER: _ClassVar[int]
    AGENT_TOOL_USE_FIELD_NUMBER: _ClassVar[int]
    AGENT_TOOL_RESULT_FIELD_NUMBER: _ClassVar[int]
    AGENT_CUSTOM_TOOL_USE_FIELD_NUMBER: _ClassVar[int]
    SPAN_MODEL_REQUEST_START_FIELD_NUMBER: _ClassVar[int]
    SPAN_MODEL_REQUEST_END_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    schema_version: str
    session_id: str
    turn_id: str
    created_at: _timestamp_pb2.Timestamp
    processed_at: _timestamp_pb2.Timestamp
    sequence: int
    user_message: UserMessage
    user_interrupt: UserInterrupt
    user_tool_confirmation: UserToolConfirmation
    user_custom_tool_result: UserCustomToolResult
    user_define_outcome: UserDefineOutcome
    session_status_running: SessionStatusRunning
    session_status_idle: SessionStatusIdle
    session_status_terminated: SessionStatusTerminated
    session_error: SessionError
    session_updated: SessionUpdated
    session_deleted: SessionDeleted
    agent_message: AgentMessage
    agent_thinking: AgentThinking
    agent_tool_use: AgentToolUse
    agent_tool_result: AgentToolResult
    agent_custom_tool_use: AgentCustomToolUse
    span_model_request_start: SpanModelRequestStart
    span_model_request_end: SpanModelRequestEnd
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., schema_version: _Optional[str] = ..., session_id: _Optional[str] = ..., turn_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., processed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ..., user_message: _Optional[_Union[UserMessage, _Mapping]] = ..., user_interrupt: _Optional[_Union[UserInterrupt, _Mapping]] = ..., user_tool_confirmation: _Optional[_Union[UserToolConfirmation, _Mapping]] = ..., user_custom_tool_result: _Optional[_Union[UserCustomToolResult, _Mapping]] = ..., user_define_outcome: _Optional[_Union[UserDefineOutcome, _Mapping]] = ..., session_status_running: _Optional[_Union[SessionStatusRunning, _Mapping]] = ..., session_status_idle: _Optional[_Union[SessionStatusIdle, _Mapping]] = ..., session_status_terminated: _Optional[_Union[SessionStatusTerminated, _Mapping]] = ..., session_error: _Optional[_Union[SessionError, _Mapping]] = ..., session_updated: _Optional[_Union[SessionUpdated, _Mapping]] = ..., session_deleted: _Optional[_Union[SessionDeleted, _Mapping]] = ..., agent_message: _Optional[_Union[AgentMessage, _Mapping]] = ..., agent_thinking: _Optional[_Union[AgentThinking, _Mapping]] = ..., agent_tool_use: _Optional[_Union[AgentToolUse, _Mapping]] = ..., agent_tool_result: _Optional[_Union[AgentToolResult, _Mapping]] = ..., agent_custom_tool_use: _Optional[_Union[AgentCustomToolUse, _Mapping]] = ..., span_model_request_start: _Optional[_Union[SpanModelRequestStart, _Mapping]] = ..., span_model_request_end: _Optional[_Union[SpanModelRequestEnd, _Mapping]] = ...) -> None: ...

class ContentBlock(_message.Message):
    __slots__ = ("type", "text", "source", "title")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    source: ContentSource
    title: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ..., source: _Optional[_Union[ContentSource, _Mapping]] = ..., title: _Optional[str] = ...) -> None: ...

class ContentSource(_message.Message):
    __slots__ = ("type", "media_type", "data")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    type: str
    media_type: str
    data: bytes
    def __init__(self, type: _Optional[str] = ..., media_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class UserMessage(_message.Message):
    __slots__ = ("content", "text")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    content: _containers.RepeatedCompositeFieldContainer[ContentBlock]
    text: str
    def __init__(self, content: _Optional[_Iterable[_Union[ContentBlock, _Mapping]]] = ..., text: _Optional[str] = ...) -> None: ...

class UserInterrupt(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserToolConfirmation(_message.Message):
    __slots__ = ("tool_use_id", "result", "deny_message")
    TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    DENY_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    tool_use_id: str
    result: ToolConfirmationResult
    deny_message: str
    def __init__(self, tool_use_id: _Optional[str] = ..., result: _Optional[_Union[ToolConfirmationResult, str]] = ..., deny_message: _Optional[str] = ...) -> None: ...

class UserCustomToolResult(_message.Message):
    __slots__ = ("custom_tool_use_id", "content", "is_error")
    CUSTOM_TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    custom_tool_use_id: str
    content: _containers.RepeatedCompositeFieldContainer[ContentBlock]
    is_error: bool
    def __init__(self, custom_tool_use_id: _Optional[str] = ..., content: _Optional[_Iterable[_Union[ContentBlock, _Mapping]]] = ..., is_error: _Optional[bool] = ...) -> None: ...

class UserDefineOutcome(_message.Message):
    __slots__ = ("fields",)
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _struct_pb2.Struct
    def __init__(self, fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SessionStatusRunning(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionStatusIdle(_message.Message):
    __slots__ = ("stop_reason", "event_ids")
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    stop_reason: StopReason
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stop_reason: _Optional[_Union[StopReason, str]] = ..., event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SessionStatusTerminated(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class SessionError(_message.Message):
    __slots__ = ("code", "message", "retryable")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    retryable: bool
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., retryable: _Optional[bool] = ...) -> None: ...

class SessionUpdated(_message.Message):
    __slots__ = ("fields",)
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fields: _Optional[_Iterable[str]] = ...) -> None: ...

class SessionDeleted(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentMessage(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: _containers.RepeatedCompositeFieldContainer[ContentBlock]
    def __init__(self, content: _Optional[_Iterable[_Union[ContentBlock, _Mapping]]] = ...) -> None: ...

class AgentThinking(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: _containers.RepeatedCompositeFieldContainer[ContentBlock]
    def __init__(self, content: _Optional[_Iterable[_Union[ContentBlock, _Mapping]]] = ...) -> None: ...

class AgentToolUse(_message.Message):
    __slots__ = ("name", "input", "requires_confirmation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    input: _struct_pb2.Struct
    requires_confirmation: bool
    def __init__(self, name: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., requires_confirmation: _Optional[bool] = ...) -> None: ...

class AgentToolResult(_message.Message):
    __slots__ = ("tool_use_id", "content", "is_error")
    TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    tool_use_id: str
    content: _containers.RepeatedCompositeFieldContainer[ContentBlock]
    is_error: bool
    def __init__(self, tool_use_id: _Optional[str] = ..., content: _Optional[_Iterable[_Union[ContentBlock, _Mapping]]] = ..., is_error: _Optional[bool] = ...) -> None: ...

class AgentCustomToolUse(_message.Message):
    __slots__ = ("name", "input")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    input: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SpanModelRequestStart(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CREATION_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cache_creation_input_tokens: _Optional[int] = ..., cache_read_input_tokens: _Optional[int] = ...) -> None: ...

class SpanModelRequestEnd(_message.Message):
    __slots__ = ("model_request_start_id", "usage", "is_error")
    MODEL_REQUEST_START_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    model_request_start_id: str
    usage: Usage
    is_error: bool
    def __init__(self, model_request_start_id: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., is_error: _Optional[bool] = ...) -> None: ...
