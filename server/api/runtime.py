"""RuntimeService: protobuf <-> domain for agent runtimes."""

from __future__ import annotations

import grpc
from managedagents.v1 import event_pb2, runtime_pb2, runtime_pb2_grpc

from server import errors
from server.api import convert
from server.api.workspace import workspace_of
from server.domain import runtime
from server.domain.event_rules import IncomingEvent
from server.domain.runtime import Runtime


def incoming(events: list[event_pb2.Event]) -> list[IncomingEvent]:
    """Request events as the domain validates them: declared type, payload, and place."""
    batch = []
    for i, event in enumerate(events):
        which = event.WhichOneof("payload")
        batch.append(IncomingEvent(
            type=event.type, payload_field=which or "", field=f"events[{i}]",
            payload=convert.to_dict(getattr(event, which)) if which else {}))
    return batch


def lease_to(lease: runtime.Lease) -> runtime_pb2.Lease:
    out = runtime_pb2.Lease(lease_id=lease.lease_id, session_id=lease.session.id,
                            runtime_id=lease.runtime_id)
    convert.session_to(lease.session, out.session)
    convert.each_into(out.pending_events, lease.pending_events, convert.event_to)
    convert.stamp(out.expires_at, lease.expires_at)
    return out


class RuntimeService(runtime_pb2_grpc.RuntimeServiceServicer):
    """Serves managedagents.v1.RuntimeService."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @errors.unary
    async def AcquireWork(self, request: runtime_pb2.AcquireWorkRequest,
                          context: grpc.aio.ServicerContext) -> runtime_pb2.AcquireWorkResponse:
        lease = await self.runtime.acquire(workspace_of(context), request.runtime_id,
                                           request.lease_seconds, request.wait_seconds)
        if lease is None:
            return runtime_pb2.AcquireWorkResponse()
        return runtime_pb2.AcquireWorkResponse(lease=lease_to(lease))

    @errors.unary
    async def RenewLease(self, request: runtime_pb2.RenewLeaseRequest,
                         context: grpc.aio.ServicerContext) -> runtime_pb2.Lease:
        lease = await self.runtime.renew(workspace_of(context), request.session_id,
                                         request.lease_id, request.lease_seconds)
        return lease_to(lease)

    @errors.unary
    async def AppendRuntimeEvents(self, request: runtime_pb2.AppendRuntimeEventsRequest,
                                  context: grpc.aio.ServicerContext
                                  ) -> runtime_pb2.AppendRuntimeEventsResponse:
        stored = await self.runtime.append(workspace_of(context), request.session_id,
                                           request.lease_id, incoming(list(request.events)),
                                           list(request.processed_event_ids))
        response = runtime_pb2.AppendRuntimeEventsResponse()
        convert.each_into(response.events, stored, convert.event_to)
        return response

    @errors.unary
    async def EndTurn(self, request: runtime_pb2.EndTurnRequest,
                      context: grpc.aio.ServicerContext) -> runtime_pb2.EndTurnResponse:
        reason = event_pb2.StopReason.Name(request.stop_reason)
        session = await self.runtime.end_turn(workspace_of(context), request.session_id,
                                              request.lease_id, reason)
        return runtime_pb2.EndTurnResponse(session=convert.session_to(session))

    @errors.unary
    async def TerminateSession(self, request: runtime_pb2.TerminateSessionRequest,
                               context: grpc.aio.ServicerContext
                               ) -> runtime_pb2.TerminateSessionResponse:
        session = await self.runtime.terminate(workspace_of(context), request.session_id,
                                               request.lease_id, request.reason)
        return runtime_pb2.TerminateSessionResponse(session=convert.session_to(session))

    @errors.unary
    async def ReleaseLease(self, request: runtime_pb2.ReleaseLeaseRequest,
                           context: grpc.aio.ServicerContext
                           ) -> runtime_pb2.ReleaseLeaseResponse:
        await self.runtime.release(workspace_of(context), request.session_id, request.lease_id)
        return runtime_pb2.ReleaseLeaseResponse()
