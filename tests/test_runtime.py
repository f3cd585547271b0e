"""Whole conversations through the public RPCs with the reference runtime: answers, tool
confirmations, custom tools, interrupts, queued messages, termination."""

from __future__ import annotations

import time

import grpc
import pytest
from managedagents.v1 import event_pb2 as ev
from managedagents.v1 import session_pb2

from tests.helpers import create_session, expect_error, message, send
from tests.reader import Reader

IDLE = "session.status_idle"
pytestmark = pytest.mark.usefixtures("reference_runtime")


def idle(reason):
    return lambda e: e.type == IDLE and e.session_status_idle.stop_reason == reason


def get(srv, session_id):
    return srv.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session_id))


def listed(srv, session_id):
    return list(srv.sessions.ListEvents(session_pb2.ListEventsRequest(
        session_id=session_id, page_size=100)).events)


def test_a_message_gets_an_answer(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("hello"))
    turn = reader.until(idle(ev.STOP_REASON_END_TURN))
    reader.close()
    assert [e.type for e in turn] == [
        "user.message", "session.status_running", "span.model_request_start",
        "agent.thinking", "agent.message", "span.model_request_end", IDLE]
    assert turn[4].agent_message.content[0].text == "You said: hello"
    assert turn[5].span_model_request_end.usage.output_tokens > 0
    assert turn[5].span_model_request_end.model_request_start_id == turn[2].id
    assert len({e.turn_id for e in turn}) == 1 and turn[0].turn_id.startswith("turn_")
    assert listed(srv, session.id)[0].HasField("processed_at")
    after = get(srv, session.id)
    assert after.status == session_pb2.SESSION_STATUS_IDLE
    assert after.turn_status == session_pb2.TURN_STATUS_IDLE
    assert after.stats.active_seconds > 0 and after.turn_id == turn[0].turn_id


@pytest.mark.parametrize("result", [ev.TOOL_CONFIRMATION_RESULT_ALLOW,
                                    ev.TOOL_CONFIRMATION_RESULT_DENY])
def test_tool_use_waits_for_confirmation(runtime_server, result):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/tool grep -r needle"))
    turn = reader.until(idle(ev.STOP_REASON_REQUIRES_ACTION))
    use = next(e for e in turn if e.type == "agent.tool_use")
    assert use.agent_tool_use.name == "grep" and use.agent_tool_use.requires_confirmation
    assert list(turn[-1].session_status_idle.event_ids) == [use.id]
    waiting = get(srv, session.id)
    assert waiting.status == session_pb2.SESSION_STATUS_IDLE
    assert waiting.turn_status == session_pb2.TURN_STATUS_REQUIRES_ACTION
    send(srv, session.id, ev.Event(user_tool_confirmation=ev.UserToolConfirmation(
        tool_use_id=use.id, result=result,
        deny_message="not now" if result == ev.TOOL_CONFIRMATION_RESULT_DENY else "")))
    rest = reader.until(idle(ev.STOP_REASON_END_TURN))
    reader.close()
    assert [e.type for e in rest] == ["user.tool_confirmation", "session.status_running",
                                      "agent.tool_result", "agent.message", IDLE]
    tool_result = rest[2].agent_tool_result
    assert tool_result.tool_use_id == use.id
    assert tool_result.is_error == (result == ev.TOOL_CONFIRMATION_RESULT_DENY)
    if result == ev.TOOL_CONFIRMATION_RESULT_DENY:
        assert "not now" in tool_result.content[0].text
    assert {e.turn_id for e in turn + rest} == {turn[0].turn_id}


def test_answers_must_name_a_pending_use(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/tool ls"))
    turn = reader.until(idle(ev.STOP_REASON_REQUIRES_ACTION))
    use = next(e for e in turn if e.type == "agent.tool_use")

    def confirm(use_id):
        return lambda: send(srv, session.id, ev.Event(user_tool_confirmation=(
            ev.UserToolConfirmation(tool_use_id=use_id,
                                    result=ev.TOOL_CONFIRMATION_RESULT_ALLOW))))
    field = "events[0].user_tool_confirmation.tool_use_id"
    expect_error(confirm("evt_01JF3Z0000000000000000000"), grpc.StatusCode.INVALID_ARGUMENT,
                 field)
    expect_error(confirm(turn[0].id), grpc.StatusCode.INVALID_ARGUMENT, field)  # a message
    expect_error(lambda: send(srv, session.id, ev.Event(
        user_custom_tool_result=ev.UserCustomToolResult(custom_tool_use_id=use.id))),
        grpc.StatusCode.INVALID_ARGUMENT, "events[0].user_custom_tool_result.custom_tool_use_id")
    twice = ev.Event(user_tool_confirmation=ev.UserToolConfirmation(
        tool_use_id=use.id, result=ev.TOOL_CONFIRMATION_RESULT_ALLOW))
    expect_error(lambda: send(srv, session.id, twice, twice),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="TOOL_USE_NOT_PENDING")
    assert get(srv, session.id).turn_status == session_pb2.TURN_STATUS_REQUIRES_ACTION
    confirm(use.id)()
    reader.until(idle(ev.STOP_REASON_END_TURN))
    reader.close()
    expect_error(confirm(use.id), grpc.StatusCode.FAILED_PRECONDITION,
                 reason="TOOL_USE_NOT_PENDING")


def test_custom_tool_result(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/custom lookup"))
    turn = reader.until(idle(ev.STOP_REASON_REQUIRES_ACTION))
    use = next(e for e in turn if e.type == "agent.custom_tool_use")
    assert use.agent_custom_tool_use.name == "lookup"
    send(srv, session.id, ev.Event(user_custom_tool_result=ev.UserCustomToolResult(
        custom_tool_use_id=use.id, content=[ev.ContentBlock(type="text", text="42")])))
    rest = reader.until(idle(ev.STOP_REASON_END_TURN))
    reader.close()
    assert rest[-2].agent_message.content[0].text == "Custom tool returned: 42"


def test_interrupt_mid_turn_cancels_and_the_session_is_reusable(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/slow 400"))
    reader.until(lambda e: e.type == "agent.thinking")
    send(srv, session.id, ev.Event(type="user.interrupt"))
    assert get(srv, session.id).turn_status in (session_pb2.TURN_STATUS_CANCELING,
                                                session_pb2.TURN_STATUS_IDLE)
    rest = reader.until(idle(ev.STOP_REASON_CANCELLED))
    assert "user.interrupt" in [e.type for e in rest]
    assert all(e.HasField("processed_at") for e in listed(srv, session.id))
    send(srv, session.id, message("again"))
    again = reader.until(idle(ev.STOP_REASON_END_TURN))
    reader.close()
    assert again[-3].agent_message.content[0].text == "You said: again"
    assert again[0].turn_id != rest[0].turn_id


def test_interrupt_on_an_idle_session_changes_nothing(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    stored = send(srv, session.id, ev.Event(type="user.interrupt"))
    assert stored[0].HasField("processed_at") and stored[0].turn_id == ""
    after = get(srv, session.id)
    assert after.status == session_pb2.SESSION_STATUS_IDLE and after.last_sequence == 1


def test_a_message_sent_while_running_is_queued_for_the_next_turn(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/slow 10"))
    reader.until(lambda e: e.type == "agent.thinking")
    queued = send(srv, session.id, message("second"))[0]
    assert queued.turn_id == ""
    first = reader.until(idle(ev.STOP_REASON_END_TURN))
    second = reader.until(idle(ev.STOP_REASON_END_TURN))
    reader.close()
    assert second[0].type == "session.status_running"
    assert second[0].turn_id != first[0].turn_id
    answers = [e.agent_message.content[0].text for e in second if e.type == "agent.message"]
    assert answers == ["You said: second"]
    stored_queued = next(e for e in listed(srv, session.id) if e.id == queued.id)
    assert stored_queued.turn_id == second[0].turn_id
    replay = Reader(srv, session_id=session.id, after_sequence=0)
    replayed = replay.until(lambda e: e.id == queued.id)[-1]
    replay.close()
    assert replayed.turn_id == second[0].turn_id  # a stream shows what the log holds


def test_terminate_is_final(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/terminate"))
    end = reader.until(lambda e: e.type == "session.status_terminated")
    assert reader.next() is None  # the stream ended after the terminal event
    reader.close()
    assert end[-1].session_status_terminated.reason
    assert get(srv, session.id).status == session_pb2.SESSION_STATUS_TERMINATED
    expect_error(lambda: send(srv, session.id, message("more")),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="SESSION_TERMINATED")


def test_archiving_mid_turn_cancels_it_and_nothing_runs_after(runtime_server):
    srv = runtime_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    send(srv, session.id, message("/slow 400"))
    reader.until(lambda e: e.type == "agent.thinking")
    send(srv, session.id, message("queued"))
    srv.sessions.ArchiveSession(session_pb2.ArchiveSessionRequest(session_id=session.id))
    reader.until(idle(ev.STOP_REASON_CANCELLED))
    reader.close()
    after = get(srv, session.id)
    assert after.status == session_pb2.SESSION_STATUS_IDLE and after.HasField("archived_at")
    assert after.turn_status == session_pb2.TURN_STATUS_IDLE
    head = after.last_sequence
    time.sleep(1)  # the runtime's lease is gone: whatever it tries now is refused
    assert get(srv, session.id).last_sequence == head
