"""Vaults and memory stores: the same shape of row (name, description, metadata, archive),
so one set of queries serves both tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from server.domain.models import Holder
from server.store import keyset, rows


def insert_holder(conn: Connection, table: Table, ws: str, holder: Holder) -> None:
    conn.execute(insert(table), rows.holder_values(holder, ws))


def get_holder(conn: Connection, table: Table, ws: str, holder_id: str,
               for_update: bool = False) -> Holder | None:
    query = select(table).where(table.c.id == holder_id, table.c.workspace_id == ws)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return rows.holder_from(row) if row else None


def get_holders(conn: Connection, table: Table, ws: str, ids: list[str]) -> dict[str, Holder]:
    """These containers, share-locked until commit: a concurrent archive waits."""
    found = conn.execute(select(table).where(table.c.id.in_(ids), table.c.workspace_id == ws)
                         .with_for_update(read=True)).all()
    return {row.id: rows.holder_from(row) for row in found}


def list_holders(conn: Connection, table: Table, ws: str, include_archived: bool,
                 descending: bool, after: list[Any] | None, limit: int) -> list[Holder]:
    query = select(table).where(table.c.workspace_id == ws)
    if not include_archived:
        query = query.where(table.c.archived_at.is_(None))
    query = keyset.page(query, [table.c.created_at, table.c.id], after, descending, limit)
    return [rows.holder_from(row) for row in conn.execute(query)]


def change_holder(conn: Connection, table: Table, ws: str, holder_id: str,
                  change: Callable[[Holder], Holder]) -> Holder | None:
    current = get_holder(conn, table, ws, holder_id, for_update=True)
    if current is None:
        return None
    new = change(current)
    values = rows.holder_values(new, ws)
    conn.execute(update(table).where(table.c.id == holder_id).values(
        {k: v for k, v in values.items() if k not in ("id", "workspace_id")}))
    return new
