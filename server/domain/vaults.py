"""Vault credentials: bearer tokens for MCP servers and secret environment variables.
Secret values go in and never come out."""

from __future__ import annotations

import re

from server.domain import ids
from server.domain.clock import now_us
from server.domain.errors import NotFound
from server.domain.holders import Holders
from server.domain.models import Credential, Json
from server.domain.validation import Violations, require_id

CREDENTIAL = "vcred"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")


class Credentials:
    """Add, list and delete a vault's credentials."""

    def __init__(self, vaults: Holders) -> None:
        self.vaults = vaults
        self.store = vaults.store

    async def add(self, ws: str, vault_id: str, kind: str, given: Json) -> Credential:
        require_id("vault_id", vault_id, ids.VAULT)
        v = Violations()
        where = f"credential.{kind}"
        if kind == "static_bearer":
            url = given.get("mcp_server_url", "")
            v.https_url(f"{where}.mcp_server_url", url, "https://mcp.example.com/sse")
            public, secret = {"mcp_server_url": url}, given.get("token", "")
            if v.required(f"{where}.token", secret):
                v.max_length(f"{where}.token", secret, 8192)
        elif kind == "environment_variable":
            name = given.get("secret_name", "")
            if v.required(f"{where}.secret_name", name) and not ENV_NAME.fullmatch(name):
                v.add(f"{where}.secret_name", "must be letters, digits and '_', not starting "
                                              "with a digit")
            public, secret = {"secret_name": name}, given.get("secret_value", "")
            if v.required(f"{where}.secret_value", secret):
                v.max_length(f"{where}.secret_value", secret, 65536)
        else:
            v.add("credential", "must set one of: static_bearer, environment_variable")
            public, secret = {}, ""
        v.raise_if_any()
        credential = Credential(id=ids.new_id(CREDENTIAL), vault_id=vault_id, kind=kind,
                                public=public, secret=secret, created_at=now_us())
        await self.store.add_credential(ws, credential, self.vaults.usable(vault_id))
        return credential

    async def list_all(self, ws: str, vault_id: str) -> list[Credential]:
        await self.vaults.get(ws, vault_id)
        return await self.store.list_credentials(ws, vault_id)

    async def delete(self, ws: str, vault_id: str, credential_id: str) -> None:
        require_id("vault_id", vault_id, ids.VAULT)
        require_id("credential_id", credential_id, CREDENTIAL)
        if not await self.store.delete_credential(ws, vault_id, credential_id):
            await self.vaults.get(ws, vault_id)
            raise NotFound("credential", credential_id)
