"""What a session refers to must exist and be usable: checked in the session's transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from server.domain.errors import FailedPrecondition, NotFound
from server.domain.models import Json
from server.store import files, holders
from server.store.tables import memory_stores, vaults


def check_files(conn: Connection, ws: str, resources: list[tuple[str, Json]]) -> None:
    """Every file resource (with where it sits in the request) names a ready file."""
    wanted = [(where, r["file"]["file_id"]) for where, r in resources if "file" in r]
    if not wanted:
        return
    found = files.get_files(conn, ws, [file_id for _, file_id in wanted])
    for where, file_id in wanted:
        file = found.get(file_id)
        if file is None:
            raise FailedPrecondition(f"{where}.file.file_id: file {file_id!r} does not exist",
                                     "FILE_NOT_FOUND", file_id)
        if file.status != "ready":
            raise FailedPrecondition(f"{where}.file.file_id: file {file_id!r} is "
                                     f"{file.status}, not ready", "FILE_NOT_READY", file_id)


def check_holders(conn: Connection, ws: str, vault_ids: list[str],
                  memory_store_ids: list[str]) -> None:
    """Every vault and memory store named exists and is not archived."""
    for field, table, kind, wanted in (("vault_ids", vaults, "vault", vault_ids),
                                       ("memory_store_ids", memory_stores, "memory store",
                                        memory_store_ids)):
        if not wanted:
            continue
        found = holders.get_holders(conn, table, ws, wanted)
        for i, holder_id in enumerate(wanted):
            holder = found.get(holder_id)
            if holder is None:
                raise NotFound(kind, holder_id)
            if holder.archived_at is not None:
                raise FailedPrecondition(f"{field}[{i}]: {kind} {holder_id!r} is archived",
                                         f"{kind.upper().replace(' ', '_')}_ARCHIVED",
                                         holder_id)
