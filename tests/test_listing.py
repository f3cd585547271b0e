"""ListSessions: order, filters, and keyset paging with tokens bound to their query."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from google.protobuf import field_mask_pb2, timestamp_pb2
from managedagents.v1 import agent_pb2, common_pb2, session_pb2

from server.api import convert
from tests.helpers import (
    create_agent,
    create_environment,
    create_session,
    expect_error,
    message,
    send,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _pages(server, **query):
    seen, token, pages = [], "", 0
    while True:
        reply = server.sessions.ListSessions(
            session_pb2.ListSessionsRequest(page_token=token, **query))
        seen += list(reply.sessions)
        pages += 1
        token = reply.next_page_token
        if not token:
            return seen, pages


def test_paging_250_sessions_each_once_in_order(server):
    agent, env = create_agent(server), create_environment(server)
    with ThreadPoolExecutor(8) as pool:
        made = set(pool.map(lambda _: create_session(server, agent=agent, env=env).id,
                            range(250)))
    seen, pages = _pages(server, agent_id=agent.id, page_size=20)
    ids = [s.id for s in seen]
    assert len(ids) == 250 and set(ids) == made and pages == 13
    keys = [(s.created_at.ToMicroseconds(), s.id) for s in seen]
    assert keys == sorted(keys, reverse=True)
    asc, _ = _pages(server, agent_id=agent.id, page_size=100, order=common_pb2.SORT_ORDER_ASC)
    assert [s.id for s in asc] == ids[::-1]
    default = server.sessions.ListSessions(session_pb2.ListSessionsRequest(agent_id=agent.id))
    assert len(default.sessions) == 20


def test_token_reused_with_other_filters_is_rejected(server):
    agent, env = create_agent(server), create_environment(server)
    for _ in range(3):
        create_session(server, agent=agent, env=env)
    first = server.sessions.ListSessions(
        session_pb2.ListSessionsRequest(agent_id=agent.id, page_size=2))
    assert first.next_page_token
    other_agent = create_agent(server)
    for changed in ({"agent_id": other_agent.id}, {"include_archived": True},
                    {"order": common_pb2.SORT_ORDER_ASC},
                    {"statuses": [session_pb2.SESSION_STATUS_IDLE]}):
        query = {"agent_id": agent.id, **changed}
        expect_error(lambda q=query: server.sessions.ListSessions(session_pb2.ListSessionsRequest(
            page_size=2, page_token=first.next_page_token, **q)), INVALID, "page_token")
    expect_error(lambda: server.sessions.ListSessions(session_pb2.ListSessionsRequest(
        page_token="not-a-token")), INVALID, "page_token")
    second = server.sessions.ListSessions(session_pb2.ListSessionsRequest(
        agent_id=agent.id, page_size=5, page_token=first.next_page_token))
    assert len(second.sessions) == 1 and not second.next_page_token


def test_filters(server):
    agent, env = create_agent(server), create_environment(server)
    v1 = create_session(server, agent=agent, env=env)
    server.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(
        agent_id=agent.id, version=1, agent=agent_pb2.Agent(name="v2"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    v2 = create_session(server, agent=agent, env=env)

    def ids(**query):
        reply = server.sessions.ListSessions(
            session_pb2.ListSessionsRequest(agent_id=agent.id, **query))
        return [s.id for s in reply.sessions]
    assert ids() == [v2.id, v1.id]
    assert ids(agent_version=1) == [v1.id]
    assert ids(agent_version=2) == [v2.id]
    assert ids(statuses=[session_pb2.SESSION_STATUS_IDLE]) == [v2.id, v1.id]
    assert ids(statuses=[session_pb2.SESSION_STATUS_RUNNING]) == []
    boundary = timestamp_pb2.Timestamp()
    boundary.FromMicroseconds(v2.created_at.ToMicroseconds())
    assert ids(created_after=boundary) == [v2.id]
    assert ids(created_before=boundary) == [v1.id]


def test_list_validation(server):
    def list_(**query):
        return lambda: server.sessions.ListSessions(session_pb2.ListSessionsRequest(**query))
    expect_error(list_(page_size=101), INVALID, "page_size")
    expect_error(list_(page_size=-1), INVALID, "page_size")
    expect_error(list_(agent_version=1), INVALID, "agent_version")
    expect_error(list_(agent_id="x"), INVALID, "agent_id")
    expect_error(list_(statuses=[session_pb2.SESSION_STATUS_UNSPECIFIED]), INVALID, "statuses[0]")
    later, earlier = timestamp_pb2.Timestamp(seconds=200), timestamp_pb2.Timestamp(seconds=100)
    expect_error(list_(created_after=later, created_before=earlier), INVALID, "created_before")


def _listed(server, agent_id):
    reply = server.sessions.ListSessions(session_pb2.ListSessionsRequest(
        agent_id=agent_id, include_archived=True))
    return {s.id: s for s in reply.sessions}


def _without_duration(session):
    copy = session_pb2.Session()
    copy.CopyFrom(session)
    copy.stats.ClearField("duration_seconds")  # moves with the clock
    return copy


def test_a_listed_session_is_listed_as_it_is_now(server):
    """A list keeps each session's encoding until the session changes: every change to a
    listed session shows in the next list, and each listed session is what GetSession
    returns."""
    agent = create_agent(server)
    ids = [create_session(server, agent=agent, title=f"s{i}").id for i in range(3)]
    first = _listed(server, agent.id)
    server.sessions.UpdateSession(session_pb2.UpdateSessionRequest(
        session_id=ids[0], session=session_pb2.Session(title="renamed", metadata={"k": "v"}),
        update_mask=field_mask_pb2.FieldMask(paths=["title", "metadata"])))
    send(server, ids[1], message("hello"))
    server.sessions.ArchiveSession(session_pb2.ArchiveSessionRequest(session_id=ids[2]))
    now = _listed(server, agent.id)
    assert (now[ids[0]].title, dict(now[ids[0]].metadata)) == ("renamed", {"k": "v"})
    assert now[ids[1]].last_sequence > first[ids[1]].last_sequence
    assert now[ids[2]].HasField("archived_at") and not first[ids[2]].HasField("archived_at")
    for sid in ids:
        read = server.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid))
        assert _without_duration(now[sid]) == _without_duration(read)
        assert now[sid].stats.duration_seconds >= first[sid].stats.duration_seconds > 0


def test_kept_encodings_stay_within_their_bytes():
    kept = convert._KeptEncodings(limit=10)
    kept.keep("a", b"12345")
    kept.keep("b", b"12345")
    assert (kept.get("a"), kept.get("b")) == (b"12345", b"12345")
    kept.keep("c", b"1")  # past the limit: the others go, the new one stays
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (None, None, b"1")
