"""File use cases: uploads kept within their size limits, downloads, deletion."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from server.domain import ids, paging
from server.domain.clock import now_us
from server.domain.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from server.domain.models import File, Page
from server.domain.updates import keyset_page
from server.domain.validation import Violations, page_size, require_id
from server.store import Store
from server.store.referenced import ReferencedStore

CHUNK_BYTES = 256 * 1024  # content is stored, and streamed back, in pieces of this size
PURPOSES = frozenset({"user_upload", "tool_output", "session_resource", "agent_output"})


@dataclass
class Limits:
    """Size limits of file content: per file, and per session (its ready files together)."""

    file_bytes: int = 50 * 2**20
    session_bytes: int = 500 * 2**20


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB ({n} bytes)"


class Files:
    """Upload, read, list, download and delete files."""

    def __init__(self, store: ReferencedStore, sessions: Store, limits: Limits) -> None:
        self.store = store
        self.sessions = sessions
        self.limits = limits

    async def upload(self, ws: str, file: File, chunks: AsyncIterator[bytes]) -> File:
        """Stores the content as it arrives, never more than a chunk in memory. Whatever
        goes wrong (a limit, a broken-off stream, storage), nothing of the file is kept."""
        v = Violations()
        if v.required("metadata.filename", file.filename):
            v.max_length("metadata.filename", file.filename, 255)
            if "/" in file.filename:
                v.add("metadata.filename", "must be a name, without '/'")
        v.max_length("metadata.mime_type", file.mime_type, 255)
        if file.purpose not in PURPOSES:
            v.add("metadata.purpose", "is not a file purpose")
        v.metadata("metadata.metadata", file.metadata)
        if file.session_id:
            require_id("metadata.session_id", file.session_id, ids.SESSION)
        v.raise_if_any()
        if file.session_id and await self.sessions.get_session(ws, file.session_id) is None:
            raise NotFound("session", file.session_id)
        now = now_us()
        file.id, file.status, file.created_at, file.updated_at = (
            ids.new_id(ids.FILE), "uploading", now, now)
        file.mime_type = file.mime_type or "application/octet-stream"
        try:
            # Inside: a client can break off while the row is written, too.
            await self.store.create_file(ws, file)
            await self._receive(file, chunks)
            await self.store.finish_file(ws, file, self._admit(file))
        except BaseException:
            # Shielded: a client that broke off cancels this call, not the clean-up.
            await asyncio.shield(self.discard(ws, file.id))
            raise
        return file

    async def discard(self, ws: str, file_id: str) -> None:
        """Removes a file and its content entirely: an upload that did not complete."""
        await self.store.drop_file(ws, file_id)

    async def _receive(self, file: File, chunks: AsyncIterator[bytes]) -> None:
        digest, pending, seq, size = hashlib.sha256(), bytearray(), 0, 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.limits.file_bytes:
                raise ResourceExhausted(f"the file is larger than the limit of "
                                        f"{_mib(self.limits.file_bytes)}; nothing was kept",
                                        "FILE_TOO_LARGE")
            digest.update(chunk)
            pending += chunk
            while len(pending) >= CHUNK_BYTES:
                await self.store.add_chunk(file.id, seq, bytes(pending[:CHUNK_BYTES]))
                del pending[:CHUNK_BYTES]
                seq += 1
        if pending:
            await self.store.add_chunk(file.id, seq, bytes(pending))
        file.status, file.size_bytes, file.sha256 = "ready", size, digest.hexdigest()
        file.updated_at = now_us()

    def _admit(self, file: File) -> Callable[[int], None]:
        def admit(held: int) -> None:
            if held + file.size_bytes > self.limits.session_bytes:
                raise ResourceExhausted(
                    f"session {file.session_id!r} would hold {held + file.size_bytes} bytes of "
                    f"files, over its limit of {_mib(self.limits.session_bytes)}; nothing "
                    "was kept", "SESSION_FILES_TOO_LARGE")
        return admit

    async def get(self, ws: str, file_id: str) -> File:
        require_id("file_id", file_id, ids.FILE)
        file = await self.store.get_file(ws, file_id)
        if file is None:
            raise NotFound("file", file_id)
        return file

    async def download(self, ws: str, file_id: str) -> AsyncIterator[bytes]:
        file = await self.get(ws, file_id)
        if file.status != "ready":
            raise FailedPrecondition(f"file {file_id!r} is {file.status}, not ready",
                                     "FILE_NOT_READY", file_id)
        for seq in range(-(-file.size_bytes // CHUNK_BYTES)):  # every stored piece, in order
            chunk = await self.store.chunk(file_id, seq)
            if chunk is None:
                raise Aborted(f"file {file_id!r} was deleted during the download",
                              "FILE_DELETED")
            yield chunk

    async def list_page(self, ws: str, size: int, token: str, purpose: str, session_id: str,
                        include_deleted: bool, descending: bool) -> Page:
        size = page_size("page_size", size)
        if purpose and purpose not in PURPOSES:  # a filter that could match nothing
            raise InvalidArgument.one("purpose", f"{purpose!r} is not a file purpose")
        if session_id:
            require_id("session_id", session_id, ids.SESSION)
        query = {"purpose": purpose, "session_id": session_id,
                 "include_deleted": include_deleted, "descending": descending}
        fingerprint = paging.query_fingerprint(kind="files", **query)

        async def fetch(after: list[object] | None, limit: int) -> list[File]:
            return await self.store.list_files(ws, after=after, limit=limit, **query)

        return await keyset_page(fetch, fingerprint, token, size,
                                 lambda f: [f.created_at, f.id], (int, str))

    async def delete(self, ws: str, file_id: str) -> File:
        require_id("file_id", file_id, ids.FILE)

        def change(current: File) -> File:
            current.status, current.updated_at = "deleted", now_us()
            return current

        file = await self.store.delete_file(ws, file_id, change)
        if file is None:
            raise NotFound("file", file_id)
        return file
