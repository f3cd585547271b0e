"""Inputs that once reached the database unchecked, retries that must return the first
result, and writes whose caller went away."""

from __future__ import annotations

import base64
import functools
import json
import logging
import sqlite3
import threading
import time

import grpc
import psycopg
import pytest
from google.protobuf import timestamp_pb2
from managedagents.v1 import agent_pb2, session_pb2, session_pb2_grpc

from tests.harness import POSTGRES_ADMIN, RunningServer
from tests.helpers import (
    create_agent,
    create_environment,
    create_session,
    expect_error,
    message,
    send,
    unique,
)
from tests.reader import Reader

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _forge(token, key):
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    body["k"] = key
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize("key", [[], [1], [{"a": 1}, "x"], [[1], "x"], [1, 2, 3], ["1", "x"],
                                 [True, "x"]])
def test_a_tampered_page_token_is_invalid_argument(server, key):
    agent, env = create_agent(server), create_environment(server)
    for _ in range(2):
        create_session(server, agent=agent, env=env)
    page = server.sessions.ListSessions(session_pb2.ListSessionsRequest(agent_id=agent.id,
                                                                        page_size=1))
    expect_error(lambda: server.sessions.ListSessions(session_pb2.ListSessionsRequest(
        agent_id=agent.id, page_size=1, page_token=_forge(page.next_page_token, key))),
        INVALID, "page_token")


def test_values_no_database_stores_name_their_field(server):
    far = timestamp_pb2.Timestamp(seconds=10**15)
    expect_error(lambda: server.sessions.ListSessions(session_pb2.ListSessionsRequest(
        created_after=far)), INVALID, "created_after")
    expect_error(lambda: server.sessions.GetSession(session_pb2.GetSessionRequest(
        session_id="sess_\x00")), INVALID, "session_id")
    expect_error(lambda: server.sessions.GetSession(session_pb2.GetSessionRequest(
        session_id="sess_" + "A" * 80)), INVALID, "session_id")
    session = create_session(server)
    expect_error(lambda: server.sessions.ListEvents(session_pb2.ListEventsRequest(
        session_id=session.id, types=["user.message", "a\x00"])), INVALID, "types[1]")
    expect_error(lambda: create_session(server, title="x\x00"), INVALID, "title")
    expect_error(lambda: create_session(server, metadata={"k": "v\x00"}), INVALID)
    expect_error(lambda: create_agent(server, request_id="r" * 257), INVALID, "request_id")


def test_secrets_stay_out_of_logs_and_errors(server, caplog):
    repo = session_pb2.SessionResource(github_repository=session_pb2.GitHubRepositoryResource(
        url="https://github.com/o/r", authorization_token="ghp_SUPERSECRET"))
    caplog.set_level(logging.DEBUG)
    error = expect_error(lambda: create_session(server, title="x\x00", resources=[repo]),
                         INVALID, "title")
    assert "ghp_SUPERSECRET" not in error.details()
    bad = session_pb2.SessionResource(github_repository=session_pb2.GitHubRepositoryResource(
        url="http://github.com/o/r", authorization_token="ghp_SUPERSECRET"))
    error = expect_error(lambda: create_session(server, resources=[repo, bad]), INVALID,
                         "resources[1].github_repository.url")
    assert "ghp_SUPERSECRET" not in error.details()
    assert "ghp_SUPERSECRET" not in caplog.text


def test_lists_reject_what_cannot_match(server):
    session = create_session(server)
    expect_error(lambda: server.sessions.ListEvents(session_pb2.ListEventsRequest(
        session_id=session.id, types=["bogus"])), INVALID, "types[0]")
    expect_error(lambda: server.sessions.ListEvents(session_pb2.ListEventsRequest(
        session_id="sess_01JF3Z0000000000000000000",
        after_event_id="evt_01JF3Z0000000000000000000")), grpc.StatusCode.NOT_FOUND)
    agent = create_agent(server)
    expect_error(lambda: server.agents.GetAgent(agent_pb2.GetAgentRequest(
        agent_id=agent.id, version=-1)), INVALID, "version")
    expect_error(lambda: server.sessions.CreateSession(session_pb2.CreateSessionRequest(
        agent=session_pb2.AgentReference(id=agent.id, type="environment"),
        environment_id=create_environment(server).id)), INVALID, "agent.type")


def test_a_create_retry_returns_the_first_session_after_the_agent_is_archived(server):
    agent, env = create_agent(server), create_environment(server)
    key = unique("req")
    first = create_session(server, agent=agent, env=env, request_id=key)
    server.agents.ArchiveAgent(agent_pb2.ArchiveAgentRequest(agent_id=agent.id))
    assert create_session(server, agent=agent, env=env, request_id=key).id == first.id


def test_a_send_retry_after_the_session_was_deleted_is_not_found(server):
    session = create_session(server)
    key = unique("req")
    send(server, session.id, message("a"), request_id=key)
    server.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=session.id))
    expect_error(lambda: send(server, session.id, message("a"), request_id=key),
                 grpc.StatusCode.NOT_FOUND)


class _Blocker:
    """Holds the lock a SendEvents to `session_id` needs, from another connection."""

    def __init__(self, url, session_id):
        if url.startswith("sqlite"):
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
            self.conn.execute("BEGIN IMMEDIATE")  # the file's write lock
        else:
            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
            self.conn.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", (session_id,))

    def release(self):
        self.conn.rollback()
        self.conn.close()


def _archiving(url, table, row_id, hold_inserts=False):
    """A transaction that has archived one row of `table` (agents or environments) and not
    ended: end it with execute("COMMIT") or execute("ROLLBACK"), then close(). On SQLite it
    holds the file's write lock. `hold_inserts`: on PostgreSQL it also holds the sessions
    table, so that a create waits to store its session."""
    if url.startswith("sqlite"):
        archiver = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30,
                                   isolation_level=None)
        archiver.execute("BEGIN IMMEDIATE")
        archiver.execute(f"UPDATE {table} SET archived_at = 1 WHERE id = ?", (row_id,))
        return archiver
    archiver = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
    if hold_inserts:
        archiver.execute("LOCK TABLE sessions IN EXCLUSIVE MODE")
    archiver.execute(f"UPDATE {table} SET archived_at = 1 WHERE id = %s", (row_id,))
    return archiver


def _wait_for_a_lock_wait(url):
    """Returns once a statement of the server waits for a lock: on PostgreSQL, seen in
    pg_stat_activity (so the create has got that far); on SQLite, which cannot show it,
    after half a second."""
    if url.startswith("sqlite"):
        time.sleep(0.5)
        return
    name = url.rpartition("/")[2]
    deadline = time.monotonic() + 10
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        while time.monotonic() < deadline:
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE datname = %s AND "
                             "wait_event_type = 'Lock'", (name,)).fetchone():
                return
            time.sleep(0.02)
    raise AssertionError("no statement of the server came to wait for the lock")


@pytest.mark.parametrize("archived", ["environment", "agent"])
def test_a_create_meeting_an_archive_of_what_it_uses_waits_for_it(server, archived):
    """A CreateSession arrives while another transaction is archiving its environment or
    its agent, and waits for that transaction:
    - environment: for the archive's row lock (the create reads it FOR SHARE);
    - agent: the create read the agent before the archive committed; it waits to store the
      session, since the archiving transaction also holds the sessions table (on SQLite,
      the file). Its statement then finds the agent archived, and the create must not
      succeed on an archived agent.
    If the archive commits, the create is refused, naming what was archived, and stores
    nothing; if it rolls back, the create succeeds."""
    for outcome in ("commit", "rollback"):
        # Both new: no earlier create has read them (a create may remember an agent).
        agent, env = create_agent(server), create_environment(server)
        title = unique(outcome)
        archiver = _archiving(server.database_url, f"{archived}s",
                              env.id if archived == "environment" else agent.id,
                              hold_inserts=archived == "agent")
        try:
            created = server.sessions.CreateSession.future(session_pb2.CreateSessionRequest(
                agent_id=agent.id, environment_id=env.id, title=title), timeout=30)
            _wait_for_a_lock_wait(server.database_url)
            assert not created.done()  # waiting for the archiving transaction
        finally:
            archiver.execute(outcome.upper())
            archiver.close()
        if outcome == "commit":
            expect_error(functools.partial(created.result, timeout=30),
                         grpc.StatusCode.FAILED_PRECONDITION,
                         reason=f"{archived.upper()}_ARCHIVED")
        else:
            stored = created.result(timeout=30)
            assert (stored.agent.id, stored.environment_id) == (agent.id, env.id)
        listed = server.sessions.ListSessions(session_pb2.ListSessionsRequest(
            agent_id=agent.id, include_archived=True, page_size=100)).sessions
        assert [s.title for s in listed] == ([title] if outcome == "rollback" else [])


def test_an_event_stored_after_its_sender_gave_up_still_reaches_streams(server):
    session = create_session(server)
    server.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session.id))
    reader = Reader(server, session_id=session.id, after_sequence=0)
    reader.wait_heartbeat()
    blocker = _Blocker(server.database_url, session.id)
    try:
        with pytest.raises(grpc.RpcError) as gave_up:
            server.sessions.SendEvents(session_pb2.SendEventsRequest(
                session_id=session.id, events=[message("late")]), timeout=0.3)
        assert gave_up.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        blocker.release()
    late = reader.next_event()
    reader.close()
    assert (late.sequence, late.user_message.content[0].text) == (1, "late")
    # What a reader sees includes the write whose caller left (no stale cached session).
    assert server.sessions.GetSession(session_pb2.GetSessionRequest(
        session_id=session.id)).last_sequence == 2


def test_a_session_read_never_lags_its_events(server):
    """GetSession must not return a state older than events a reader has already seen
    (each client on a channel of its own, as separate callers would be)."""
    session = create_session(server)
    deadline = time.monotonic() + 6
    lagging = []

    def writer():
        with grpc.insecure_channel(server.address) as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            while time.monotonic() < deadline:
                stub.SendEvents(session_pb2.SendEventsRequest(session_id=session.id,
                                                              events=[message("x")]))

    def reader():
        with grpc.insecure_channel(server.address) as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            while time.monotonic() < deadline:
                seen = stub.ListEvents(session_pb2.ListEventsRequest(
                    session_id=session.id, order=2, page_size=1)).events
                head = stub.GetSession(session_pb2.GetSessionRequest(
                    session_id=session.id)).last_sequence
                if seen and head < seen[0].sequence:
                    lagging.append((head, seen[0].sequence))
    threads = [threading.Thread(target=writer) for _ in range(8)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lagging == []


def test_a_write_waiting_for_a_lock_held_elsewhere_does_not_stall_other_calls(server):
    """Another process holds the lock a write needs (SQLite: the file's write lock): the
    write waits for it off the event loop, so reads are served meanwhile, and the write
    lands once the lock is free."""
    session = create_session(server)
    blocker = _Blocker(server.database_url, session.id)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            waiting = stub.SendEvents.future(session_pb2.SendEventsRequest(
                session_id=session.id, events=[message("after the lock")]), timeout=60)
            # Far below the 30 s the write may wait: a stalled event loop would miss it.
            for _ in range(5):
                read = server.sessions.GetSession(
                    session_pb2.GetSessionRequest(session_id=session.id), timeout=5)
                assert read.last_sequence == 0
            assert not waiting.done()
            blocker.release()
            blocker = None
            stored = waiting.result(timeout=60).events
    finally:
        if blocker is not None:
            blocker.release()
    assert [e.user_message.content[0].text for e in stored] == ["after the lock"]
    assert server.sessions.GetSession(session_pb2.GetSessionRequest(
        session_id=session.id)).last_sequence >= 1


def test_calls_beyond_the_connection_pool_wait_their_turn_instead_of_failing(new_database):
    """Every connection is held by a write waiting for a row lock (on SQLite: the file's
    lock) for longer than the pool's connect timeout. The calls that come after wait for
    a connection and then succeed; none fails."""
    running = RunningServer(database_url=new_database(), db_pool_size=2,
                            db_connect_timeout_seconds=1).start()
    try:
        session = create_session(running)
        blocker = _Blocker(running.database_url, session.id)
        try:
            with grpc.insecure_channel(running.address) as channel:
                stub = session_pb2_grpc.SessionServiceStub(channel)
                sends = [stub.SendEvents.future(session_pb2.SendEventsRequest(
                    session_id=session.id, events=[message(f"m{i}")]), timeout=60)
                    for i in range(4)]
                listed = stub.ListSessions.future(session_pb2.ListSessionsRequest(),
                                                  timeout=60)
                time.sleep(2.5)  # more than the pool's 1 s connect timeout
                blocker.release()
                blocker = None
                texts = sorted(e.user_message.content[0].text
                               for f in sends for e in f.result(timeout=60).events
                               if e.type == "user.message")
                assert session.id in [s.id for s in listed.result(timeout=60).sessions]
        finally:
            if blocker is not None:
                blocker.release()
        assert texts == ["m0", "m1", "m2", "m3"]
    finally:
        running.stop()


def _hold_environment(url, environment_id):
    """A connection holding what a CreateSession of this environment waits for: its row
    lock (on SQLite, the file's write lock). Release it with rollback()."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30,
                                 isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        holder.execute("SELECT 1 FROM environments WHERE id = %s FOR UPDATE",
                       (environment_id,))
    return holder


def test_single_statement_calls_beyond_the_pool_wait_their_turn(new_database):
    """The one connection for single statements (PostgreSQL: psycopg's pool) is held by a
    CreateSession waiting for its environment's row lock longer than the connect timeout.
    A GetSession after it waits for the connection, and both succeed once the lock goes."""
    running = RunningServer(database_url=new_database(), db_pool_size=1,
                            db_connect_timeout_seconds=1).start()
    try:
        agent, env = create_agent(running), create_environment(running)
        session = create_session(running, agent=agent, env=env)
        holder = _hold_environment(running.database_url, env.id)
        try:
            created = running.sessions.CreateSession.future(session_pb2.CreateSessionRequest(
                agent_id=agent.id, environment_id=env.id), timeout=60)
            time.sleep(0.3)  # the create now holds the connection
            read = running.sessions.GetSession.future(session_pb2.GetSessionRequest(
                session_id=session.id), timeout=60)
            time.sleep(2.5)  # more than twice the 1 s connect timeout (a read tries twice)
        finally:
            holder.rollback()
            holder.close()
        assert read.result(timeout=60).id == session.id
        assert created.result(timeout=60).environment_id == env.id
    finally:
        running.stop()


def test_a_single_statement_create_whose_caller_left_before_it_started_is_not_stored(
        new_database):
    """The one connection for single statements is held by a CreateSession waiting for its
    environment's lock (on SQLite: the writer, for the file's lock). A second create queues
    behind it and its caller gives up: it never runs, while the first one lands."""
    running = RunningServer(database_url=new_database(), db_pool_size=1).start()
    try:
        agent, env, other = (create_agent(running), create_environment(running),
                             create_environment(running))
        create_session(running, agent=agent, env=other)  # the agent is remembered
        holder = _hold_environment(running.database_url, env.id)
        try:
            kept = running.sessions.CreateSession.future(session_pb2.CreateSessionRequest(
                agent_id=agent.id, environment_id=env.id, title="kept"), timeout=60)
            time.sleep(0.5)  # the first create now holds the connection
            with pytest.raises(grpc.RpcError) as gave_up:
                running.sessions.CreateSession(session_pb2.CreateSessionRequest(
                    agent_id=agent.id, environment_id=other.id, title="dropped"), timeout=0.5)
            assert gave_up.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        finally:
            holder.rollback()
            holder.close()
        assert kept.result(timeout=60).title == "kept"
        time.sleep(0.5)  # had the dropped create run after all, it would have by now
        titles = [s.title for s in running.sessions.ListSessions(
            session_pb2.ListSessionsRequest(page_size=100)).sessions]
        assert "kept" in titles and "dropped" not in titles
    finally:
        running.stop()


def test_a_write_whose_caller_left_before_it_could_start_is_not_stored(new_database):
    """The only connection (on SQLite: the writer) is busy with a write waiting for a lock
    held elsewhere. A CreateSession queues behind it and its caller gives up: that write
    never runs, so no session is stored, while the first write lands. (Appends are the
    exception by design: once asked for, they complete, so streams hear of them.)"""
    running = RunningServer(database_url=new_database(), db_pool_size=1).start()
    try:
        agent, env = create_agent(running), create_environment(running)
        session = create_session(running, agent=agent, env=env)
        blocker = _Blocker(running.database_url, session.id)
        try:
            with grpc.insecure_channel(running.address) as channel:
                stub = session_pb2_grpc.SessionServiceStub(channel)
                waiting = stub.SendEvents.future(session_pb2.SendEventsRequest(
                    session_id=session.id, events=[message("kept")]), timeout=60)
                time.sleep(0.5)  # the send now holds the connection
                with pytest.raises(grpc.RpcError) as gave_up:
                    # With a request ID, a create is a unit of work on the pool like the
                    # send (a plain one is a single statement, on a connection of its own).
                    stub.CreateSession(session_pb2.CreateSessionRequest(
                        agent_id=agent.id, environment_id=env.id, title="dropped",
                        request_id=unique("dropped")), timeout=0.5)
                assert gave_up.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                blocker.release()
                blocker = None
                assert waiting.result(timeout=60).events[0].user_message.content[0].text \
                    == "kept"
        finally:
            if blocker is not None:
                blocker.release()
        time.sleep(0.5)  # had the dropped write run after all, it would have by now
        listed = running.sessions.ListSessions(session_pb2.ListSessionsRequest(
            page_size=100)).sessions
        assert [s.title for s in listed if s.title == "dropped"] == []
    finally:
        running.stop()
