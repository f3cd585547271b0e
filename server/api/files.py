"""FileService: protobuf <-> domain for files; uploads and downloads stream in chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from managedagents.v1 import common_pb2, file_pb2, file_pb2_grpc

from server import errors
from server.api import convert
from server.api.workspace import workspace_of
from server.domain.errors import InvalidArgument
from server.domain.files import Files
from server.domain.models import File


def purpose_name(value: int) -> str:
    """`FILE_PURPOSE_TOOL_OUTPUT` -> `tool_output`; unspecified -> `user_upload`."""
    if value == file_pb2.FILE_PURPOSE_UNSPECIFIED:
        return "user_upload"
    try:
        return file_pb2.FilePurpose.Name(value).removeprefix("FILE_PURPOSE_").lower()
    except ValueError:
        return f"#{value}"


def file_to(file: File) -> file_pb2.File:
    out = file_pb2.File(
        id=file.id, type="file", filename=file.filename, size_bytes=file.size_bytes,
        mime_type=file.mime_type, sha256=file.sha256, metadata=file.metadata,
        session_id=file.session_id or "",
        purpose="FILE_PURPOSE_" + file.purpose.upper(),
        status="FILE_STATUS_" + file.status.upper())
    convert.stamp(out.created_at, file.created_at)
    convert.stamp(out.updated_at, file.updated_at)
    return out


class FileService(file_pb2_grpc.FileServiceServicer):
    """Serves managedagents.v1.FileService."""

    def __init__(self, files: Files) -> None:
        self.files = files

    @errors.unary
    async def UploadFile(self, request_iterator: AsyncIterator[file_pb2.UploadFileRequest],
                         context: grpc.aio.ServicerContext) -> file_pb2.File:
        first = await anext(request_iterator, None)
        if first is None or not first.HasField("metadata"):
            raise InvalidArgument.one("metadata", "the first message must carry the file's "
                                                  "metadata; the content follows")
        errors.screen(first)
        meta = first.metadata
        file = File(id="", filename=meta.filename, mime_type=meta.mime_type,
                    purpose=purpose_name(meta.purpose), metadata=dict(meta.metadata),
                    session_id=meta.session_id or None)

        async def chunks() -> AsyncIterator[bytes]:
            async for part in request_iterator:
                if not part.HasField("chunk"):
                    raise InvalidArgument.one("metadata", "only the first message carries "
                                                          "metadata")
                yield part.chunk

        ws = workspace_of(context)
        stored = await self.files.upload(ws, file, chunks())

        # gRPC ends the request stream the same way for a client that finished and for one
        # that broke off; only the call's outcome tells them apart. A broken-off upload
        # must not leave a ready file behind, even one that looked complete.
        def outcome(ended: grpc.aio.ServicerContext) -> None:
            if ended.cancelled():
                asyncio.ensure_future(self.files.discard(ws, stored.id))
        # grpc-stubs declares the callback as a class; gRPC takes any callable.
        context.add_done_callback(outcome)  # type: ignore[arg-type]
        return file_to(stored)

    @errors.unary
    async def GetFile(self, request: file_pb2.GetFileRequest,
                      context: grpc.aio.ServicerContext) -> file_pb2.File:
        return file_to(await self.files.get(workspace_of(context), request.file_id))

    @errors.unary
    async def ListFiles(self, request: file_pb2.ListFilesRequest,
                        context: grpc.aio.ServicerContext) -> file_pb2.ListFilesResponse:
        purpose = purpose_name(request.purpose) if request.purpose else ""
        page = await self.files.list_page(
            workspace_of(context), request.page_size, request.page_token, purpose,
            request.session_id, request.include_deleted,
            request.order != common_pb2.SORT_ORDER_ASC)
        return file_pb2.ListFilesResponse(files=[file_to(f) for f in page.items],
                                          next_page_token=page.next_page_token)

    @errors.streaming
    async def DownloadFile(self, request: file_pb2.DownloadFileRequest,
                           context: grpc.aio.ServicerContext
                           ) -> AsyncIterator[file_pb2.DownloadFileResponse]:
        async for chunk in self.files.download(workspace_of(context), request.file_id):
            yield file_pb2.DownloadFileResponse(chunk=chunk)

    @errors.unary
    async def DeleteFile(self, request: file_pb2.DeleteFileRequest,
                         context: grpc.aio.ServicerContext) -> file_pb2.File:
        return file_to(await self.files.delete(workspace_of(context), request.file_id))
