"""SessionService: protobuf <-> domain for sessions and their event logs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from google.protobuf import timestamp_pb2
from managedagents.v1 import common_pb2, session_pb2, session_pb2_grpc

from server import errors
from server.api import convert
from server.api.runtime import incoming
from server.api.session_resources import SessionResourceMethods
from server.api.workspace import workspace_of
from server.domain.events import EventQuery, Events
from server.domain.models import Agent, Session
from server.domain.session_resources import SessionResources
from server.domain.sessions import NewSession, SessionQuery, Sessions
from server.streaming.follow import Heartbeat


def _micros_if_set(request: object, name: str) -> int | None:
    if not request.HasField(name):  # type: ignore[attr-defined]
        return None
    ts: timestamp_pb2.Timestamp = getattr(request, name)
    return convert.micros(ts, name)


class SessionService(SessionResourceMethods, session_pb2_grpc.SessionServiceServicer):
    """Serves managedagents.v1.SessionService."""

    def __init__(self, sessions: Sessions, events: Events,
                 resources: SessionResources) -> None:
        self.sessions = sessions
        self.events = events
        self.resources = resources

    @errors.unary
    async def CreateSession(self, request: session_pb2.CreateSessionRequest,
                            context: grpc.aio.ServicerContext) -> session_pb2.Session:
        new = NewSession(agent_id=request.agent_id, title=request.title,
                         metadata=dict(request.metadata),
                         resources=[convert.to_dict(r) for r in request.resources],
                         vault_ids=list(request.vault_ids),
                         memory_store_ids=list(request.memory_store_ids))
        if request.HasField("agent"):
            new.agent_id, new.agent_version = request.agent.id, request.agent.version
            new.agent_type = request.agent.type
            new.agent_field = "agent.id"
        if request.HasField("environment"):
            new.inline_environment = convert.environment_from(request.environment)
        else:
            new.environment_id = request.environment_id
        session = await self.sessions.create(workspace_of(context), new,
                                             convert.request_key("CreateSession", request))
        return convert.session_to(session)

    @errors.unary
    async def GetSession(self, request: session_pb2.GetSessionRequest,
                         context: grpc.aio.ServicerContext) -> session_pb2.Session:
        session = await self.sessions.get(workspace_of(context), request.session_id)
        return convert.session_to(session)

    @errors.unary
    async def ListSessions(self, request: session_pb2.ListSessionsRequest,
                           context: grpc.aio.ServicerContext
                           ) -> bytes:  # a serialized ListSessionsResponse
        query = SessionQuery(
            agent_id=request.agent_id, agent_version=request.agent_version,
            statuses=[convert.STATUS_NAME.get(s, f"#{s}") for s in request.statuses],
            include_archived=request.include_archived,
            created_after=_micros_if_set(request, "created_after"),
            created_before=_micros_if_set(request, "created_before"),
            descending=request.order != common_pb2.SORT_ORDER_ASC)
        page = await self.sessions.list_page(workspace_of(context), request.page_size,
                                        request.page_token, query)
        return convert.session_list(page.items, page.next_page_token)

    @errors.unary
    async def UpdateSession(self, request: session_pb2.UpdateSessionRequest,
                            context: grpc.aio.ServicerContext) -> session_pb2.Session:
        changes = Session(id="", agent=Agent(id="", version=0, name="", model=""),
                          environment_id="", title=request.session.title,
                          metadata=dict(request.session.metadata))
        session = await self.sessions.update(workspace_of(context), request.session_id,
                                             changes, list(request.update_mask.paths))
        return convert.session_to(session)

    @errors.unary
    async def ArchiveSession(self, request: session_pb2.ArchiveSessionRequest,
                             context: grpc.aio.ServicerContext) -> session_pb2.Session:
        session = await self.sessions.archive(workspace_of(context), request.session_id)
        return convert.session_to(session)

    @errors.unary
    async def DeleteSession(self, request: session_pb2.DeleteSessionRequest,
                            context: grpc.aio.ServicerContext
                            ) -> session_pb2.DeleteSessionResponse:
        await self.sessions.delete(workspace_of(context), request.session_id)
        return session_pb2.DeleteSessionResponse(id=request.session_id, type="session_deleted")

    @errors.unary
    async def SendEvents(self, request: session_pb2.SendEventsRequest,
                         context: grpc.aio.ServicerContext) -> session_pb2.SendEventsResponse:
        batch = incoming(list(request.events))
        stored = await self.events.send(
            workspace_of(context), request.session_id, batch,
            convert.request_key(f"SendEvents/{request.session_id}", request))
        response = session_pb2.SendEventsResponse()
        convert.each_into(response.events, stored, convert.event_to)
        return response

    @errors.unary
    async def ListEvents(self, request: session_pb2.ListEventsRequest,
                         context: grpc.aio.ServicerContext) -> session_pb2.ListEventsResponse:
        query = EventQuery(
            types=list(request.types),
            after_sequence=(request.after_sequence if request.HasField("after_sequence")
                            else None),
            before_sequence=(request.before_sequence if request.HasField("before_sequence")
                             else None),
            after_event_id=request.after_event_id, before_event_id=request.before_event_id,
            descending=request.order == common_pb2.SORT_ORDER_DESC)
        page = await self.events.list_page(workspace_of(context), request.session_id,
                                      request.page_size, request.page_token, query)
        response = session_pb2.ListEventsResponse(next_page_token=page.next_page_token)
        convert.each_into(response.events, page.items, convert.event_to)
        return response

    @errors.streaming
    async def StreamEvents(self, request: session_pb2.StreamEventsRequest,
                           context: grpc.aio.ServicerContext
                           ) -> AsyncIterator[session_pb2.StreamEventsResponse | bytes]:
        after = request.after_sequence if request.HasField("after_sequence") else None
        runs = request.max_events_per_message > 0
        # Events leave serialized (the same bytes for every stream of the session): the
        # method's serializer passes bytes through (server/app.py).
        async for item in self.events.stream(workspace_of(context), request.session_id, after,
                                             request.after_event_id,
                                             request.max_events_per_message):
            if isinstance(item, Heartbeat):
                beat = session_pb2.Heartbeat(last_sequence=item.last_sequence)
                beat.time.GetCurrentTime()
                yield session_pb2.StreamEventsResponse(heartbeat=beat)
            elif runs:
                for message in convert.stream_runs(item):
                    yield message
            else:
                for event in item:
                    yield convert.stream_item(event)
