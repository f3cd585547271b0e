"""Several server processes on one PostgreSQL: writers and streams on each, through a
replica's death and a PostgreSQL restart; every stream sees every event once, in order."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from managedagents.v1 import session_pb2, session_pb2_grpc

from tests.helpers import create_session
from tests.replicas import Follower, Replica, send_until_stored


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[list[Replica]]:
    started = [Replica(postgres_url).start(), Replica(postgres_url).start()]
    yield started
    for replica in started:
        replica.kill()


class Stubs:
    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        from managedagents.v1 import agent_pb2_grpc, environment_pb2_grpc
        self.agents = agent_pb2_grpc.AgentServiceStub(self.channel)
        self.environments = environment_pb2_grpc.EnvironmentServiceStub(self.channel)


def _run(replicas: list[Replica], disturb=None, sessions: int = 4,
         per_writer: int = 20) -> tuple[list[Follower], int]:
    """Writers on both replicas and a follower per session on each, while `disturb` runs;
    checks every follower saw its session's whole log once, in order. Returns the
    followers and how many sends had to be retried."""
    addresses = [r.address for r in replicas]
    stubs = Stubs(addresses[0])
    ids = [create_session(stubs).id for _ in range(sessions)]
    followers = [Follower(address, sid) for sid in ids for address in addresses]
    disturbed = threading.Event()

    def writer(w: int) -> tuple[int, int]:
        sent = retried = 0
        # Until the disturbance is over (and at least per_writer messages), so they overlap.
        while sent < per_writer or not disturbed.is_set():
            sid = ids[(w + sent) % len(ids)]
            # Writers take turns between the replicas; a failed send retries on either.
            retried += send_until_stored(addresses[w % 2:] + addresses[:w % 2], sid,
                                         f"{w}-{sent}")
            sent += 1
        return sent, retried

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(writer, w) for w in range(6)]
        threading.Event().wait(0.3)  # writes are under way
        if disturb is not None:
            disturb()
        disturbed.set()
        results = [future.result() for future in futures]
    try:
        heads = {sid: stubs.sessions.GetSession(
            session_pb2.GetSessionRequest(session_id=sid)).last_sequence for sid in ids}
        stored = 0
        for sid in ids:
            token = ""
            while True:
                page = stubs.sessions.ListEvents(session_pb2.ListEventsRequest(
                    session_id=sid, page_size=100, page_token=token, types=["user.message"]))
                stored += len(page.events)
                token = page.next_page_token
                if not token:
                    break
        # Each acknowledged send is stored exactly once: retries did not double it.
        assert stored == sum(sent for sent, _ in results)
        for follower in followers:
            follower.wait_for(heads[follower.session_id])
            sequences = [e.sequence for e in follower.events]
            assert sequences == list(range(1, heads[follower.session_id] + 1)), follower.address
            assert len({e.id for e in follower.events}) == len(sequences)
    finally:
        for follower in followers:
            follower.stop()
        stubs.channel.close()
    return followers, sum(retried for _, retried in results)


def test_streams_on_each_replica_see_writes_from_both(replicas):
    followers, retried = _run(replicas)
    assert retried == 0 and all(f.reconnects == 0 for f in followers)


def test_a_replica_killed_and_restarted(replicas):
    def disturb():
        threading.Event().wait(0.5)
        replicas[0].kill()
        threading.Event().wait(1.0)
        replicas[0].start()
    followers, _ = _run(replicas, disturb)
    # The followers on the killed replica lost their streams and resumed without a gap.
    assert all(f.reconnects > 0 for f in followers if f.address == replicas[0].address)


def test_postgresql_restarting(replicas):
    version = sorted(os.listdir("/etc/postgresql"))[0]

    def disturb():
        threading.Event().wait(0.5)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                        "restart"], check=True, timeout=120)
    _, retried = _run(replicas, disturb)
    assert retried > 0  # writes were refused while PostgreSQL was down, and then stored


def test_hints_reach_the_other_replica_before_and_after_postgresql_restarts(postgres_url):
    """With the head poll an hour away, only a commit's hint can bring a stream on the other
    replica its event; after PostgreSQL restarted, the listener connects again and hints
    flow as before (or, if a send came first, the reconnect's recheck finds it)."""
    started = [Replica(postgres_url, "--head-poll-seconds", "3600").start() for _ in range(2)]
    stubs = Stubs(started[0].address)
    follower = None
    try:
        sid = create_session(stubs).id
        follower = Follower(started[1].address, sid)
        send_until_stored([started[0].address], sid, "before")
        follower.wait_for(2, timeout=20)  # the message and the turn's status_running
        version = sorted(os.listdir("/etc/postgresql"))[0]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                        "restart"], check=True, timeout=120)
        send_until_stored([started[0].address], sid, "after")
        head = stubs.sessions.GetSession(
            session_pb2.GetSessionRequest(session_id=sid)).last_sequence
        assert head > 2
        follower.wait_for(head, timeout=20)
        texts = [e.user_message.content[0].text for e in follower.events
                 if e.HasField("user_message")]
        assert texts == ["before", "after"]
    finally:
        if follower is not None:
            follower.stop()
        stubs.channel.close()
        for replica in started:
            replica.kill()


def test_a_create_sees_agent_changes_made_on_another_replica(replicas):
    """Replica A creates sessions of an agent (and may remember it); replica B gives the
    agent a new version, then archives it. A's next creates snapshot the new version, then
    are refused, as if A had read the agent each time."""
    from google.protobuf import field_mask_pb2
    from managedagents.v1 import agent_pb2

    from tests.helpers import create_agent, create_environment, expect_error

    a, b = Stubs(replicas[0].address), Stubs(replicas[1].address)
    try:
        agent, env = create_agent(a, system="first"), create_environment(a)

        def create_on_a() -> session_pb2.Session:
            return a.sessions.CreateSession(session_pb2.CreateSessionRequest(
                agent_id=agent.id, environment_id=env.id))
        assert [create_on_a().agent.version for _ in range(3)] == [1, 1, 1]
        b.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(
            agent_id=agent.id, version=1, agent=agent_pb2.Agent(system="second"),
            update_mask=field_mask_pb2.FieldMask(paths=["system"])))
        newer = create_on_a()
        assert (newer.agent.version, newer.agent.system) == (2, "second")
        pinned = a.sessions.CreateSession(session_pb2.CreateSessionRequest(
            agent=session_pb2.AgentReference(id=agent.id, version=1), environment_id=env.id))
        assert (pinned.agent.version, pinned.agent.system) == (1, "first")
        b.agents.ArchiveAgent(agent_pb2.ArchiveAgentRequest(agent_id=agent.id))
        expect_error(create_on_a, grpc.StatusCode.FAILED_PRECONDITION, reason="AGENT_ARCHIVED")
    finally:
        a.channel.close()
        b.channel.close()
