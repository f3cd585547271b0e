"""SessionService's resource methods: protobuf <-> domain for a session's resources."""

from __future__ import annotations

import grpc
from managedagents.v1 import session_pb2

from server import errors
from server.api import convert
from server.api.workspace import workspace_of
from server.domain.models import Json
from server.domain.session_resources import SessionResources


def resource_to(resource: Json) -> session_pb2.SessionResource:
    out = session_pb2.SessionResource()
    convert.fill(out, resource)
    return out


class SessionResourceMethods:
    """Mixed into SessionService: Add, List, Get, Update and Delete a session's resources."""

    resources: SessionResources

    @errors.unary
    async def AddSessionResource(self, request: session_pb2.AddSessionResourceRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> session_pb2.SessionResource:
        return resource_to(await self.resources.add(
            workspace_of(context), request.session_id, convert.to_dict(request.resource)))

    @errors.unary
    async def ListSessionResources(self, request: session_pb2.ListSessionResourcesRequest,
                                   context: grpc.aio.ServicerContext
                                   ) -> session_pb2.ListSessionResourcesResponse:
        found = await self.resources.list_all(workspace_of(context), request.session_id)
        return session_pb2.ListSessionResourcesResponse(
            resources=[resource_to(r) for r in found])

    @errors.unary
    async def GetSessionResource(self, request: session_pb2.GetSessionResourceRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> session_pb2.SessionResource:
        return resource_to(await self.resources.get(workspace_of(context), request.session_id,
                                                    request.resource_id))

    @errors.unary
    async def UpdateSessionResource(self, request: session_pb2.UpdateSessionResourceRequest,
                                    context: grpc.aio.ServicerContext
                                    ) -> session_pb2.SessionResource:
        return resource_to(await self.resources.update(
            workspace_of(context), request.session_id, request.resource_id,
            convert.to_dict(request.resource), list(request.update_mask.paths)))

    @errors.unary
    async def DeleteSessionResource(self, request: session_pb2.DeleteSessionResourceRequest,
                                    context: grpc.aio.ServicerContext
                                    ) -> session_pb2.DeleteSessionResourceResponse:
        await self.resources.delete(workspace_of(context), request.session_id,
                                    request.resource_id)
        return session_pb2.DeleteSessionResourceResponse(id=request.resource_id,
                                                         type="session_resource_deleted")
