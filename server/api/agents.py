"""AgentService: protobuf <-> domain for agents."""

from __future__ import annotations

import grpc
from managedagents.v1 import agent_pb2, agent_pb2_grpc, common_pb2

from server import errors
from server.api import convert
from server.api.workspace import workspace_of
from server.domain.agents import Agents


class AgentService(agent_pb2_grpc.AgentServiceServicer):
    """Serves managedagents.v1.AgentService."""

    def __init__(self, agents: Agents) -> None:
        self.agents = agents

    @errors.unary
    async def CreateAgent(self, request: agent_pb2.CreateAgentRequest,
                          context: grpc.aio.ServicerContext) -> agent_pb2.Agent:
        agent = await self.agents.create(workspace_of(context), convert.agent_from(request),
                                         convert.request_key("CreateAgent", request))
        return convert.agent_to(agent)

    @errors.unary
    async def GetAgent(self, request: agent_pb2.GetAgentRequest,
                       context: grpc.aio.ServicerContext) -> agent_pb2.Agent:
        agent = await self.agents.get(workspace_of(context), request.agent_id, request.version)
        return convert.agent_to(agent)

    @errors.unary
    async def ListAgents(self, request: agent_pb2.ListAgentsRequest,
                         context: grpc.aio.ServicerContext) -> agent_pb2.ListAgentsResponse:
        page = await self.agents.list_page(workspace_of(context), request.page_size,
                                      request.page_token, request.include_archived,
                                      request.order != common_pb2.SORT_ORDER_ASC)
        return agent_pb2.ListAgentsResponse(agents=[convert.agent_to(a) for a in page.items],
                                            next_page_token=page.next_page_token)

    @errors.unary
    async def UpdateAgent(self, request: agent_pb2.UpdateAgentRequest,
                          context: grpc.aio.ServicerContext) -> agent_pb2.Agent:
        agent = await self.agents.update(workspace_of(context), request.agent_id,
                                         request.version, convert.agent_from(request.agent),
                                         list(request.update_mask.paths))
        return convert.agent_to(agent)

    @errors.unary
    async def ArchiveAgent(self, request: agent_pb2.ArchiveAgentRequest,
                           context: grpc.aio.ServicerContext) -> agent_pb2.Agent:
        return convert.agent_to(await self.agents.archive(workspace_of(context),
                                                          request.agent_id))

    @errors.unary
    async def ListAgentVersions(self, request: agent_pb2.ListAgentVersionsRequest,
                                context: grpc.aio.ServicerContext
                                ) -> agent_pb2.ListAgentVersionsResponse:
        page = await self.agents.list_versions(workspace_of(context), request.agent_id,
                                               request.page_size, request.page_token)
        return agent_pb2.ListAgentVersionsResponse(
            agents=[convert.agent_to(a) for a in page.items],
            next_page_token=page.next_page_token)
