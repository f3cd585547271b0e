"""SendEvents and ListEvents: client event validation, all-or-nothing batches, dense sequences,
filters and paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import struct_pb2
from managedagents.v1 import common_pb2, session_pb2
from managedagents.v1 import event_pb2 as ev

from tests.helpers import create_session, expect_error, message, send, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT
EVT = "evt_01JF3Z0000000000000000000"
PNG = ev.ContentSource(media_type="image/png", data=b"\x89PNG")


def _list(server, session_id, **query):
    return server.sessions.ListEvents(session_pb2.ListEventsRequest(session_id=session_id,
                                                                    **query))


def test_send_client_events(server):
    session = create_session(server)
    outcome = struct_pb2.Struct()
    outcome.update({"goal": "ship it", "score": 3})
    stored = send(
        server, session.id,
        ev.Event(user_message=ev.UserMessage(text="hello")),
        ev.Event(user_message=ev.UserMessage(content=[
            ev.ContentBlock(type="text", text="see"), ev.ContentBlock(type="image", source=PNG),
            ev.ContentBlock(type="document", title="d", source=ev.ContentSource(
                media_type="application/pdf", data=b"%PDF"))])),
        ev.Event(type="user.interrupt"),
        ev.Event(user_define_outcome=ev.UserDefineOutcome(fields=outcome)),
    )
    assert [e.type for e in stored] == ["user.message", "user.message", "user.interrupt",
                                        "user.define_outcome"]
    # The first message starts a turn: session.status_running follows it in the log.
    assert [e.sequence for e in stored] == [1, 3, 4, 5]
    assert all(e.id.startswith("evt_") and e.session_id == session.id for e in stored)
    assert all(e.schema_version == "1.0" and not e.HasField("processed_at") for e in stored)
    assert list(stored[0].user_message.content) == [ev.ContentBlock(type="text", text="hello")]
    assert stored[0].user_message.text == ""
    assert stored[1].user_message.content[1].source.data == b"\x89PNG"
    assert stored[2].HasField("user_interrupt")
    assert stored[3].user_define_outcome.fields["goal"] == "ship it"
    listed = list(_list(server, session.id, page_size=10).events)
    assert [e.type for e in listed] == ["user.message", "session.status_running",
                                        "user.message", "user.interrupt", "user.define_outcome"]
    assert [e for e in listed if e.type != "session.status_running"] == stored
    got = server.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session.id))
    assert got.last_sequence == 5


@pytest.mark.parametrize("event, field", [
    (ev.Event(), "events[0].payload"),
    (ev.Event(type="agent.message"), "events[0].type"),
    (ev.Event(type="no.such"), "events[0].type"),
    (ev.Event(agent_message=ev.AgentMessage()), "events[0].type"),
    (ev.Event(session_status_idle=ev.SessionStatusIdle()), "events[0].type"),
    (ev.Event(type="user.interrupt", user_message=ev.UserMessage(text="x")), "events[0].type"),
    (ev.Event(type="user.message"), "events[0].user_message.content"),
    (ev.Event(user_message=ev.UserMessage()), "events[0].user_message.content"),
    (ev.Event(user_message=ev.UserMessage(text="a", content=[ev.ContentBlock(
        type="text", text="b")])), "events[0].user_message.text"),
    (ev.Event(user_message=ev.UserMessage(content=[ev.ContentBlock(type="text")])),
     "events[0].user_message.content[0].text"),
    (ev.Event(user_message=ev.UserMessage(content=[ev.ContentBlock(text="x")])),
     "events[0].user_message.content[0].type"),
    (ev.Event(user_message=ev.UserMessage(content=[ev.ContentBlock(type="video")])),
     "events[0].user_message.content[0].type"),
    (ev.Event(user_message=ev.UserMessage(content=[ev.ContentBlock(
        type="image", source=ev.ContentSource(media_type="image/bmp", data=b"x"))])),
     "events[0].user_message.content[0].source.media_type"),
    (ev.Event(user_message=ev.UserMessage(content=[ev.ContentBlock(
        type="image", source=ev.ContentSource(media_type="image/png"))])),
     "events[0].user_message.content[0].source.data"),
    (ev.Event(user_message=ev.UserMessage(content=[ev.ContentBlock(
        type="document", source=ev.ContentSource(type="url", media_type="application/pdf",
                                                  data=b"x"))])),
     "events[0].user_message.content[0].source.type"),
    (ev.Event(user_tool_confirmation=ev.UserToolConfirmation(
        result=ev.TOOL_CONFIRMATION_RESULT_ALLOW)),
     "events[0].user_tool_confirmation.tool_use_id"),
    (ev.Event(user_tool_confirmation=ev.UserToolConfirmation(
        tool_use_id="sess_x", result=ev.TOOL_CONFIRMATION_RESULT_ALLOW)),
     "events[0].user_tool_confirmation.tool_use_id"),
    (ev.Event(user_tool_confirmation=ev.UserToolConfirmation(tool_use_id=EVT)),
     "events[0].user_tool_confirmation.result"),
    (ev.Event(user_tool_confirmation=ev.UserToolConfirmation(
        tool_use_id=EVT, result=ev.TOOL_CONFIRMATION_RESULT_ALLOW, deny_message="x")),
     "events[0].user_tool_confirmation.deny_message"),
    (ev.Event(user_custom_tool_result=ev.UserCustomToolResult()),
     "events[0].user_custom_tool_result.custom_tool_use_id"),
    (ev.Event(user_custom_tool_result=ev.UserCustomToolResult(
        custom_tool_use_id=EVT, content=[ev.ContentBlock(type="image", source=PNG)])),
     "events[0].user_custom_tool_result.content[0].type"),
])
def test_client_event_validation(server, event, field):
    session = create_session(server)
    expect_error(lambda: send(server, session.id, event), INVALID, field)


def test_batch_is_all_or_nothing(server):
    session = create_session(server)
    expect_error(lambda: send(server, session.id, message("ok"), ev.Event(), message("ok")),
                 INVALID, "events[1].payload")
    assert list(_list(server, session.id).events) == []
    expect_error(lambda: send(server, session.id), INVALID, "events")
    expect_error(lambda: send(server, session.id, *[message("x")] * 101), INVALID, "events")
    stored = send(server, session.id, message("a"), message("b"))
    assert [e.sequence for e in stored] == [1, 3]  # 2 is the turn's session.status_running


def test_send_is_idempotent_with_request_id(server):
    session = create_session(server)
    key = unique("req")
    first = send(server, session.id, message("a"), message("b"), request_id=key)
    again = send(server, session.id, message("a"), message("b"), request_id=key)
    assert [e.id for e in again] == [e.id for e in first]
    assert _list(server, session.id).events[-1].sequence == 3
    expect_error(lambda: send(server, session.id, message("c"), request_id=key),
                 grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")


def test_concurrent_writers_get_dense_ordered_sequences(server):
    session = create_session(server)

    def writer(w):
        return [send(server, session.id, message(f"{w}-{i}"))[0].sequence for i in range(50)]
    with ThreadPoolExecutor(20) as pool:
        per_writer = list(pool.map(writer, range(20)))
    for sequences in per_writer:
        assert sequences == sorted(sequences)  # each writer's events keep its order
    everything = sorted(s for seqs in per_writer for s in seqs)
    assert len(set(everything)) == 1000
    listed, token = [], ""
    while True:
        page = _list(server, session.id, page_size=100, page_token=token)
        listed += [e.sequence for e in page.events]
        token = page.next_page_token
        if not token:
            break
    assert listed == list(range(1, 1002))  # the 1000 messages and one session.status_running
    assert set(everything) <= set(listed)


def test_list_events_filters_and_cursors(server):
    session = create_session(server)
    send(server, session.id, message("1"), ev.Event(type="user.interrupt"), message("3"),
         message("4"), ev.Event(type="user.interrupt"))
    # The log: 1 message, 2 status_running, 3 interrupt, 4 message, 5 message, 6 interrupt.
    stored = list(_list(server, session.id, page_size=100).events)
    assert [e.type for e in stored] == ["user.message", "session.status_running",
                                        "user.interrupt", "user.message", "user.message",
                                        "user.interrupt"]

    def seqs(**query):
        return [e.sequence for e in _list(server, session.id, **query).events]
    assert seqs() == [1, 2, 3, 4, 5, 6]
    assert seqs(types=["user.interrupt"]) == [3, 6]
    assert seqs(types=["user.message", "session.status_running"]) == [1, 2, 4, 5]
    assert seqs(after_sequence=4) == [5, 6]
    assert seqs(before_sequence=3) == [1, 2]
    assert seqs(after_event_id=stored[1].id, before_event_id=stored[4].id) == [3, 4]
    assert seqs(order=common_pb2.SORT_ORDER_DESC, page_size=2) == [6, 5]
    newest = _list(server, session.id, order=common_pb2.SORT_ORDER_DESC, page_size=2)
    older = _list(server, session.id, order=common_pb2.SORT_ORDER_DESC, page_size=2,
                  page_token=newest.next_page_token)
    assert [e.sequence for e in older.events] == [4, 3]
    expect_error(lambda: _list(server, session.id, page_size=2, page_token=newest.next_page_token),
                 INVALID, "page_token")
    other = create_session(server)
    other_event = send(server, other.id, message("x"))[0]
    expect_error(lambda: _list(server, session.id, after_event_id=other_event.id),
                 INVALID, "after_event_id")
    expect_error(lambda: _list(server, session.id, before_event_id="nope"),
                 INVALID, "before_event_id")
    expect_error(lambda: _list(server, session.id, page_size=101), INVALID, "page_size")
