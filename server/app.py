"""Builds the grpc.aio server: servicers, health, reflection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from managedagents.v1 import (
    agent_pb2,
    agent_pb2_grpc,
    environment_pb2,
    environment_pb2_grpc,
    file_pb2,
    file_pb2_grpc,
    memory_store_pb2,
    memory_store_pb2_grpc,
    runtime_pb2,
    runtime_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
    vault_pb2,
    vault_pb2_grpc,
)

from server import accept_loops, reflection
from server.accept_loops import AcceptLoops
from server.api.agents import AgentService
from server.api.environments import EnvironmentService
from server.api.files import FileService
from server.api.holders import MemoryStoreService, VaultService
from server.api.runtime import RuntimeService
from server.api.sessions import SessionService
from server.config import Settings
from server.domain import ids
from server.domain.agents import Agents
from server.domain.environments import Environments
from server.domain.events import Events
from server.domain.files import Files, Limits
from server.domain.holders import Holders
from server.domain.memories import Memories
from server.domain.runtime import Runtime
from server.domain.session_resources import SessionResources
from server.domain.sessions import Sessions
from server.domain.vaults import Credentials
from server.store import Database, Store
from server.store.referenced import ReferencedStore
from server.streaming.hub import Hub
from server.streaming.pg_listener import PostgresListener
from server.streaming.poller import poll_heads

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    agent_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name,
    environment_pb2.DESCRIPTOR.services_by_name["EnvironmentService"].full_name,
    runtime_pb2.DESCRIPTOR.services_by_name["RuntimeService"].full_name,
    file_pb2.DESCRIPTOR.services_by_name["FileService"].full_name,
    vault_pb2.DESCRIPTOR.services_by_name["VaultService"].full_name,
    memory_store_pb2.DESCRIPTOR.services_by_name["MemoryStoreService"].full_name,
)


@dataclass
class Service:
    """A built server and what it owns, so a caller can start, stop and inspect it."""

    server: grpc.aio.Server
    port: int
    database: Database
    hub: Hub
    # grpcio-health-checking's stubs do not declare its `aio` submodule.
    health: health.aio.HealthServicer  # type: ignore[name-defined]
    runtime: Runtime
    store: Store
    lease_sweep_seconds: float
    head_poll_seconds: float
    accepts: AcceptLoops | None = None
    _sweeper: asyncio.Task[None] | None = None
    _poller: asyncio.Task[None] | None = None
    _listener: PostgresListener | None = None

    async def start(self) -> None:
        """Starts serving; the sweeper that reschedules turns whose runtime went away; and on
        PostgreSQL the listener for other replicas' commits."""
        if not self.database.is_sqlite:
            self._listener = PostgresListener(self.database.url, self.hub)
            self._listener.start()
        await self.server.start()
        if self.accepts is not None:
            self.accepts.start(self.server)
        self._sweeper = asyncio.create_task(self._sweep_expired_leases())
        self._poller = asyncio.create_task(poll_heads(self.store, self.hub,
                                                      self.head_poll_seconds))

    async def _sweep_expired_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_sweep_seconds)
            try:
                await self.runtime.expire_leases()
            except Exception:  # noqa: BLE001 - a storage outage must not stop the sweeper
                log.warning("lease sweep failed; retrying", exc_info=True)

    async def stop(self, grace: float | None = 5.0) -> None:
        for task in (self._sweeper, self._poller):
            if task is not None:
                task.cancel()
        for name in (*SERVICE_NAMES, ""):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)
        if self.accepts is not None:
            await self.accepts.stop()
        if self._listener is not None:
            await self._listener.stop()
        await self.database.aclose()


class _Methods:
    """Where the generated `add_…_to_server` functions register a service.

    With accept loops (server/accept_loops.py), its methods are registered with core and
    those loops accept their calls. Without them (a grpcio they were not tested with), it
    is a generic handler only, not also registered methods. Measured with h2load on a bare
    server holding seven of these services, grpc accepting every call itself: each call
    cost the event loop's thread 174-178 µs with registered methods and 140-160 µs without,
    because grpc's loop accepts each registered call through an `asyncio.wait` over one
    accept of every method (grpc/grpc#43461, open). With the accept loops, grpc's loop
    takes only a few calls of each method, so that cost all but goes.

    The handlers are adapted from those the generated code hands over, so that a method
    may also return (or a stream yield) messages serialized already: a stream event is
    serialized once for every stream that sends it (`convert.stream_item`), and a listed
    session once until it changes (`convert.session_list`)."""

    def __init__(self, server: grpc.aio.Server, accepts: AcceptLoops | None) -> None:
        self._server = server
        self._accepts = accepts
        self.services: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass  # built from the method handlers the same call hands to the method below

    def add_registered_method_handlers(self, service: str,
                                       handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        adapted = {name: handler._replace(  # type: ignore[attr-defined]
                             response_serializer=_bytes_or(handler.response_serializer))
                   for name, handler in handlers.items()}
        if self._accepts is not None:
            self._accepts.register(self._server, service, adapted)
        else:
            self._server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service, adapted),))
        self.services.append(service)


def _bytes_or(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes]:
    """A response serializer that sends bytes as they are and serializes anything else."""
    def serializer(message: Any) -> bytes:
        if type(message) is bytes or serialize is None:
            return message
        return serialize(message)
    return serializer


async def create_server(settings: Settings) -> Service:
    """Builds the server, bound to `settings.listen` (port 0 picks a free one); not started."""
    database = Database(settings.database_url, pool_size=settings.db_pool_size,
                        statement_timeout_ms=settings.db_statement_timeout_ms,
                        connect_timeout_s=settings.db_connect_timeout_seconds)
    store = Store(database)
    hub = Hub(capacity=settings.stream_buffer_events)
    # No interceptors and no maximum_concurrent_rpcs: the accept loops would not apply them.
    server = grpc.aio.server(options=[
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ])
    accepts = AcceptLoops() if accept_loops.supported() else None
    if accepts is None:
        log.info("grpcio %s: its own loop accepts every call (accept loops not tested with "
                 "it)", grpc.__version__)
    handlers = _Methods(server, accepts)
    session_pb2_grpc.add_SessionServiceServicer_to_server(
        SessionService(Sessions(store, hub), Events(store, hub, settings.heartbeat_seconds),
                       SessionResources(store)), handlers)
    referenced = ReferencedStore(database)
    files = Files(referenced, store, Limits(settings.file_max_bytes,
                                            settings.session_files_max_bytes))
    file_pb2_grpc.add_FileServiceServicer_to_server(FileService(files), handlers)
    vaults = Holders(referenced, "vault", ids.VAULT)
    vault_pb2_grpc.add_VaultServiceServicer_to_server(
        VaultService(vaults, Credentials(vaults)), handlers)
    stores = Holders(referenced, "memory store", ids.MEMORY_STORE)
    memory_store_pb2_grpc.add_MemoryStoreServiceServicer_to_server(
        MemoryStoreService(stores, Memories(stores)), handlers)
    agent_pb2_grpc.add_AgentServiceServicer_to_server(AgentService(Agents(store)), handlers)
    environment_pb2_grpc.add_EnvironmentServiceServicer_to_server(
        EnvironmentService(Environments(store)), handlers)
    runtime = Runtime(store, hub)
    runtime_pb2_grpc.add_RuntimeServiceServicer_to_server(RuntimeService(runtime), handlers)

    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, handlers)
    for name in (*SERVICE_NAMES, ""):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    served = (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
    if sorted(handlers.services) != sorted(served):  # generated code of another shape
        raise RuntimeError(f"services registered {handlers.services}, expected {served}")
    reflection.enable(server, served)
    port = server.add_insecure_port(settings.listen)
    if port == 0:
        raise RuntimeError(f"cannot listen on {settings.listen}")
    return Service(server, port, database, hub, health_servicer, runtime, store,
                   settings.lease_sweep_seconds, settings.head_poll_seconds, accepts)
