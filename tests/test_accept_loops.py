"""The accept loops (server/accept_loops.py): calls they accept are served, streamed,
cancelled and shut down as grpc's own are; on a grpcio they were not tested with, grpc
accepts every call itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from managedagents.v1 import file_pb2, file_pb2_grpc, session_pb2, session_pb2_grpc

from server import accept_loops
from tests.harness import RunningServer
from tests.helpers import create_session, expect_error, message, send, upload

SESSIONS = "/managedagents.v1.SessionService/"


def accepted(srv: RunningServer, method: str) -> int:
    assert srv.service is not None and srv.service.accepts is not None
    return srv.service.accepts.accepted[method]


def test_a_burst_of_calls_is_taken_by_the_loops(server):
    session = create_session(server)
    before = accepted(server, SESSIONS + "GetSession")
    with ThreadPoolExecutor(64) as pool:
        got = list(pool.map(lambda _: server.sessions.GetSession(
            session_pb2.GetSessionRequest(session_id=session.id)), range(64)))
    assert {s.id for s in got} == {session.id}
    # grpc's own loop keeps one accept of the method too, and takes a call now and then.
    assert accepted(server, SESSIONS + "GetSession") - before >= 48


def test_every_kind_of_call_is_served_through_the_loops(server):
    files = file_pb2_grpc.FileServiceStub(server.channel)
    before = {m: accepted(server, m) for m in (
        "/managedagents.v1.FileService/UploadFile", "/managedagents.v1.FileService/DownloadFile",
        SESSIONS + "GetSession")}
    for i in range(3):  # the first call of a method may be grpc's own loop's
        content = bytes([i]) * 200_000  # client streaming, in several messages
        stored = upload(server, content)
        assert stored.size_bytes == len(content)
        back = b"".join(part.chunk for part in files.DownloadFile(  # server streaming
            file_pb2.DownloadFileRequest(file_id=stored.id)))
        assert back == content
        # An error keeps its rich status: code, reason and the resource named.
        expect_error(lambda: server.sessions.GetSession(
            session_pb2.GetSessionRequest(session_id="sess_01ARZ3NDEKTSV4RRFFQ69G5FAV")),
            grpc.StatusCode.NOT_FOUND, reason="SESSION_NOT_FOUND")
    for method, count in before.items():
        assert accepted(server, method) > count, method


def test_a_stream_the_client_cancels_ends_on_the_server(new_database: Callable[[], str]):
    # No heartbeat within the test: only the cancellation itself can end the streams.
    srv = RunningServer(database_url=new_database(), heartbeat_seconds=60).start()
    try:
        session, streams = _following(srv)
        assert accepted(srv, SESSIONS + "StreamEvents") >= 2
        assert srv.service is not None
        hub = srv.service.hub
        followed = lambda: [sid for _, sid in hub.followed()]  # noqa: E731
        assert session.id in srv.call(_on_loop(followed))
        for stream in streams:
            stream.cancel()
        deadline = time.monotonic() + 10
        while session.id in srv.call(_on_loop(followed)):
            assert time.monotonic() < deadline, "the cancelled streams still follow it"
            time.sleep(0.05)
    finally:
        srv.stop()


def test_stopping_the_server_ends_its_streams_and_its_loops(new_database: Callable[[], str]):
    srv = RunningServer(database_url=new_database()).start()
    # The streams on a channel of their own: the harness closes its channel as it stops.
    with grpc.insecure_channel(srv.address) as channel:
        _, streams = _following(srv, session_pb2_grpc.SessionServiceStub(channel))
        assert srv.service is not None and srv.service.accepts is not None
        accepts = srv.service.accepts
        assert accepted(srv, SESSIONS + "StreamEvents") >= 1
        assert accepts.outstanding() > 0
        started = time.monotonic()
        srv.stop()  # a grace of 1 s for the streams
        assert time.monotonic() - started < 4
        for stream in streams:  # ended by the server
            with pytest.raises(grpc.RpcError):
                for _ in stream:
                    pass
    # Each loop ended because the stop failed its request: none was cancelled.
    assert accepts.outstanding() == 0
    assert accepts.ended_cleanly()


def test_a_deadline_ends_a_call_the_loops_took(server):
    session = create_session(server)
    before = accepted(server, SESSIONS + "StreamEvents")
    for _ in range(3):
        stream = server.sessions.StreamEvents(session_pb2.StreamEventsRequest(
            session_id=session.id), timeout=0.3)
        with pytest.raises(grpc.RpcError) as ended:
            for _ in stream:
                pass
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert accepted(server, SESSIONS + "StreamEvents") > before


def test_on_an_untested_grpc_its_own_loop_accepts_every_call(
        new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(accept_loops, "TESTED", ("0.0.",))
    srv = RunningServer(database_url=new_database()).start()
    try:
        assert srv.service is not None and srv.service.accepts is None
        session = create_session(srv)
        got = srv.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session.id))
        assert got.id == session.id
        stream = srv.sessions.StreamEvents(session_pb2.StreamEventsRequest(
            session_id=session.id, after_sequence=0))
        send(srv, session.id, message("hello"))
        assert next(stream).event.type == "user.message"
        stream.cancel()
        health = health_pb2_grpc.HealthStub(srv.channel).Check(
            health_pb2.HealthCheckRequest(service=""))
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        srv.stop()


def test_loops_are_off_where_grpcs_functions_take_other_arguments(
        monkeypatch: pytest.MonkeyPatch):
    assert accept_loops.supported()
    changed = dict(accept_loops.SIGNATURES, _schedule_rpc_coro=("rpc_coro", "loop"))
    monkeypatch.setattr(accept_loops, "SIGNATURES", changed)
    assert not accept_loops.supported()


def _following(srv: RunningServer, sessions: Any = None) -> tuple[Any, list[Any]]:
    """A new session, three streams that follow it (through `sessions`, a stub, or the
    harness's), and the message each has seen."""
    session = create_session(srv)
    streams = [(sessions or srv.sessions).StreamEvents(session_pb2.StreamEventsRequest(
        session_id=session.id, after_sequence=0)) for _ in range(3)]
    send(srv, session.id, message("hello"))
    for stream in streams:
        assert next(stream).event.type == "user.message"
    return session, streams


def _on_loop(read: Callable[[], object]):
    async def run():
        return read()
    return run()
