"""The runtime protocol itself: one lease per session, writes refused without a valid lease,
expired leases rescheduled, a killed runtime's turn finished by another."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from managedagents.v1 import event_pb2 as ev
from managedagents.v1 import runtime_pb2, session_pb2

from server.reference_runtime import serve_turns
from tests.helpers import create_session, expect_error, message, send
from tests.reader import WAIT, Reader

INVALID = grpc.StatusCode.INVALID_ARGUMENT
REFUSED = grpc.StatusCode.FAILED_PRECONDITION


def acquire(srv, lease_seconds=30, runtime_id="test-runtime"):
    reply = srv.runtime.AcquireWork(runtime_pb2.AcquireWorkRequest(
        runtime_id=runtime_id, lease_seconds=lease_seconds))
    return reply.lease if reply.HasField("lease") else None


def end(srv, lease, reason=ev.STOP_REASON_END_TURN):
    return srv.runtime.EndTurn(runtime_pb2.EndTurnRequest(
        session_id=lease.session_id, lease_id=lease.lease_id, stop_reason=reason))


def append(srv, lease, *events, processed=()):
    return srv.runtime.AppendRuntimeEvents(runtime_pb2.AppendRuntimeEventsRequest(
        session_id=lease.session_id, lease_id=lease.lease_id, events=list(events),
        processed_event_ids=list(processed))).events


def thinking(text="hm"):
    return ev.Event(agent_thinking=ev.AgentThinking(
        content=[ev.ContentBlock(type="text", text=text)]))


def head(srv, session_id):
    return srv.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session_id))


@pytest.fixture
def turn(runtime_server):
    """A session whose turn waits for a runtime; its message is returned with it."""
    session = create_session(runtime_server)
    return session, send(runtime_server, session.id, message("hi"))[0]


def test_only_one_runtime_gets_a_session(runtime_server, turn):
    session, msg = turn
    with ThreadPoolExecutor(10) as pool:
        leases = [lease for lease in pool.map(lambda i: acquire(runtime_server,
                                                                runtime_id=f"r{i}"), range(10))
                  if lease is not None]
    assert [lease.session_id for lease in leases] == [session.id]
    lease = leases[0]
    assert [e.id for e in lease.pending_events] == [msg.id]
    assert lease.session.agent.id == session.agent_id
    assert acquire(runtime_server) is None
    end(runtime_server, lease)


def test_writes_without_a_valid_lease_store_nothing(runtime_server, turn):
    srv = runtime_server
    session, _ = turn
    lease = acquire(srv)
    before = head(srv, session.id).last_sequence
    forged = runtime_pb2.Lease(session_id=session.id, lease_id="lease_01JF3Z00000000000000000")
    expect_error(lambda: append(srv, forged, thinking()), REFUSED, reason="LEASE_INVALID")
    srv.runtime.ReleaseLease(runtime_pb2.ReleaseLeaseRequest(session_id=session.id,
                                                             lease_id=lease.lease_id))
    assert head(srv, session.id).status == session_pb2.SESSION_STATUS_RESCHEDULING
    expect_error(lambda: append(srv, lease, thinking()), REFUSED, reason="LEASE_INVALID")
    expect_error(lambda: end(srv, lease), REFUSED, reason="LEASE_INVALID")
    expect_error(lambda: srv.runtime.RenewLease(runtime_pb2.RenewLeaseRequest(
        session_id=session.id, lease_id=lease.lease_id)), REFUSED, reason="LEASE_INVALID")
    expect_error(lambda: srv.runtime.TerminateSession(runtime_pb2.TerminateSessionRequest(
        session_id=session.id, lease_id=lease.lease_id)), REFUSED, reason="LEASE_INVALID")
    assert head(srv, session.id).last_sequence == before
    again = acquire(srv)
    assert again.session_id == session.id and again.lease_id != lease.lease_id
    assert [e.type for e in append(srv, again, thinking())] == ["agent.thinking"]
    end(srv, again)


def test_an_expired_lease_reschedules_the_turn(runtime_server, turn):
    srv = runtime_server
    session, msg = turn
    lease = acquire(srv, lease_seconds=1)
    deadline = time.monotonic() + WAIT
    while head(srv, session.id).status != session_pb2.SESSION_STATUS_RESCHEDULING:
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.05)
    expect_error(lambda: append(srv, lease, thinking()), REFUSED, reason="LEASE_INVALID")
    error = [e for e in srv.sessions.ListEvents(session_pb2.ListEventsRequest(
        session_id=session.id)).events if e.type == "session.error"]
    assert [e.session_error.code for e in error] == ["RUNTIME_LEASE_EXPIRED"]
    assert error[0].session_error.retryable
    again = acquire(srv)
    assert again.session_id == session.id and [e.id for e in again.pending_events] == [msg.id]
    assert head(srv, session.id).status == session_pb2.SESSION_STATUS_RUNNING
    end(srv, again)


@pytest.mark.parametrize("event", [
    message("x"), ev.Event(type="user.interrupt"),
    ev.Event(user_tool_confirmation=ev.UserToolConfirmation()),
    ev.Event(session_status_idle=ev.SessionStatusIdle()),
    ev.Event(session_status_running=ev.SessionStatusRunning()),
    ev.Event(session_status_terminated=ev.SessionStatusTerminated()),
    ev.Event(session_deleted=ev.SessionDeleted()),
    ev.Event(session_updated=ev.SessionUpdated()),
])
def test_runtimes_cannot_append_user_or_status_events(runtime_server, turn, event):
    srv = runtime_server
    lease = acquire(srv)
    try:
        before = head(srv, lease.session_id).last_sequence
        expect_error(lambda: append(srv, lease, thinking(), event), INVALID, "events[1].type")
        assert head(srv, lease.session_id).last_sequence == before
    finally:
        end(srv, lease)


def test_runtime_request_validation(runtime_server, turn):
    srv = runtime_server
    expect_error(lambda: srv.runtime.AcquireWork(runtime_pb2.AcquireWorkRequest()),
                 INVALID, "runtime_id")
    expect_error(lambda: srv.runtime.AcquireWork(runtime_pb2.AcquireWorkRequest(
        runtime_id="r", lease_seconds=301)), INVALID, "lease_seconds")
    expect_error(lambda: srv.runtime.AcquireWork(runtime_pb2.AcquireWorkRequest(
        runtime_id="r", wait_seconds=61)), INVALID, "wait_seconds")
    lease = acquire(srv)
    expect_error(lambda: end(srv, lease, ev.STOP_REASON_UNSPECIFIED), INVALID, "stop_reason")
    expect_error(lambda: end(srv, lease, ev.STOP_REASON_REQUIRES_ACTION), REFUSED,
                 reason="NOTHING_PENDING")
    expect_error(lambda: append(srv, lease, processed=["evt_01JF3Z0000000000000000000"]),
                 INVALID, "processed_event_ids[0]")
    expect_error(lambda: append(srv, lease, ev.Event(agent_tool_use=ev.AgentToolUse())),
                 INVALID, "events[0].agent_tool_use.name")
    expect_error(lambda: append(srv, lease, ev.Event(agent_message=ev.AgentMessage())),
                 INVALID, "events[0].agent_message.content")
    end(srv, lease)


def test_a_killed_runtime_turn_is_finished_by_another(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    doomed = subprocess.Popen(
        [sys.executable, "-m", "server", "runtime", "--target", srv.address,
         "--runtime-id", "doomed", "--lease-seconds", "1", "--step-seconds", "0.1",
         "--log-level", "WARNING"])
    try:
        reader = Reader(srv, session_id=session.id, after_sequence=0)
        send(srv, session.id, message("/slow 30"))
        reader.until(lambda e: e.type == "agent.thinking")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=WAIT)
        stop = asyncio.Event()
        rescuer = srv.submit(serve_turns(srv.address, "rescuer", lease_seconds=5,
                                         step_seconds=0.01, stop=stop))
        rest = reader.until(lambda e: e.type == "session.status_idle")
        reader.close()
        srv.call(_set(stop))
        rescuer.result(timeout=WAIT)
    finally:
        doomed.kill()
    errors = [e for e in rest if e.type == "session.error"]
    assert [e.session_error.code for e in errors] == ["RUNTIME_LEASE_EXPIRED"]
    assert "doomed" in errors[0].session_error.message
    assert rest[-1].session_status_idle.stop_reason == ev.STOP_REASON_END_TURN
    assert rest[-2].type == "span.model_request_end"
    assert len({e.turn_id for e in rest}) == 1
    assert head(srv, session.id).status == session_pb2.SESSION_STATUS_IDLE


def test_several_runtimes_share_the_work(runtime_server):
    srv = runtime_server
    sessions = [create_session(srv) for _ in range(12)]
    stop = asyncio.Event()
    runtimes = [srv.submit(serve_turns(srv.address, f"pool-{i}", lease_seconds=5,
                                       step_seconds=0.01, stop=stop)) for i in range(3)]
    try:
        readers = [Reader(srv, session_id=s.id, after_sequence=0) for s in sessions]
        for s in sessions:
            send(srv, s.id, message("/slow 3"))
        for reader in readers:
            turn = reader.until(lambda e: e.type == "session.status_idle")
            reader.close()
            types = [e.type for e in turn]
            assert types.count("session.status_running") == 1
            assert "session.error" not in types
            assert [e.sequence for e in turn] == list(range(1, len(turn) + 1))
    finally:
        srv.call(_set(stop))
        for runtime in runtimes:
            runtime.result(timeout=WAIT)


async def _set(event):
    event.set()
