"""Server reflection, v1alpha and v1, so grpcurl and other tools work with either."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"


def enable(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    """Serves reflection for `service_names` under both protocol versions.

    grpcio-reflection ships only v1alpha. grpc.reflection.v1 is the same protocol with the same
    messages, field for field, under a new package name, so the v1alpha servicer answers v1
    calls too once it is registered under the v1 method path. Both are generic handlers, like
    every service here (see `server.app`): no registered methods.
    """
    names = (*service_names, reflection.SERVICE_NAME)
    # grpcio-reflection exports its asyncio servicer as `reflection.aio` without declaring it.
    servicer = reflection.aio.ReflectionServicer(names)  # type: ignore[attr-defined]
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)
    server.add_generic_rpc_handlers(tuple(
        grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": method})
        for name in (reflection.SERVICE_NAME, V1_SERVICE_NAME)))
