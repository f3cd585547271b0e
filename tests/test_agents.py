"""AgentService: create, read, list, versioned updates, archive."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2, struct_pb2
from managedagents.v1 import agent_pb2, common_pb2

from tests.helpers import create_agent, expect_error, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_create_and_get_agent(server):
    schema = struct_pb2.Struct()
    schema.update({"type": "object", "properties": {"q": {"type": "string"}}})
    agent = create_agent(server, description="helps", system="be brief",
                         tools=[agent_pb2.Tool(type="custom", name="lookup",
                                               input_schema=schema,
                                               requires_confirmation=True)],
                         metadata={"team": "a"})
    assert agent.id.startswith("agent_") and agent.type == "agent" and agent.version == 1
    assert agent.created_at.seconds > 0 and not agent.HasField("archived_at")
    got = server.agents.GetAgent(agent_pb2.GetAgentRequest(agent_id=agent.id))
    assert got == agent
    assert got.tools[0].input_schema["properties"]["q"]["type"] == "string"


def test_agent_validation_names_each_field(server):
    def create(**fields):
        return lambda: server.agents.CreateAgent(agent_pb2.CreateAgentRequest(**fields))
    expect_error(create(model="m"), INVALID, "name")
    expect_error(create(name="n"), INVALID, "model")
    expect_error(create(name="x" * 257, model="m"), INVALID, "name")
    expect_error(create(name="n", model="m", metadata={str(i): "v" for i in range(17)}),
                 INVALID, "metadata")
    expect_error(create(name="n", model="m", tools=[agent_pb2.Tool(type="custom")]),
                 INVALID, "tools[0].name")
    expect_error(create(name="n", model="m", tools=[agent_pb2.Tool()]), INVALID, "tools[0].type")


def test_update_creates_next_version_and_rejects_stale(server):
    agent = create_agent(server, name="v1")
    mask = field_mask_pb2.FieldMask(paths=["name", "metadata.k"])
    v2 = server.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(
        agent_id=agent.id, version=1, agent=agent_pb2.Agent(name="v2", metadata={"k": "x"}),
        update_mask=mask))
    assert (v2.version, v2.name, dict(v2.metadata), v2.model) == (2, "v2", {"k": "x"}, agent.model)
    stale = lambda: server.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(  # noqa: E731
        agent_id=agent.id, version=1, agent=agent_pb2.Agent(name="v3"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    expect_error(stale, grpc.StatusCode.ABORTED, reason="VERSION_CONFLICT")
    old = server.agents.GetAgent(agent_pb2.GetAgentRequest(agent_id=agent.id, version=1))
    assert old.name == "v1"
    latest = server.agents.GetAgent(agent_pb2.GetAgentRequest(agent_id=agent.id))
    assert latest.version == 2
    versions = server.agents.ListAgentVersions(
        agent_pb2.ListAgentVersionsRequest(agent_id=agent.id, page_size=1))
    assert [a.version for a in versions.agents] == [2] and versions.next_page_token
    rest = server.agents.ListAgentVersions(agent_pb2.ListAgentVersionsRequest(
        agent_id=agent.id, page_size=1, page_token=versions.next_page_token))
    assert [a.version for a in rest.agents] == [1] and not rest.next_page_token


def test_update_validation(server):
    agent = create_agent(server)

    def update(paths, version=1, **fields):
        return lambda: server.agents.UpdateAgent(agent_pb2.UpdateAgentRequest(
            agent_id=agent.id, version=version, agent=agent_pb2.Agent(**fields),
            update_mask=field_mask_pb2.FieldMask(paths=paths)))
    expect_error(update([]), INVALID, "update_mask")
    expect_error(update(["id"]), INVALID, "update_mask")
    expect_error(update(["name"], version=0), INVALID, "version")
    expect_error(update(["name"], name=""), INVALID, "agent.name")


def test_archive_hides_from_list(server):
    agent = create_agent(server)
    archived = server.agents.ArchiveAgent(agent_pb2.ArchiveAgentRequest(agent_id=agent.id))
    assert archived.HasField("archived_at")
    again = server.agents.ArchiveAgent(agent_pb2.ArchiveAgentRequest(agent_id=agent.id))
    assert again.archived_at == archived.archived_at
    listed = _all_agents(server, include_archived=False)
    assert agent.id not in listed
    assert agent.id in _all_agents(server, include_archived=True)


def _all_agents(server, include_archived):
    ids, token = [], ""
    while True:
        page = server.agents.ListAgents(agent_pb2.ListAgentsRequest(
            page_size=100, page_token=token, include_archived=include_archived))
        ids += [a.id for a in page.agents]
        token = page.next_page_token
        if not token:
            return ids


def test_list_agents_orders_and_binds_tokens(server):
    made = [create_agent(server, name=unique()).id for _ in range(3)]
    newest = server.agents.ListAgents(agent_pb2.ListAgentsRequest(page_size=2))
    assert [a.id for a in newest.agents] == made[::-1][:2]
    expect_error(lambda: server.agents.ListAgents(agent_pb2.ListAgentsRequest(
        page_size=2, page_token=newest.next_page_token, include_archived=True)),
        INVALID, "page_token")
    asc = server.agents.ListAgents(agent_pb2.ListAgentsRequest(order=common_pb2.SORT_ORDER_ASC))
    stamps = [(a.created_at.ToMicroseconds(), a.id) for a in asc.agents]
    assert stamps == sorted(stamps)


def test_agent_not_found_and_bad_ids(server):
    missing = "agent_01JF3Z0000000000000000000"
    expect_error(lambda: server.agents.GetAgent(agent_pb2.GetAgentRequest(agent_id=missing)),
                 grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: server.agents.ArchiveAgent(
        agent_pb2.ArchiveAgentRequest(agent_id=missing)), grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: server.agents.ListAgentVersions(
        agent_pb2.ListAgentVersionsRequest(agent_id=missing)), grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: server.agents.GetAgent(agent_pb2.GetAgentRequest(agent_id="sess_x")),
                 INVALID, "agent_id")
    agent = create_agent(server)
    expect_error(lambda: server.agents.GetAgent(
        agent_pb2.GetAgentRequest(agent_id=agent.id, version=9)), grpc.StatusCode.NOT_FOUND)


def test_create_agent_is_idempotent_with_request_id(server):
    key = unique("req")
    first = create_agent(server, name="same", request_id=key)
    second = create_agent(server, name="same", request_id=key)
    assert first.id == second.id
    expect_error(lambda: create_agent(server, name="other", request_id=key),
                 grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
