"""Builders of valid requests, and assertions on rich gRPC errors."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from managedagents.v1 import agent_pb2, environment_pb2, event_pb2, session_pb2


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_agent(srv: Any, **fields: Any) -> agent_pb2.Agent:
    fields.setdefault("name", unique("agent"))
    fields.setdefault("model", "claude-sonnet-4-5")
    return srv.agents.CreateAgent(agent_pb2.CreateAgentRequest(**fields))


def create_environment(srv: Any, **fields: Any) -> environment_pb2.Environment:
    fields.setdefault("name", unique("env"))
    fields.setdefault("config", environment_pb2.EnvironmentConfig())
    return srv.environments.CreateEnvironment(
        environment_pb2.CreateEnvironmentRequest(**fields))


def create_session(srv: Any, agent: agent_pb2.Agent | None = None,
                   env: environment_pb2.Environment | None = None,
                   **fields: Any) -> session_pb2.Session:
    agent = agent or create_agent(srv)
    env = env or create_environment(srv)
    return srv.sessions.CreateSession(session_pb2.CreateSessionRequest(
        agent_id=agent.id, environment_id=env.id, **fields))


def message(text: str) -> event_pb2.Event:
    return event_pb2.Event(user_message=event_pb2.UserMessage(
        content=[event_pb2.ContentBlock(type="text", text=text)]))


def send(srv: Any, session_id: str, *events: event_pb2.Event,
         **fields: Any) -> list[event_pb2.Event]:
    reply = srv.sessions.SendEvents(session_pb2.SendEventsRequest(
        session_id=session_id, events=list(events), **fields))
    return list(reply.events)


def details(error: grpc.RpcError) -> dict[str, Any]:
    """The google.rpc details of a failed call, by kind."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status on {error}"
    found: dict[str, Any] = {}
    for kind, name in ((error_details_pb2.ErrorInfo, "error_info"),
                       (error_details_pb2.BadRequest, "bad_request"),
                       (error_details_pb2.ResourceInfo, "resource_info"),
                       (error_details_pb2.PreconditionFailure, "precondition_failure")):
        for detail in status.details:
            if detail.Is(kind.DESCRIPTOR):
                item = kind()
                detail.Unpack(item)
                found[name] = item
    return found


def expect_error(call: Any, code: grpc.StatusCode, field: str | None = None,
                 reason: str | None = None) -> grpc.RpcError:
    """Calls `call()`; asserts it fails with `code`, naming `field` in BadRequest, and `reason`."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert error.code() == code, f"{error.code()} {error.details()}"  # type: ignore[attr-defined]
    found = details(error)
    assert "error_info" in found
    if field is not None:
        fields = [v.field for v in found["bad_request"].field_violations]
        assert field in fields, f"{field!r} not in {fields}"
    if reason is not None:
        assert found["error_info"].reason == reason
    return error


def upload(srv: Any, content: bytes, chunk: int = 64 * 1024, **metadata: Any) -> Any:
    """Uploads `content` in chunks; returns the File."""
    from managedagents.v1 import file_pb2, file_pb2_grpc

    metadata.setdefault("filename", unique("file") + ".txt")
    stub = file_pb2_grpc.FileServiceStub(srv.channel)

    def parts():
        yield file_pb2.UploadFileRequest(metadata=file_pb2.UploadFileMetadata(**metadata))
        for start in range(0, len(content), chunk):
            yield file_pb2.UploadFileRequest(chunk=content[start:start + chunk])
    return stub.UploadFile(parts())
