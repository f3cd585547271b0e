"""VaultService and MemoryStoreService: protobuf <-> domain."""

from __future__ import annotations

import grpc
from managedagents.v1 import (
    common_pb2,
    memory_store_pb2,
    memory_store_pb2_grpc,
    vault_pb2,
    vault_pb2_grpc,
)

from server import errors
from server.api import convert
from server.api.workspace import workspace_of
from server.domain.holders import Holders
from server.domain.memories import Memories
from server.domain.models import Credential, Holder, Memory
from server.domain.vaults import Credentials


def holder_from(msg: vault_pb2.Vault | memory_store_pb2.MemoryStore
                | vault_pb2.CreateVaultRequest | memory_store_pb2.CreateMemoryStoreRequest
                ) -> Holder:
    return Holder(id="", name=msg.name, description=msg.description,
                  metadata=dict(msg.metadata))


def _fill(out: vault_pb2.Vault | memory_store_pb2.MemoryStore, holder: Holder) -> None:
    out.id, out.name, out.description = holder.id, holder.name, holder.description
    out.metadata.update(holder.metadata)
    convert.stamp(out.archived_at, holder.archived_at)
    convert.stamp(out.created_at, holder.created_at)
    convert.stamp(out.updated_at, holder.updated_at)


def vault_to(holder: Holder) -> vault_pb2.Vault:
    out = vault_pb2.Vault(type="vault")
    _fill(out, holder)
    return out


def credential_to(credential: Credential) -> vault_pb2.Credential:
    """The credential without its secret: the secret is write-only."""
    out = vault_pb2.Credential(id=credential.id, type="vault_credential",
                               vault_id=credential.vault_id)
    if credential.kind == "static_bearer":
        out.static_bearer.mcp_server_url = credential.public["mcp_server_url"]
    else:
        out.environment_variable.secret_name = credential.public["secret_name"]
    convert.stamp(out.created_at, credential.created_at)
    return out


def store_to(holder: Holder) -> memory_store_pb2.MemoryStore:
    out = memory_store_pb2.MemoryStore(type="memory_store")
    _fill(out, holder)
    return out


def memory_to(memory: Memory) -> memory_store_pb2.Memory:
    out = memory_store_pb2.Memory(id=memory.id, type="memory",
                                  memory_store_id=memory.memory_store_id, path=memory.path,
                                  content=memory.content, version=memory.version)
    convert.stamp(out.created_at, memory.created_at)
    convert.stamp(out.updated_at, memory.updated_at)
    return out


class VaultService(vault_pb2_grpc.VaultServiceServicer):
    """Serves managedagents.v1.VaultService."""

    def __init__(self, vaults: Holders, credentials: Credentials) -> None:
        self.vaults = vaults
        self.credentials = credentials

    @errors.unary
    async def CreateVault(self, request: vault_pb2.CreateVaultRequest,
                          context: grpc.aio.ServicerContext) -> vault_pb2.Vault:
        return vault_to(await self.vaults.create(workspace_of(context), holder_from(request),
                                                 convert.request_key("CreateVault", request)))

    @errors.unary
    async def GetVault(self, request: vault_pb2.GetVaultRequest,
                       context: grpc.aio.ServicerContext) -> vault_pb2.Vault:
        return vault_to(await self.vaults.get(workspace_of(context), request.vault_id))

    @errors.unary
    async def ListVaults(self, request: vault_pb2.ListVaultsRequest,
                         context: grpc.aio.ServicerContext) -> vault_pb2.ListVaultsResponse:
        page = await self.vaults.list_page(workspace_of(context), request.page_size,
                                           request.page_token, request.include_archived,
                                           request.order != common_pb2.SORT_ORDER_ASC)
        return vault_pb2.ListVaultsResponse(vaults=[vault_to(h) for h in page.items],
                                            next_page_token=page.next_page_token)

    @errors.unary
    async def UpdateVault(self, request: vault_pb2.UpdateVaultRequest,
                          context: grpc.aio.ServicerContext) -> vault_pb2.Vault:
        return vault_to(await self.vaults.update(
            workspace_of(context), request.vault_id, holder_from(request.vault),
            list(request.update_mask.paths)))

    @errors.unary
    async def ArchiveVault(self, request: vault_pb2.ArchiveVaultRequest,
                           context: grpc.aio.ServicerContext) -> vault_pb2.Vault:
        return vault_to(await self.vaults.archive(workspace_of(context), request.vault_id))

    @errors.unary
    async def AddCredential(self, request: vault_pb2.AddCredentialRequest,
                            context: grpc.aio.ServicerContext) -> vault_pb2.Credential:
        kind = request.credential.WhichOneof("kind") or ""
        given = convert.to_dict(getattr(request.credential, kind)) if kind else {}
        return credential_to(await self.credentials.add(workspace_of(context),
                                                        request.vault_id, kind, given))

    @errors.unary
    async def ListCredentials(self, request: vault_pb2.ListCredentialsRequest,
                              context: grpc.aio.ServicerContext
                              ) -> vault_pb2.ListCredentialsResponse:
        found = await self.credentials.list_all(workspace_of(context), request.vault_id)
        return vault_pb2.ListCredentialsResponse(credentials=[credential_to(c) for c in found])

    @errors.unary
    async def DeleteCredential(self, request: vault_pb2.DeleteCredentialRequest,
                               context: grpc.aio.ServicerContext
                               ) -> vault_pb2.DeleteCredentialResponse:
        await self.credentials.delete(workspace_of(context), request.vault_id,
                                      request.credential_id)
        return vault_pb2.DeleteCredentialResponse(id=request.credential_id,
                                                  type="vault_credential_deleted")


class MemoryStoreService(memory_store_pb2_grpc.MemoryStoreServiceServicer):
    """Serves managedagents.v1.MemoryStoreService."""

    def __init__(self, stores: Holders, memories: Memories) -> None:
        self.stores = stores
        self.memories = memories

    @errors.unary
    async def CreateMemoryStore(self, request: memory_store_pb2.CreateMemoryStoreRequest,
                                context: grpc.aio.ServicerContext
                                ) -> memory_store_pb2.MemoryStore:
        return store_to(await self.stores.create(
            workspace_of(context), holder_from(request),
            convert.request_key("CreateMemoryStore", request)))

    @errors.unary
    async def GetMemoryStore(self, request: memory_store_pb2.GetMemoryStoreRequest,
                             context: grpc.aio.ServicerContext
                             ) -> memory_store_pb2.MemoryStore:
        return store_to(await self.stores.get(workspace_of(context), request.memory_store_id))

    @errors.unary
    async def ListMemoryStores(self, request: memory_store_pb2.ListMemoryStoresRequest,
                               context: grpc.aio.ServicerContext
                               ) -> memory_store_pb2.ListMemoryStoresResponse:
        page = await self.stores.list_page(workspace_of(context), request.page_size,
                                           request.page_token, request.include_archived,
                                           request.order != common_pb2.SORT_ORDER_ASC)
        return memory_store_pb2.ListMemoryStoresResponse(
            memory_stores=[store_to(h) for h in page.items],
            next_page_token=page.next_page_token)

    @errors.unary
    async def ArchiveMemoryStore(self, request: memory_store_pb2.ArchiveMemoryStoreRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> memory_store_pb2.MemoryStore:
        return store_to(await self.stores.archive(workspace_of(context),
                                                  request.memory_store_id))

    @errors.unary
    async def CreateMemory(self, request: memory_store_pb2.CreateMemoryRequest,
                           context: grpc.aio.ServicerContext) -> memory_store_pb2.Memory:
        return memory_to(await self.memories.create(workspace_of(context),
                                                    request.memory_store_id, request.path,
                                                    request.content))

    @errors.unary
    async def UpdateMemory(self, request: memory_store_pb2.UpdateMemoryRequest,
                           context: grpc.aio.ServicerContext) -> memory_store_pb2.Memory:
        return memory_to(await self.memories.update(
            workspace_of(context), request.memory_store_id, request.memory_id, request.path,
            request.content))

    @errors.unary
    async def GetMemory(self, request: memory_store_pb2.GetMemoryRequest,
                        context: grpc.aio.ServicerContext) -> memory_store_pb2.Memory:
        return memory_to(await self.memories.get(
            workspace_of(context), request.memory_store_id, request.memory_id, request.path,
            request.version))

    @errors.unary
    async def ListMemories(self, request: memory_store_pb2.ListMemoriesRequest,
                           context: grpc.aio.ServicerContext
                           ) -> memory_store_pb2.ListMemoriesResponse:
        page = await self.memories.list_page(workspace_of(context), request.memory_store_id,
                                             request.path_prefix, request.page_size,
                                             request.page_token)
        return memory_store_pb2.ListMemoriesResponse(
            memories=[memory_to(m) for m in page.items], next_page_token=page.next_page_token)

    @errors.unary
    async def DeleteMemory(self, request: memory_store_pb2.DeleteMemoryRequest,
                           context: grpc.aio.ServicerContext
                           ) -> memory_store_pb2.DeleteMemoryResponse:
        await self.memories.delete(workspace_of(context), request.memory_store_id,
                                   request.memory_id)
        return memory_store_pb2.DeleteMemoryResponse(id=request.memory_id,
                                                     type="memory_deleted")
