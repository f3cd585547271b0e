"""FileService: uploads and downloads of every size around the limits, broken uploads, and
files as session resources."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from managedagents.v1 import file_pb2, file_pb2_grpc, session_pb2

from tests.harness import RunningServer
from tests.helpers import create_session, expect_error, unique, upload

FILE_LIMIT, SESSION_LIMIT = 300_000, 500_000


@pytest.fixture(scope="module")
def limited(new_database: Callable[[], str]) -> Iterator[RunningServer]:
    """A server with small size limits, so the tests can cross them."""
    running = RunningServer(database_url=new_database(), file_max_bytes=FILE_LIMIT,
                            session_files_max_bytes=SESSION_LIMIT).start()
    yield running
    running.stop()


def files(srv):
    return file_pb2_grpc.FileServiceStub(srv.channel)


def download(srv, file_id):
    return b"".join(part.chunk for part in files(srv).DownloadFile(
        file_pb2.DownloadFileRequest(file_id=file_id)))


def all_files(srv, **query):
    found, token = [], ""
    while True:
        page = files(srv).ListFiles(file_pb2.ListFilesRequest(page_size=100, page_token=token,
                                                              **query))
        found += list(page.files)
        token = page.next_page_token
        if not token:
            return found


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 700_001, FILE_LIMIT])
def test_upload_and_download_round_trip(limited, size):
    content = os.urandom(size)
    file = upload(limited, content, chunk=50_000, mime_type="application/pdf",
                  purpose=file_pb2.FILE_PURPOSE_SESSION_RESOURCE, metadata={"k": "v"}) \
        if size <= FILE_LIMIT else None
    if file is None:
        before = len(all_files(limited, include_deleted=True))
        expect_error(lambda: upload(limited, content, chunk=50_000),
                     grpc.StatusCode.RESOURCE_EXHAUSTED, reason="FILE_TOO_LARGE")
        assert len(all_files(limited, include_deleted=True)) == before  # nothing kept
        return
    assert file.id.startswith("file_") and file.type == "file"
    assert (file.size_bytes, file.sha256) == (size, hashlib.sha256(content).hexdigest())
    assert file.status == file_pb2.FILE_STATUS_READY
    assert file.purpose == file_pb2.FILE_PURPOSE_SESSION_RESOURCE
    assert dict(file.metadata) == {"k": "v"} and file.mime_type == "application/pdf"
    assert download(limited, file.id) == content
    assert files(limited).GetFile(file_pb2.GetFileRequest(file_id=file.id)) == file


def test_one_byte_over_the_limit_is_refused(limited):
    expect_error(lambda: upload(limited, b"x" * (FILE_LIMIT + 1), chunk=100_000),
                 grpc.StatusCode.RESOURCE_EXHAUSTED, reason="FILE_TOO_LARGE")


def test_a_session_holds_at_most_its_limit(limited):
    session = create_session(limited)
    first = upload(limited, b"a" * 300_000, session_id=session.id)
    assert first.session_id == session.id
    upload(limited, b"b" * 200_000, session_id=session.id)  # exactly the limit
    expect_error(lambda: upload(limited, b"c", session_id=session.id),
                 grpc.StatusCode.RESOURCE_EXHAUSTED, reason="SESSION_FILES_TOO_LARGE")
    held = all_files(limited, session_id=session.id)
    assert sorted(f.size_bytes for f in held) == [200_000, 300_000]


@pytest.mark.parametrize("pause", [0, 0.3])
def test_a_broken_upload_leaves_no_file(limited, pause):
    """Broken off at once, or after a pause in which the server has seen every message
    sent (gRPC then ends the request stream as if the client had finished)."""
    name = unique("broken")

    def parts():
        yield file_pb2.UploadFileRequest(metadata=file_pb2.UploadFileMetadata(filename=name))
        yield file_pb2.UploadFileRequest(chunk=b"x" * 100_000)
        time.sleep(pause)
        raise ConnectionError("the client went away")
    with pytest.raises(grpc.RpcError):
        files(limited).UploadFile(parts())
    deadline = 50
    while deadline and any(f.filename == name for f in all_files(limited, include_deleted=True)):
        deadline -= 1
        time.sleep(0.1)
    assert [(f.status, f.size_bytes) for f in all_files(limited, include_deleted=True)
            if f.filename == name] == []


def test_upload_validation(server):
    def meta(**fields):
        return file_pb2.UploadFileMetadata(**fields)
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    expect_error(lambda: files(server).UploadFile(iter([file_pb2.UploadFileRequest(
        chunk=b"x")])), invalid, "metadata")
    expect_error(lambda: files(server).UploadFile(iter([])), invalid, "metadata")
    expect_error(lambda: files(server).UploadFile(iter([
        file_pb2.UploadFileRequest(metadata=meta(filename="a")),
        file_pb2.UploadFileRequest(metadata=meta(filename="b"))])), invalid, "metadata")
    expect_error(lambda: upload(server, b"x", filename=""), invalid, "metadata.filename")
    expect_error(lambda: upload(server, b"x", filename="a/b"), invalid, "metadata.filename")
    expect_error(lambda: upload(server, b"x", purpose=99), invalid, "metadata.purpose")
    expect_error(lambda: upload(server, b"x", metadata={str(i): "" for i in range(17)}),
                 invalid, "metadata.metadata")
    expect_error(lambda: upload(server, b"x", session_id="sess_01JF3Z0000000000000000000"),
                 grpc.StatusCode.NOT_FOUND)


def test_delete_list_and_not_found(server):
    file = upload(server, b"hello", purpose=file_pb2.FILE_PURPOSE_TOOL_OUTPUT)
    tool_outputs = all_files(server, purpose=file_pb2.FILE_PURPOSE_TOOL_OUTPUT)
    assert file.id in [f.id for f in tool_outputs]
    assert all(f.purpose == file_pb2.FILE_PURPOSE_TOOL_OUTPUT for f in tool_outputs)
    deleted = files(server).DeleteFile(file_pb2.DeleteFileRequest(file_id=file.id))
    assert deleted.status == file_pb2.FILE_STATUS_DELETED
    assert file.id not in [f.id for f in all_files(server)]
    assert file.id in [f.id for f in all_files(server, include_deleted=True)]
    expect_error(lambda: download(server, file.id), grpc.StatusCode.FAILED_PRECONDITION,
                 reason="FILE_NOT_READY")
    missing = "file_01JF3Z0000000000000000000"
    for call in (lambda: files(server).GetFile(file_pb2.GetFileRequest(file_id=missing)),
                 lambda: download(server, missing),
                 lambda: files(server).DeleteFile(file_pb2.DeleteFileRequest(file_id=missing))):
        expect_error(call, grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: files(server).ListFiles(file_pb2.ListFilesRequest(purpose=99)),
                 grpc.StatusCode.INVALID_ARGUMENT, field="purpose")


def test_session_file_resources_must_be_ready(server):
    ready = upload(server, b"data")
    gone = upload(server, b"data")
    files(server).DeleteFile(file_pb2.DeleteFileRequest(file_id=gone.id))

    def with_file(file_id):
        return lambda: create_session(server, resources=[session_pb2.SessionResource(
            file=session_pb2.FileResource(file_id=file_id))])
    assert with_file(ready.id)().resources[0].file.file_id == ready.id
    error = expect_error(with_file(gone.id), grpc.StatusCode.FAILED_PRECONDITION,
                         reason="FILE_NOT_READY")
    assert gone.id in error.details() and "resources[0].file.file_id" in error.details()
    expect_error(with_file("file_01JF3Z0000000000000000000"),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="FILE_NOT_FOUND")


def test_a_download_never_ends_cleanly_short_of_its_file(limited):
    content = os.urandom(290_000)
    file = upload(limited, content)
    stream = files(limited).DownloadFile(file_pb2.DownloadFileRequest(file_id=file.id))
    received = next(stream).chunk
    files(limited).DeleteFile(file_pb2.DeleteFileRequest(file_id=file.id))
    try:
        for part in stream:
            received += part.chunk
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.ABORTED  # deleted midway, and said so
    else:
        assert received == content  # or it had all been read before the delete


def test_concurrent_uploads_never_exceed_the_session_limit(limited):
    session = create_session(limited)
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda _: _try_upload(limited, session.id), range(24)))
    held = sum(f.size_bytes for f in all_files(limited, session_id=session.id))
    assert held <= SESSION_LIMIT
    assert outcomes.count("ok") == held // 30_000 and "other" not in outcomes


def _try_upload(srv, session_id):
    try:
        upload(srv, b"z" * 30_000, session_id=session_id)
        return "ok"
    except grpc.RpcError as error:
        return "full" if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else "other"
