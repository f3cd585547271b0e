"""File queries: metadata rows, and content in chunks read and written one at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from server.domain.models import File
from server.store import keyset, rows
from server.store.tables import file_chunks, files

_BY_ID = select(files).where(files.c.id == bindparam("file_id"),
                             files.c.workspace_id == bindparam("workspace_id"))
_CHUNK = select(file_chunks.c.data).where(file_chunks.c.file_id == bindparam("file_id"),
                                          file_chunks.c.seq == bindparam("seq"))


def insert_file(conn: Connection, ws: str, file: File) -> None:
    conn.execute(insert(files), rows.file_values(file, ws))


def get_file(conn: Connection, ws: str, file_id: str, for_update: bool = False) -> File | None:
    query = _BY_ID.with_for_update() if for_update else _BY_ID
    row = conn.execute(query, {"file_id": file_id, "workspace_id": ws}).first()
    return rows.file_from(row) if row else None


def get_files(conn: Connection, ws: str, file_ids: list[str]) -> dict[str, File]:
    """These files, share-locked until commit: a concurrent delete waits for the reader."""
    found = conn.execute(select(files).where(files.c.id.in_(file_ids),
                                             files.c.workspace_id == ws)
                         .with_for_update(read=True)).all()
    return {row.id: rows.file_from(row) for row in found}


def list_files(conn: Connection, ws: str, *, purpose: str, session_id: str,
               include_deleted: bool, descending: bool, after: list[Any] | None,
               limit: int) -> list[File]:
    query = select(files).where(files.c.workspace_id == ws)
    if purpose:
        query = query.where(files.c.purpose == purpose)
    if session_id:
        query = query.where(files.c.session_id == session_id)
    if not include_deleted:
        query = query.where(files.c.status != "deleted")
    query = keyset.page(query, [files.c.created_at, files.c.id], after, descending, limit)
    return [rows.file_from(row) for row in conn.execute(query)]


def add_chunk(conn: Connection, file_id: str, seq: int, data: bytes) -> None:
    conn.execute(insert(file_chunks), {"file_id": file_id, "seq": seq, "data": data})


def chunk(conn: Connection, file_id: str, seq: int) -> bytes | None:
    data = conn.execute(_CHUNK, {"file_id": file_id, "seq": seq}).scalar()
    return None if data is None else bytes(data)


def session_bytes(conn: Connection, ws: str, session_id: str) -> int:
    """Bytes of the session's ready files."""
    return int(conn.execute(select(func.coalesce(func.sum(files.c.size_bytes), 0)).where(
        files.c.workspace_id == ws, files.c.session_id == session_id,
        files.c.status == "ready")).scalar() or 0)


def set_status(conn: Connection, file: File) -> None:
    conn.execute(update(files).where(files.c.id == file.id).values(
        status=file.status, size_bytes=file.size_bytes, sha256=file.sha256,
        updated_at=file.updated_at))


def drop_content(conn: Connection, file_id: str) -> None:
    conn.execute(delete(file_chunks).where(file_chunks.c.file_id == file_id))


def drop_file(conn: Connection, ws: str, file_id: str) -> None:
    """Removes a file and its content entirely (an upload that did not complete)."""
    drop_content(conn, file_id)
    conn.execute(delete(files).where(files.c.id == file_id, files.c.workspace_id == ws))
