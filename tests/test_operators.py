"""What operators rely on: health checking, and reflection (v1 and v1alpha) for grpcurl."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

EXPECTED = {"managedagents.v1.SessionService", "managedagents.v1.AgentService",
            "managedagents.v1.EnvironmentService", "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"}


def test_health_reports_serving_for_each_service(server):
    stub = health_pb2_grpc.HealthStub(server.channel)
    for name in ("", "managedagents.v1.SessionService", "managedagents.v1.AgentService",
                 "managedagents.v1.EnvironmentService"):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
    try:
        stub.Check(health_pb2.HealthCheckRequest(service="no.Such"))
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.NOT_FOUND
    else:
        raise AssertionError("an unknown service must be NOT_FOUND")


def test_a_method_the_service_does_not_have_is_unimplemented(server):
    """Every service is served by its generic handler (`server.app`): a path that names no
    method, or no service, is UNIMPLEMENTED, as gRPC clients expect."""
    for path in ("/managedagents.v1.SessionService/NoSuchMethod", "/no.Such/Service"):
        try:
            server.channel.unary_unary(path)(b"", timeout=10)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNIMPLEMENTED, path
        else:
            raise AssertionError(f"{path} must be UNIMPLEMENTED")


def _reflect(server, path):
    call = server.channel.stream_stream(
        path, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(
                    file_containing_symbol="managedagents.v1.SessionService")]
    return list(call(iter(requests)))


def test_reflection_v1alpha_and_v1_list_every_service(server):
    for path in ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                 "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"):
        listing, described = _reflect(server, path)
        names = {s.name for s in listing.list_services_response.service}
        assert names >= EXPECTED, path
        assert described.file_descriptor_response.file_descriptor_proto, path


def test_reflection_stub_describes_the_contract(server):
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)
    replies = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="managedagents.v1.Event")])))
    assert replies[0].file_descriptor_response.file_descriptor_proto
