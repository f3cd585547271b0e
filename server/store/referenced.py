"""The storage interface for what sessions refer to: files and their content, vaults and
their credentials, memory stores and their memories. One transaction per method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, exc

from server.domain.errors import AlreadyExists, NotFound
from server.domain.models import Credential, File, Holder, Memory
from server.store import credentials, files, holders, memories, request_ids, sessions
from server.store.database import Database
from server.store.request_ids import RequestKey
from server.store.tables import memory_stores, vaults

KINDS: dict[str, Table] = {"vault": vaults, "memory store": memory_stores}


class ReferencedStore:
    """Files, vaults and memory stores."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Files
    async def create_file(self, ws: str, file: File) -> None:
        await self.db.write(files.insert_file, ws, file)

    async def get_file(self, ws: str, file_id: str) -> File | None:
        return await self.db.read(files.get_file, ws, file_id)

    async def list_files(self, ws: str, **query: Any) -> list[File]:
        def work(conn: Connection) -> list[File]:
            return files.list_files(conn, ws, **query)
        return await self.db.read(work)

    async def add_chunk(self, file_id: str, seq: int, data: bytes) -> None:
        await self.db.write(files.add_chunk, file_id, seq, data)

    async def chunk(self, file_id: str, seq: int) -> bytes | None:
        return await self.db.read(files.chunk, file_id, seq)

    async def finish_file(self, ws: str, file: File,
                          admit: Callable[[int], None]) -> None:
        """Marks the upload ready; `admit(bytes the session already holds)` may refuse it."""
        def work(conn: Connection) -> None:
            if file.session_id:
                # The session's row lock makes concurrent uploads to it count one at a time.
                if sessions.get_session(conn, ws, file.session_id, for_update=True) is None:
                    raise NotFound("session", file.session_id)
                admit(files.session_bytes(conn, ws, file.session_id))
            files.set_status(conn, file)
        await self.db.write(work)

    async def drop_file(self, ws: str, file_id: str) -> None:
        await self.db.write(files.drop_file, ws, file_id)

    async def delete_file(self, ws: str, file_id: str,
                          change: Callable[[File], File]) -> File | None:
        def work(conn: Connection) -> File | None:
            current = files.get_file(conn, ws, file_id, for_update=True)
            if current is None:
                return None
            new = change(current)
            files.drop_content(conn, file_id)
            files.set_status(conn, new)
            return new
        return await self.db.write(work)

    # Vaults and memory stores
    async def create_holder(self, kind: str, ws: str, holder: Holder,
                            key: RequestKey | None) -> Holder:
        table = KINDS[kind]

        def work(conn: Connection) -> Holder:
            if key and (earlier := request_ids.recall(conn, ws, key)):
                return request_ids.must(holders.get_holder(conn, table, ws, earlier), kind,
                                        earlier)
            holders.insert_holder(conn, table, ws, holder)
            if key:
                request_ids.remember(conn, ws, key, holder.id, holder.created_at)
            return holder
        return await request_ids.write_once(self.db, key, work)

    async def get_holder(self, kind: str, ws: str, holder_id: str) -> Holder | None:
        return await self.db.read(holders.get_holder, KINDS[kind], ws, holder_id)

    async def list_holders(self, kind: str, ws: str, include_archived: bool,
                           descending: bool, after: list[Any] | None,
                           limit: int) -> list[Holder]:
        return await self.db.read(holders.list_holders, KINDS[kind], ws, include_archived,
                                  descending, after, limit)

    async def change_holder(self, kind: str, ws: str, holder_id: str,
                            change: Callable[[Holder], Holder]) -> Holder | None:
        return await self.db.write(holders.change_holder, KINDS[kind], ws, holder_id, change)

    # Credentials
    async def add_credential(self, ws: str, credential: Credential,
                             admit: Callable[[Holder | None], None]) -> None:
        def work(conn: Connection) -> None:
            admit(holders.get_holder(conn, vaults, ws, credential.vault_id, for_update=True))
            credentials.insert_credential(conn, ws, credential)
        await self.db.write(work)

    async def list_credentials(self, ws: str, vault_id: str) -> list[Credential]:
        return await self.db.read(credentials.list_credentials, ws, vault_id)

    async def delete_credential(self, ws: str, vault_id: str, credential_id: str) -> bool:
        return await self.db.write(credentials.delete_credential, ws, vault_id, credential_id)

    # Memories
    async def create_memory(self, ws: str, memory: Memory,
                            admit: Callable[[Holder | None], None]) -> None:
        def work(conn: Connection) -> None:
            admit(holders.get_holder(conn, memory_stores, ws, memory.memory_store_id,
                                     for_update=True))
            if memories.find_memory(conn, ws, memory.memory_store_id, path=memory.path):
                raise AlreadyExists(f"a memory at {memory.path!r} already exists in "
                                    f"{memory.memory_store_id!r}", "MEMORY_PATH_EXISTS")
            memories.insert_memory(conn, ws, memory)
        try:
            await self.db.write(work)
        except exc.IntegrityError as error:  # a concurrent create at the same path
            raise AlreadyExists(f"a memory at {memory.path!r} already exists",
                                "MEMORY_PATH_EXISTS") from error

    async def update_memory(self, ws: str, store_id: str, memory_id: str, path: str,
                            content: str, now: int,
                            admit: Callable[[Holder | None], None]) -> Memory:
        def work(conn: Connection) -> Memory:
            admit(holders.get_holder(conn, memory_stores, ws, store_id))
            current = memories.find_memory(conn, ws, store_id, memory_id, path,
                                           for_update=True)
            if current is None:
                raise NotFound("memory", memory_id or path)
            return memories.replace_content(conn, current, content, now)
        return await self.db.write(work)

    async def get_memory(self, ws: str, store_id: str, memory_id: str, path: str,
                         version: int) -> Memory | None:
        def work(conn: Connection) -> Memory | None:
            current = memories.find_memory(conn, ws, store_id, memory_id, path)
            if current is None or not version or version == current.version:
                return current
            return memories.older_version(conn, current, version)
        return await self.db.read(work)

    async def list_memories(self, ws: str, store_id: str, prefix: str,
                            after: list[Any] | None, limit: int) -> list[Memory]:
        return await self.db.read(memories.list_memories, ws, store_id, prefix, after, limit)

    async def delete_memory(self, ws: str, store_id: str, memory_id: str) -> bool:
        return await self.db.write(memories.delete_memory, ws, store_id, memory_id)
