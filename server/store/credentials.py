"""Vault credentials. The secret column is read only to hand a credential to a session's
environment (not yet built); callers of the API never receive it."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from server.domain.models import Credential
from server.store import rows
from server.store.tables import vault_credentials


def insert_credential(conn: Connection, ws: str, credential: Credential) -> None:
    conn.execute(insert(vault_credentials), {
        "id": credential.id, "workspace_id": ws, "vault_id": credential.vault_id,
        "kind": credential.kind, "public": rows.dumps(credential.public),
        "secret": credential.secret, "created_at": credential.created_at})


def list_credentials(conn: Connection, ws: str, vault_id: str) -> list[Credential]:
    found = conn.execute(select(vault_credentials).where(
        vault_credentials.c.vault_id == vault_id, vault_credentials.c.workspace_id == ws)
        .order_by(vault_credentials.c.created_at, vault_credentials.c.id)).all()
    return [rows.credential_from(row) for row in found]


def delete_credential(conn: Connection, ws: str, vault_id: str, credential_id: str) -> bool:
    gone = conn.execute(delete(vault_credentials).where(
        vault_credentials.c.id == credential_id, vault_credentials.c.vault_id == vault_id,
        vault_credentials.c.workspace_id == ws).returning(vault_credentials.c.id)).first()
    return gone is not None
