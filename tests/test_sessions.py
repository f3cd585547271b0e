"""SessionService: create (snapshot, inline environment, resources), read, update, archive,
delete, idempotency."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from managedagents.v1 import agent_pb2, environment_pb2, session_pb2

from tests.helpers import (
    create_agent,
    create_environment,
    create_session,
    expect_error,
    message,
    send,
    unique,
    upload,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
MISSING_SESSION = "sess_01JF3Z0000000000000000000"


def _create(server, **fields):
    return lambda: server.sessions.CreateSession(session_pb2.CreateSessionRequest(**fields))


def test_create_snapshots_the_agent(server):
    agent = create_agent(server, name="before", system="s1")
    env = create_environment(server)
    session = create_session(server, agent=agent, env=env, title="t", metadata={"k": "v"})
    assert session.id.startswith("sess_") and session.type == "session"
    assert (session.agent_id, session.environment_id) == (agent.id, env.id)
    assert session.status == session_pb2.SESSION_STATUS_IDLE
    assert session.turn_status == session_pb2.TURN_STATUS_IDLE
    assert session.stats.active_seconds == 0 and session.last_sequence == 0
    assert not session.HasField("archived_at")
    server.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(
        agent_id=agent.id, version=1, agent=agent_pb2.Agent(name="after"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    got = server.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session.id))
    assert got.agent.name == "before" and got.agent.version == 1 and got.agent.system == "s1"
    later = create_session(server, agent=agent, env=env)
    assert later.agent.name == "after" and later.agent.version == 2


def test_create_with_agent_reference_and_version(server):
    agent = create_agent(server, name="one")
    server.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(
        agent_id=agent.id, version=1, agent=agent_pb2.Agent(name="two"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    env = create_environment(server)
    pinned = server.sessions.CreateSession(session_pb2.CreateSessionRequest(
        agent=session_pb2.AgentReference(id=agent.id, version=1), environment_id=env.id))
    assert pinned.agent.name == "one"
    latest = server.sessions.CreateSession(session_pb2.CreateSessionRequest(
        agent=session_pb2.AgentReference(id=agent.id, type="agent"), environment_id=env.id))
    assert latest.agent.name == "two"
    expect_error(_create(server, agent=session_pb2.AgentReference(id=agent.id, version=7),
                         environment_id=env.id), grpc.StatusCode.NOT_FOUND)


def test_inline_environment(server):
    agent = create_agent(server)
    session = server.sessions.CreateSession(session_pb2.CreateSessionRequest(
        agent_id=agent.id, environment=session_pb2.InlineEnvironment(
            config=environment_pb2.EnvironmentConfig(
                packages=environment_pb2.Packages(pip=["numpy"])))))
    env = server.environments.GetEnvironment(
        environment_pb2.GetEnvironmentRequest(environment_id=session.environment_id))
    assert env.name == "Session Environment" and env.config.packages.pip == ["numpy"]
    expect_error(_create(server, agent_id=agent.id,
                         environment=session_pb2.InlineEnvironment(name="x")),
                 INVALID, "environment.config")


def test_file_resource_paths_are_normalised(server):
    def file(**fields):
        return session_pb2.SessionResource(file=session_pb2.FileResource(**fields))
    a, b, c, d = (upload(server, b"x").id for _ in range(4))
    session = create_session(server, resources=[
        file(file_id=a),
        file(file_id=b, path="docs/b.txt"),
        file(file_id=c, mount_path="/data/x/../c.txt"),
        file(file_id=d, path="/data/d", mount_path="/data/d"),
        session_pb2.SessionResource(github_repository=session_pb2.GitHubRepositoryResource(
            url="https://github.com/o/r", mount_path="/repo", authorization_token="ghp_secret")),
    ])
    paths = [r.file.path for r in session.resources[:4]]
    assert paths == [f"/data/{a}", "/data/docs/b.txt", "/data/c.txt", "/data/d"]
    assert all(r.id.startswith("sesrsc_") for r in session.resources)
    assert all(not r.file.mount_path for r in session.resources[:4])
    repo = session.resources[4].github_repository
    assert repo.url == "https://github.com/o/r" and repo.authorization_token == ""
    got = server.sessions.GetSession(session_pb2.GetSessionRequest(session_id=session.id))
    assert "ghp_secret" not in str(got)


@pytest.mark.parametrize("resource, field", [
    (session_pb2.FileResource(), "resources[0].file.file_id"),
    (session_pb2.FileResource(file_id="sess_x"), "resources[0].file.file_id"),
    (session_pb2.FileResource(file_id="file_a", path="../etc/passwd"), "resources[0].file.path"),
    (session_pb2.FileResource(file_id="file_a", path="/etc/passwd"), "resources[0].file.path"),
    (session_pb2.FileResource(file_id="file_a", path="/data"), "resources[0].file.path"),
    (session_pb2.FileResource(file_id="file_a", path="a" * 600), "resources[0].file.path"),
    (session_pb2.FileResource(file_id="file_a", path="/data/a", mount_path="/data/b"),
     "resources[0].file.mount_path"),
    (session_pb2.GitHubRepositoryResource(), "resources[0].github_repository.url"),
    (session_pb2.GitHubRepositoryResource(url="http://github.com/o/r"),
     "resources[0].github_repository.url"),
    (session_pb2.GitHubRepositoryResource(url="https://github.com/o/r", mount_path="rel"),
     "resources[0].github_repository.mount_path"),
])
def test_resource_validation(server, resource, field):
    kind = "file" if isinstance(resource, session_pb2.FileResource) else "github_repository"
    expect_error(lambda: create_session(
        server, resources=[session_pb2.SessionResource(**{kind: resource})]), INVALID, field)


def test_create_validation(server):
    agent = create_agent(server)
    env = create_environment(server)
    expect_error(_create(server, environment_id=env.id), INVALID, "agent_id")
    expect_error(_create(server, agent_id="env_x", environment_id=env.id), INVALID, "agent_id")
    expect_error(_create(server, agent=session_pb2.AgentReference(), environment_id=env.id),
                 INVALID, "agent.id")
    expect_error(_create(server, agent_id=agent.id), INVALID, "environment_id")
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id, title="x" * 513),
                 INVALID, "title")
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id,
                         metadata={str(i): "" for i in range(17)}), INVALID, "metadata")
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id,
                         metadata={"k" * 65: "v"}), INVALID)
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id,
                         vault_ids=["nope"]), INVALID, "vault_ids[0]")
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id,
                         memory_store_ids=["memstore_a", "memstore_a"]), INVALID,
                 "memory_store_ids")
    file = session_pb2.SessionResource(file=session_pb2.FileResource(file_id="file_a"))
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id,
                         resources=[file, file]), INVALID, "resources[1]")


def test_create_refuses_missing_or_archived_references(server):
    agent = create_agent(server)
    env = create_environment(server)
    expect_error(_create(server, agent_id="agent_01JF3Z0000000000000000000",
                         environment_id=env.id), grpc.StatusCode.NOT_FOUND)
    expect_error(_create(server, agent_id=agent.id,
                         environment_id="env_01JF3Z0000000000000000000"),
                 grpc.StatusCode.NOT_FOUND)
    server.environments.ArchiveEnvironment(
        environment_pb2.ArchiveEnvironmentRequest(environment_id=env.id))
    expect_error(_create(server, agent_id=agent.id, environment_id=env.id),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="ENVIRONMENT_ARCHIVED")
    server.agents.ArchiveAgent(agent_pb2.ArchiveAgentRequest(agent_id=agent.id))
    expect_error(_create(server, agent_id=agent.id, environment_id=create_environment(server).id),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="AGENT_ARCHIVED")


def test_update_title_and_metadata_patch(server):
    session = create_session(server, title="old", metadata={"keep": "1", "drop": "2"})

    def update(paths, **fields):
        return server.sessions.UpdateSession(session_pb2.UpdateSessionRequest(
            session_id=session.id, session=session_pb2.Session(**fields),
            update_mask=field_mask_pb2.FieldMask(paths=paths)))
    patched = update(["metadata.drop", "metadata.new"], metadata={"new": "3"})
    assert dict(patched.metadata) == {"keep": "1", "new": "3"} and patched.title == "old"
    cleared = update(["title"])
    assert cleared.title == "" and dict(cleared.metadata) == {"keep": "1", "new": "3"}
    replaced = update(["metadata"], metadata={"only": "x"})
    assert dict(replaced.metadata) == {"only": "x"}
    assert replaced.updated_at.ToMicroseconds() > session.updated_at.ToMicroseconds()
    expect_error(lambda: update(["status"]), INVALID, "update_mask")
    expect_error(lambda: update([]), INVALID, "update_mask")
    expect_error(lambda: update(["title"], title="x" * 513), INVALID, "session.title")
    expect_error(lambda: update(["metadata"], metadata={str(i): "" for i in range(17)}),
                 INVALID, "session.metadata")


def test_archive_keeps_reads_and_refuses_events(server):
    agent = create_agent(server)
    session = create_session(server, agent=agent)
    archived = server.sessions.ArchiveSession(
        session_pb2.ArchiveSessionRequest(session_id=session.id))
    assert archived.HasField("archived_at")
    assert server.sessions.GetSession(
        session_pb2.GetSessionRequest(session_id=session.id)).HasField("archived_at")
    expect_error(lambda: send(server, session.id, message("hi")),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="SESSION_ARCHIVED")
    hidden = server.sessions.ListSessions(session_pb2.ListSessionsRequest(agent_id=agent.id))
    assert [s.id for s in hidden.sessions] == []
    shown = server.sessions.ListSessions(
        session_pb2.ListSessionsRequest(agent_id=agent.id, include_archived=True))
    assert [s.id for s in shown.sessions] == [session.id]


def test_delete_removes_session_and_events(server):
    session = create_session(server)
    send(server, session.id, message("hi"))
    reply = server.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=session.id))
    assert (reply.id, reply.type) == (session.id, "session_deleted")
    expect_error(lambda: server.sessions.GetSession(
        session_pb2.GetSessionRequest(session_id=session.id)), grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: server.sessions.ListEvents(
        session_pb2.ListEventsRequest(session_id=session.id)), grpc.StatusCode.NOT_FOUND)


def test_unknown_session_is_not_found_everywhere(server):
    sid = MISSING_SESSION
    calls = [
        lambda: server.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid)),
        lambda: server.sessions.ArchiveSession(session_pb2.ArchiveSessionRequest(session_id=sid)),
        lambda: server.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid)),
        lambda: server.sessions.UpdateSession(session_pb2.UpdateSessionRequest(
            session_id=sid, update_mask=field_mask_pb2.FieldMask(paths=["title"]))),
        lambda: send(server, sid, message("hi")),
        lambda: server.sessions.ListEvents(session_pb2.ListEventsRequest(session_id=sid)),
        lambda: next(iter(server.sessions.StreamEvents(
            session_pb2.StreamEventsRequest(session_id=sid)))),
    ]
    for call in calls:
        error = expect_error(call, grpc.StatusCode.NOT_FOUND)
        assert sid in error.details()
    expect_error(lambda: server.sessions.GetSession(session_pb2.GetSessionRequest()),
                 INVALID, "session_id")
    expect_error(lambda: server.sessions.GetSession(
        session_pb2.GetSessionRequest(session_id="agent_1")), INVALID, "session_id")


def test_create_is_idempotent_with_request_id(server):
    agent, env = create_agent(server), create_environment(server)
    key = unique("req")
    first = create_session(server, agent=agent, env=env, request_id=key)
    again = create_session(server, agent=agent, env=env, request_id=key)
    assert again.id == first.id
    listed = server.sessions.ListSessions(session_pb2.ListSessionsRequest(agent_id=agent.id))
    assert [s.id for s in listed.sessions] == [first.id]
    expect_error(lambda: create_session(server, agent=agent, env=env, request_id=key,
                                        title="different"),
                 grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
