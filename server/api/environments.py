"""EnvironmentService: protobuf <-> domain for environments."""

from __future__ import annotations

import grpc
from managedagents.v1 import common_pb2, environment_pb2, environment_pb2_grpc

from server import errors
from server.api import convert
from server.api.workspace import workspace_of
from server.domain.environments import Environments


class EnvironmentService(environment_pb2_grpc.EnvironmentServiceServicer):
    """Serves managedagents.v1.EnvironmentService."""

    def __init__(self, environments: Environments) -> None:
        self.environments = environments

    @errors.unary
    async def CreateEnvironment(self, request: environment_pb2.CreateEnvironmentRequest,
                                context: grpc.aio.ServicerContext
                                ) -> environment_pb2.Environment:
        env = await self.environments.create(
            workspace_of(context), convert.environment_from(request),
            convert.request_key("CreateEnvironment", request))
        return convert.environment_to(env)

    @errors.unary
    async def GetEnvironment(self, request: environment_pb2.GetEnvironmentRequest,
                             context: grpc.aio.ServicerContext) -> environment_pb2.Environment:
        env = await self.environments.get(workspace_of(context), request.environment_id)
        return convert.environment_to(env)

    @errors.unary
    async def ListEnvironments(self, request: environment_pb2.ListEnvironmentsRequest,
                               context: grpc.aio.ServicerContext
                               ) -> environment_pb2.ListEnvironmentsResponse:
        page = await self.environments.list_page(workspace_of(context), request.page_size,
                                            request.page_token, request.include_archived,
                                            request.order != common_pb2.SORT_ORDER_ASC)
        return environment_pb2.ListEnvironmentsResponse(
            environments=[convert.environment_to(e) for e in page.items],
            next_page_token=page.next_page_token)

    @errors.unary
    async def UpdateEnvironment(self, request: environment_pb2.UpdateEnvironmentRequest,
                                context: grpc.aio.ServicerContext
                                ) -> environment_pb2.Environment:
        env = await self.environments.update(
            workspace_of(context), request.environment_id,
            convert.environment_from(request.environment), list(request.update_mask.paths))
        return convert.environment_to(env)

    @errors.unary
    async def ArchiveEnvironment(self, request: environment_pb2.ArchiveEnvironmentRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> environment_pb2.Environment:
        env = await self.environments.archive(workspace_of(context), request.environment_id)
        return convert.environment_to(env)

    @errors.unary
    async def DeleteEnvironment(self, request: environment_pb2.DeleteEnvironmentRequest,
                                context: grpc.aio.ServicerContext
                                ) -> environment_pb2.DeleteEnvironmentResponse:
        await self.environments.delete(workspace_of(context), request.environment_id)
        return environment_pb2.DeleteEnvironmentResponse(id=request.environment_id,
                                                         type="environment_deleted")
