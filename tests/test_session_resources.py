"""A session's resources after creation: add, list, get, update a repository, remove."""

from __future__ import annotations

import logging

import grpc
from google.protobuf import field_mask_pb2
from managedagents.v1 import session_pb2 as s

from tests.helpers import create_session, expect_error, upload

TOKEN = "ghp_RESOURCE_SECRET"


def repo(**fields):
    fields.setdefault("url", "https://github.com/o/r")
    return s.SessionResource(github_repository=s.GitHubRepositoryResource(**fields))


def test_resources_of_a_session(server, caplog):
    caplog.set_level(logging.DEBUG)
    session = create_session(server)
    file = upload(server, b"content")
    added = server.sessions.AddSessionResource(s.AddSessionResourceRequest(
        session_id=session.id, resource=s.SessionResource(file=s.FileResource(
            file_id=file.id, mount_path="in/put.txt"))))
    assert added.id.startswith("sesrsc_") and added.file.path == "/data/in/put.txt"
    cloned = server.sessions.AddSessionResource(s.AddSessionResourceRequest(
        session_id=session.id, resource=repo(mount_path="/repo", authorization_token=TOKEN)))
    listed = server.sessions.ListSessionResources(
        s.ListSessionResourcesRequest(session_id=session.id)).resources
    assert [r.id for r in listed] == [added.id, cloned.id]
    got = server.sessions.GetSessionResource(s.GetSessionResourceRequest(
        session_id=session.id, resource_id=cloned.id))
    assert got.github_repository.mount_path == "/repo"
    changed = server.sessions.UpdateSessionResource(s.UpdateSessionResourceRequest(
        session_id=session.id, resource_id=cloned.id,
        resource=repo(authorization_token=TOKEN + "2", mount_path="/src"),
        update_mask=field_mask_pb2.FieldMask(paths=[
            "github_repository.authorization_token", "github_repository.mount_path"])))
    assert changed.github_repository.mount_path == "/src"
    errors = [expect_error(lambda: server.sessions.UpdateSessionResource(
        s.UpdateSessionResourceRequest(session_id=session.id, resource_id=added.id,
                                       resource=repo(authorization_token=TOKEN),
                                       update_mask=field_mask_pb2.FieldMask(paths=[
                                           "github_repository.authorization_token"]))),
        grpc.StatusCode.INVALID_ARGUMENT, "update_mask")]
    errors.append(expect_error(lambda: server.sessions.AddSessionResource(
        s.AddSessionResourceRequest(session_id=session.id, resource=repo(
            url="http://github.com/o/r", authorization_token=TOKEN))),
        grpc.StatusCode.INVALID_ARGUMENT, "resource.github_repository.url"))
    errors.append(expect_error(lambda: server.sessions.AddSessionResource(
        s.AddSessionResourceRequest(session_id=session.id, resource=s.SessionResource(
            file=s.FileResource(file_id=file.id, path="/data/in/put.txt")))),
        grpc.StatusCode.INVALID_ARGUMENT, "resource"))
    errors.append(expect_error(lambda: server.sessions.AddSessionResource(
        s.AddSessionResourceRequest(session_id=session.id, resource=s.SessionResource(
            file=s.FileResource(file_id="file_01JF3Z0000000000000000000")))),
        grpc.StatusCode.FAILED_PRECONDITION, reason="FILE_NOT_FOUND"))
    server.sessions.DeleteSessionResource(s.DeleteSessionResourceRequest(
        session_id=session.id, resource_id=added.id))
    expect_error(lambda: server.sessions.GetSessionResource(s.GetSessionResourceRequest(
        session_id=session.id, resource_id=added.id)), grpc.StatusCode.NOT_FOUND)
    after = server.sessions.GetSession(s.GetSessionRequest(session_id=session.id))
    assert [r.id for r in after.resources] == [cloned.id]
    responses = [added, cloned, *listed, got, changed, after]
    assert all(TOKEN not in str(r) for r in responses)
    assert all(TOKEN not in e.details() for e in errors)
    assert TOKEN not in caplog.text
    server.sessions.ArchiveSession(s.ArchiveSessionRequest(session_id=session.id))
    expect_error(lambda: server.sessions.AddSessionResource(s.AddSessionResourceRequest(
        session_id=session.id, resource=repo())), grpc.StatusCode.FAILED_PRECONDITION,
        reason="SESSION_ARCHIVED")
