"""EnvironmentService: config validation, update, archive, delete while in use."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2
from managedagents.v1 import environment_pb2 as env_pb2

from tests.helpers import create_environment, create_session, expect_error

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _config(**networking):
    return env_pb2.EnvironmentConfig(
        type=env_pb2.ENVIRONMENT_TYPE_SELF_HOSTED,
        networking=env_pb2.Networking(**networking),
        packages=env_pb2.Packages(pip=["requests==2.32.3"], apt=["git"]),
        setup_script="echo ready")


def test_create_get_list(server):
    env = create_environment(server, config=_config(type=env_pb2.NETWORKING_TYPE_LIMITED,
                                                    allowed_hosts=["api.github.com"]),
                             metadata={"a": "b"}, description="d")
    assert env.id.startswith("env_") and env.type == "environment"
    assert env.config.networking.allowed_hosts == ["api.github.com"]
    assert env.config.packages.pip == ["requests==2.32.3"]
    got = server.environments.GetEnvironment(env_pb2.GetEnvironmentRequest(environment_id=env.id))
    assert got == env
    listed = server.environments.ListEnvironments(env_pb2.ListEnvironmentsRequest(page_size=5))
    assert listed.environments[0].id == env.id


def test_defaults_fill_in(server):
    env = create_environment(server, config=env_pb2.EnvironmentConfig())
    assert env.config.type == env_pb2.ENVIRONMENT_TYPE_CLOUD
    assert env.config.networking.type == env_pb2.NETWORKING_TYPE_UNRESTRICTED


def test_config_validation(server):
    def create(config=None, **fields):
        fields.setdefault("name", "n")
        request = env_pb2.CreateEnvironmentRequest(**fields)
        if config is not None:
            request.config.CopyFrom(config)
        return lambda: server.environments.CreateEnvironment(request)
    expect_error(create(), INVALID, "config")
    expect_error(create(env_pb2.EnvironmentConfig(), name=""), INVALID, "name")
    expect_error(create(_config(allowed_hosts=["x.com"])), INVALID,
                 "config.networking.allowed_hosts")
    expect_error(create(_config(type=env_pb2.NETWORKING_TYPE_LIMITED,
                                allowed_hosts=["bad host"])), INVALID,
                 "config.networking.allowed_hosts[0]")
    expect_error(create(env_pb2.EnvironmentConfig(packages=env_pb2.Packages(npm=[" "]))),
                 INVALID, "config.packages.npm[0]")
    expect_error(create(env_pb2.EnvironmentConfig(setup_script="x" * 65537)), INVALID,
                 "config.setup_script")
    expect_error(create(env_pb2.EnvironmentConfig(), metadata={"k": "v" * 513}), INVALID,
                 "metadata[k]")


def test_update_and_archive(server):
    env = create_environment(server)
    updated = server.environments.UpdateEnvironment(env_pb2.UpdateEnvironmentRequest(
        environment_id=env.id, environment=env_pb2.Environment(name="renamed"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    assert updated.name == "renamed" and updated.config == env.config
    expect_error(lambda: server.environments.UpdateEnvironment(env_pb2.UpdateEnvironmentRequest(
        environment_id=env.id, environment=env_pb2.Environment(),
        update_mask=field_mask_pb2.FieldMask(paths=["config"]))), INVALID, "environment.config")
    archived = server.environments.ArchiveEnvironment(
        env_pb2.ArchiveEnvironmentRequest(environment_id=env.id))
    assert archived.HasField("archived_at")
    ids = [e.id for e in server.environments.ListEnvironments(
        env_pb2.ListEnvironmentsRequest(page_size=100)).environments]
    assert env.id not in ids


def test_delete_refused_while_a_session_uses_it(server):
    env = create_environment(server)
    create_session(server, env=env)
    expect_error(lambda: server.environments.DeleteEnvironment(
        env_pb2.DeleteEnvironmentRequest(environment_id=env.id)),
        grpc.StatusCode.FAILED_PRECONDITION, reason="ENVIRONMENT_IN_USE")
    unused = create_environment(server)
    reply = server.environments.DeleteEnvironment(
        env_pb2.DeleteEnvironmentRequest(environment_id=unused.id))
    assert reply.id == unused.id
    expect_error(lambda: server.environments.GetEnvironment(
        env_pb2.GetEnvironmentRequest(environment_id=unused.id)), grpc.StatusCode.NOT_FOUND)


def test_not_found(server):
    missing = "env_01JF3Z0000000000000000000"
    calls = [(server.environments.GetEnvironment, env_pb2.GetEnvironmentRequest),
             (server.environments.ArchiveEnvironment, env_pb2.ArchiveEnvironmentRequest),
             (server.environments.DeleteEnvironment, env_pb2.DeleteEnvironmentRequest)]
    for call, request_type in calls:
        expect_error(lambda c=call, r=request_type: c(r(environment_id=missing)),
                     grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: server.environments.UpdateEnvironment(env_pb2.UpdateEnvironmentRequest(
        environment_id=missing, update_mask=field_mask_pb2.FieldMask(paths=["name"]),
        environment=env_pb2.Environment(name="x"))), grpc.StatusCode.NOT_FOUND)
