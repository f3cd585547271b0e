"""StreamEvents: replay after a cursor then tail, with no gap and no duplicate; heartbeats;
ends on delete."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from managedagents.v1 import session_pb2
from sqlalchemy import create_engine, event, insert, update

from server.api import convert
from server.domain import ids
from server.domain.models import Event
from server.store import tables
from server.streaming import run_slots
from server.streaming.replay_pages import PAGE
from server.streaming.run_slots import RunSlots
from tests.harness import RunningServer
from tests.helpers import create_session, expect_error, message, send
from tests.reader import WAIT, Reader


@pytest.mark.parametrize("per_message", [0, 7], ids=["one-a-message", "runs-of-7"])
def test_stream_from_zero_during_concurrent_writes_gets_each_event_once(server, per_message):
    session = create_session(server)
    started = threading.Event()

    def writer(w):
        for i in range(50):
            send(server, session.id, message(f"{w}-{i}"))
            if w == 0 and i == 5:
                started.set()
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(writer, w) for w in range(20)]
        started.wait(WAIT)
        reader = Reader(server, session_id=session.id, after_sequence=0,
                        max_events_per_message=per_message)
        for f in futures:
            f.result()
    # 1000 messages, and the session.status_running of the turn the first one started
    events = reader.events_through(1001)
    assert [e.sequence for e in events] == list(range(1, 1002))
    assert len({e.id for e in events}) == 1001
    assert sum(e.type == "user.message" for e in events) == 1000
    assert reader.wait_heartbeat().last_sequence == 1001  # nothing after the last
    reader.close()
    assert max(reader.runs) == (per_message or 1)  # the replay's page, in runs of at most 7

    resumed = Reader(server, session_id=session.id, after_sequence=640)
    assert [e.sequence for e in resumed.events_through(1001)] == list(range(641, 1002))
    assert resumed.wait_heartbeat().last_sequence == 1001
    resumed.close()


def test_streams_replaying_together_share_their_reads(server):
    """Streams that catch up on one session read its stored events from the database about
    once between them (server/streaming/replay_pages.py), each still getting every event
    once, in order."""
    session = create_session(server)
    for batch in range(10):
        send(server, session.id, *[message(f"{batch}-{i}") for i in range(100)])
    reads = []

    def counted(conn, cursor, statement, parameters, context, executemany):
        if "FROM events" in statement and session.id in str(parameters):
            reads.append(statement)
    engine = server.service.database.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        streams = 30
        readers = [Reader(server, session_id=session.id, after_sequence=0)
                   for _ in range(streams)]
        for reader in readers:  # 1,000 messages and the first turn's session.status_running
            assert [e.sequence for e in reader.events_through(1001)] == list(range(1, 1002))
        for reader in readers:
            assert reader.wait_heartbeat().last_sequence == 1001
            reader.close()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    pages = 1001 // PAGE + 1
    # Each stream reading its own pages: streams x pages (180). Shared: each full page once,
    # and the last (not full, so not kept) at most once a stream.
    assert 0 < len(reads) < streams * pages // 2


def test_without_cursor_tails_only_new_events(server):
    session = create_session(server)
    send(server, session.id, message("old"))
    reader = Reader(server, session_id=session.id)
    assert reader.wait_heartbeat().last_sequence == 2
    send(server, session.id, message("new"))
    event = reader.next_event()
    assert (event.sequence, event.user_message.content[0].text) == (3, "new")
    reader.close()


def test_resume_after_event_id(server):
    session = create_session(server)
    stored = send(server, session.id, message("a"), message("b"), message("c"))
    reader = Reader(server, session_id=session.id, after_event_id=stored[1].id)
    assert [e.id for e in reader.events_through(4)] == [stored[2].id]
    reader.close()


def test_cursor_errors_name_the_field(server):
    session = create_session(server)
    send(server, session.id, message("a"))
    other = create_session(server)
    other_event = send(server, other.id, message("x"))[0]

    def first(**request):
        return lambda: next(iter(server.sessions.StreamEvents(
            session_pb2.StreamEventsRequest(session_id=session.id, **request))))
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    expect_error(first(after_sequence=3), invalid, "after_sequence")
    expect_error(first(after_sequence=-1), invalid, "after_sequence")
    expect_error(first(after_event_id=other_event.id), invalid, "after_event_id")
    expect_error(first(after_sequence=0, after_event_id=other_event.id), invalid,
                 "after_event_id")


def test_delete_ends_open_streams(server):
    session = create_session(server)
    send(server, session.id, message("a"))
    reader = Reader(server, session_id=session.id, after_sequence=0)
    assert [e.sequence for e in reader.events_through(2)] == [1, 2]
    reader.wait_heartbeat()
    server.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=session.id))
    last = reader.next_event()
    assert last.type == "session.deleted" and last.HasField("session_deleted")
    assert reader.next() is None  # the stream ended
    reader.close()


@pytest.fixture
def small_buffer_server(backend_url):
    """A second server on the same database whose streams buffer only 4 events."""
    running = RunningServer(database_url=backend_url, stream_buffer_events=4).start()
    yield running
    running.stop()


def test_stream_that_falls_behind_its_buffer_reads_the_rest_from_the_database(
        small_buffer_server):
    srv = small_buffer_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id, after_sequence=0)
    reader.wait_heartbeat()
    send(srv, session.id, *[message(str(i)) for i in range(100)])
    send(srv, session.id, message("last"))
    assert [e.sequence for e in reader.events_through(102)] == list(range(1, 103))
    assert reader.wait_heartbeat().last_sequence == 102
    reader.close()


def test_an_event_no_hint_announced_arrives_by_the_slow_poll(server):
    """A writer whose hint is lost (here: one that writes the tables directly, as a replica
    whose NOTIFY went nowhere): the poll behind the hints still brings the event."""
    session = create_session(server)
    reader = Reader(server, session_id=session.id, after_sequence=0)
    reader.wait_heartbeat()
    engine = create_engine(server.database_url)
    with engine.begin() as conn:
        conn.execute(update(tables.sessions).where(tables.sessions.c.id == session.id)
                     .values(last_sequence=1))
        conn.execute(insert(tables.events).values(
            session_id=session.id, sequence=1, id="evt_01JF3Z000000000000000UNHINTED",
            workspace_id=ids.DEFAULT_WORKSPACE, type="user.interrupt", turn_id="",
            created_at=1, processed_at=1, payload="{}"))
    engine.dispose()
    event = reader.next_event()
    reader.close()
    assert (event.sequence, event.id) == (1, "evt_01JF3Z000000000000000UNHINTED")


@pytest.fixture
def busy_poll_server(backend_url):
    """A server whose poll of stream heads runs far more often than its heartbeats."""
    running = RunningServer(database_url=backend_url, heartbeat_seconds=0.3,
                            head_poll_seconds=0.05).start()
    yield running
    running.stop()


def test_idle_streams_get_heartbeats_however_often_heads_are_polled(busy_poll_server):
    srv = busy_poll_server
    session = create_session(srv)
    reader = Reader(srv, session_id=session.id)
    beats = [reader.wait_heartbeat() for _ in range(3)]
    reader.close()
    assert [b.last_sequence for b in beats] == [0, 0, 0]


def test_runs_replay_then_tail_in_runs_no_longer_than_asked(server):
    session = create_session(server)
    big = "x" * 20_000  # its length takes three bytes to encode
    send(server, session.id, *[message(big if i == 3 else str(i)) for i in range(25)])
    head = server.sessions.GetSession(
        session_pb2.GetSessionRequest(session_id=session.id)).last_sequence
    assert head == 26  # 25 messages and the turn's session.status_running
    reader = Reader(server, session_id=session.id, after_sequence=0,
                    max_events_per_message=10)
    replayed = reader.events_through(head)
    assert reader.runs == [10, 10, 6]  # what was stored, 10 a message
    stored = server.sessions.ListEvents(
        session_pb2.ListEventsRequest(session_id=session.id, page_size=100)).events
    assert replayed == list(stored)  # each event whole, the big one included
    assert reader.wait_heartbeat().last_sequence == head

    def writer(w):
        for i in range(20):
            send(server, session.id, message(f"{w}-{i}"))
    with ThreadPoolExecutor(8) as pool:
        for done in [pool.submit(writer, w) for w in range(8)]:
            done.result()
    tailed = reader.events_through(head + 160)
    assert [e.sequence for e in tailed] == list(range(head + 1, head + 161))
    tail_runs = reader.runs[3:]
    assert sum(tail_runs) == 160 and max(tail_runs) <= 10
    # Events that arrive together leave together, not one a message.
    assert len(tail_runs) < 160
    assert reader.wait_heartbeat().last_sequence == head + 160
    reader.close()


def test_streams_in_runs_send_in_their_servers_slots(server):
    """At most one message a slot: with the server's slots held near the longest, events
    sent 10 ms apart come a slot's worth at a time. (The slots end off whole milliseconds,
    where uvloop's timers, counted in them, may fire a little before a slot's end.)"""
    hub = server.service.hub
    kept, hub.run_slots = hub.run_slots, RunSlots(busy=lambda: None)  # never reviewed
    slot = hub.run_slots.interval = run_slots.MAX_INTERVAL - 0.0005
    try:
        session = create_session(server)
        head = server.sessions.GetSession(
            session_pb2.GetSessionRequest(session_id=session.id)).last_sequence
        reader = Reader(server, session_id=session.id, after_sequence=head,
                        max_events_per_message=100)
        reader.wait_heartbeat()  # subscribed
        started = time.monotonic()
        for i in range(30):
            send(server, session.id, message(str(i)))
            time.sleep(0.01)
        last = server.sessions.GetSession(
            session_pb2.GetSessionRequest(session_id=session.id)).last_sequence
        assert len(reader.events_through(last)) == last - head
        took = time.monotonic() - started
        reader.close()
    finally:
        hub.run_slots = kept
    # One message at once, then one at most each time a slot ends.
    assert len(reader.runs) <= took / slot + 2
    assert max(reader.runs) > 1


def test_a_stream_in_runs_ends_with_the_delete(server):
    session = create_session(server)
    send(server, session.id, message("a"))
    reader = Reader(server, session_id=session.id, after_sequence=0,
                    max_events_per_message=100)
    assert [e.sequence for e in reader.events_through(2)] == [1, 2]
    reader.wait_heartbeat()
    server.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=session.id))
    assert reader.next_event().type == "session.deleted"
    assert reader.next() is None  # the stream ended
    reader.close()


@pytest.mark.parametrize("value", [-1, 1001])
def test_events_per_message_out_of_range_names_the_field(server, value):
    session = create_session(server)
    expect_error(lambda: next(iter(server.sessions.StreamEvents(
        session_pb2.StreamEventsRequest(session_id=session.id,
                                        max_events_per_message=value)))),
                 grpc.StatusCode.INVALID_ARGUMENT, "max_events_per_message")


def test_runs_of_big_events_stay_within_what_clients_take(server):
    """Five events of 900 KB: in one message they would pass the 4 MiB a gRPC client takes
    by default, and the client could never get past them."""
    session = create_session(server)
    for i in range(5):
        send(server, session.id, message(str(i) * 900_000))
    head = server.sessions.GetSession(
        session_pb2.GetSessionRequest(session_id=session.id)).last_sequence
    reader = Reader(server, session_id=session.id, after_sequence=0,
                    max_events_per_message=10)
    events = reader.events_through(head)
    assert [e.sequence for e in events] == list(range(1, head + 1))
    assert [len(e.user_message.content[0].text) for e in events
            if e.type == "user.message"] == [900_000] * 5
    assert max(reader.runs) <= 2  # about 1 MiB a message: one big event, and a small one
    reader.close()


def test_a_run_is_built_once_for_the_same_events_and_afresh_for_others():
    """The streams of a session that send the same events in a slot share one encoding;
    the same sequences as other objects (read from the database, processed meanwhile) are
    encoded from what those objects hold."""
    session_id = ids.new_id(ids.SESSION)
    published = [Event(id=ids.new_id(ids.EVENT), type="user.message", session_id=session_id,
                       payload={"content": [{"type": "text", "text": str(i)}]},
                       sequence=i + 1, created_at=1_000_000) for i in range(3)]
    built = convert.stream_runs(published)
    assert convert.stream_runs(list(published)) is built  # another stream's slice

    reread = [dataclasses.replace(event) for event in published]
    reread[1].processed_at = 2_000_000
    rebuilt = convert.stream_runs(reread)
    sent = session_pb2.StreamEventsResponse.FromString(b"".join(rebuilt))
    assert [e.user_message.content[0].text for e in sent.events.events] == ["0", "1", "2"]
    assert [e.HasField("processed_at") for e in sent.events.events] == [False, True, False]
