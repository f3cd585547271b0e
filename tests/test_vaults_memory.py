"""VaultService and MemoryStoreService, and the session references to them."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.protobuf import field_mask_pb2
from managedagents.v1 import memory_store_pb2 as mem
from managedagents.v1 import memory_store_pb2_grpc, vault_pb2, vault_pb2_grpc

from tests.helpers import create_session, expect_error, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT
SECRETS = ("tok_SECRET_1", "val_SECRET_2")


def vaults(srv):
    return vault_pb2_grpc.VaultServiceStub(srv.channel)


def stores(srv):
    return memory_store_pb2_grpc.MemoryStoreServiceStub(srv.channel)


def make_vault(srv, **fields):
    fields.setdefault("name", unique("vault"))
    return vaults(srv).CreateVault(vault_pb2.CreateVaultRequest(**fields))


def make_store(srv, **fields):
    fields.setdefault("name", unique("store"))
    return stores(srv).CreateMemoryStore(mem.CreateMemoryStoreRequest(**fields))


def bearer(url="https://mcp.example.com", token=SECRETS[0]):
    return vault_pb2.Credential(static_bearer=vault_pb2.StaticBearer(mcp_server_url=url,
                                                                     token=token))


def variable(name="API_KEY", value=SECRETS[1]):
    return vault_pb2.Credential(environment_variable=vault_pb2.EnvironmentVariable(
        secret_name=name, secret_value=value))


def test_vault_life_and_credentials_without_secrets(server, caplog):
    caplog.set_level(logging.DEBUG)
    vault = make_vault(server, description="d", metadata={"k": "v"})
    assert vault.id.startswith("vault_") and vault.type == "vault"
    seen = [vault]
    for credential in (bearer(), variable()):
        added = vaults(server).AddCredential(vault_pb2.AddCredentialRequest(
            vault_id=vault.id, credential=credential))
        assert added.id.startswith("vcred_") and added.vault_id == vault.id
        seen.append(added)
    listed = vaults(server).ListCredentials(vault_pb2.ListCredentialsRequest(vault_id=vault.id))
    assert [c.static_bearer.mcp_server_url or c.environment_variable.secret_name
            for c in listed.credentials] == ["https://mcp.example.com", "API_KEY"]
    seen.append(listed)
    updated = vaults(server).UpdateVault(vault_pb2.UpdateVaultRequest(
        vault_id=vault.id, vault=vault_pb2.Vault(name="renamed"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    assert updated.name == "renamed"
    gone = vaults(server).DeleteCredential(vault_pb2.DeleteCredentialRequest(
        vault_id=vault.id, credential_id=listed.credentials[0].id))
    assert gone.id == listed.credentials[0].id
    assert len(vaults(server).ListCredentials(vault_pb2.ListCredentialsRequest(
        vault_id=vault.id)).credentials) == 1
    errors = [expect_error(lambda c=c: vaults(server).AddCredential(
        vault_pb2.AddCredentialRequest(vault_id=vault.id, credential=c)), INVALID, field)
        for c, field in ((bearer(url="http://x.com"), "credential.static_bearer.mcp_server_url"),
                         (variable(name="1BAD"), "credential.environment_variable.secret_name"),
                         (bearer(token=""), "credential.static_bearer.token"),
                         (vault_pb2.Credential(), "credential"))]
    archived = vaults(server).ArchiveVault(vault_pb2.ArchiveVaultRequest(vault_id=vault.id))
    assert archived.HasField("archived_at")
    errors.append(expect_error(lambda: vaults(server).AddCredential(
        vault_pb2.AddCredentialRequest(vault_id=vault.id, credential=variable())),
        grpc.StatusCode.FAILED_PRECONDITION, reason="VAULT_ARCHIVED"))
    for secret in SECRETS:
        assert all(secret not in str(message) for message in seen)
        assert all(secret not in e.details() for e in errors)
        assert secret not in caplog.text


def test_sessions_must_name_usable_vaults_and_stores(server):
    vault, store = make_vault(server), make_store(server)
    session = create_session(server, vault_ids=[vault.id], memory_store_ids=[store.id])
    assert (list(session.vault_ids), list(session.memory_store_ids)) == ([vault.id], [store.id])
    expect_error(lambda: create_session(server, vault_ids=["vault_01JF3Z0000000000000000000"]),
                 grpc.StatusCode.NOT_FOUND)
    expect_error(lambda: create_session(
        server, memory_store_ids=["memstore_01JF3Z0000000000000000000"]),
        grpc.StatusCode.NOT_FOUND)
    vaults(server).ArchiveVault(vault_pb2.ArchiveVaultRequest(vault_id=vault.id))
    stores(server).ArchiveMemoryStore(mem.ArchiveMemoryStoreRequest(memory_store_id=store.id))
    expect_error(lambda: create_session(server, vault_ids=[vault.id]),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="VAULT_ARCHIVED")
    expect_error(lambda: create_session(server, memory_store_ids=[store.id]),
                 grpc.StatusCode.FAILED_PRECONDITION, reason="MEMORY_STORE_ARCHIVED")


def test_memories_by_path_with_versions(server):
    store = make_store(server, description="notes")
    sid = store.id

    def create(path, content="c"):
        return stores(server).CreateMemory(mem.CreateMemoryRequest(
            memory_store_id=sid, path=path, content=content))
    first = create("/projects/alpha/notes.md", "v1")
    assert first.id.startswith("mem_") and first.version == 1
    expect_error(lambda: create("/projects/alpha/notes.md"), grpc.StatusCode.ALREADY_EXISTS,
                 reason="MEMORY_PATH_EXISTS")
    expect_error(lambda: create("/projects//alpha/./notes.md"), grpc.StatusCode.ALREADY_EXISTS)
    updated = stores(server).UpdateMemory(mem.UpdateMemoryRequest(
        memory_store_id=sid, path="/projects/alpha/notes.md", content="v2"))
    assert (updated.id, updated.version, updated.content) == (first.id, 2, "v2")
    old = stores(server).GetMemory(mem.GetMemoryRequest(memory_store_id=sid,
                                                        memory_id=first.id, version=1))
    assert (old.version, old.content) == (1, "v1")
    current = stores(server).GetMemory(mem.GetMemoryRequest(
        memory_store_id=sid, path="/projects/alpha/notes.md"))
    assert current.content == "v2"
    for path in ("/projects/beta.md", "/projects/al%_x.md", "/other/a.md"):
        create(path)

    def paths(prefix, page_size=100):
        return [m.path for m in stores(server).ListMemories(mem.ListMemoriesRequest(
            memory_store_id=sid, path_prefix=prefix, page_size=page_size)).memories]
    assert paths("/projects/") == ["/projects/al%_x.md", "/projects/alpha/notes.md",
                                   "/projects/beta.md"]
    assert paths("/projects/al%") == ["/projects/al%_x.md"]
    assert len(paths("")) == 4
    page = stores(server).ListMemories(mem.ListMemoriesRequest(memory_store_id=sid,
                                                                page_size=3))
    rest = stores(server).ListMemories(mem.ListMemoriesRequest(
        memory_store_id=sid, page_size=3, page_token=page.next_page_token))
    assert len(page.memories) + len(rest.memories) == 4 and not rest.next_page_token
    stores(server).DeleteMemory(mem.DeleteMemoryRequest(memory_store_id=sid,
                                                         memory_id=first.id))
    expect_error(lambda: stores(server).GetMemory(mem.GetMemoryRequest(
        memory_store_id=sid, memory_id=first.id)), grpc.StatusCode.NOT_FOUND)
    for bad, field in (("relative.md", "path"), ("/a/../b", "path"), ("", "path")):
        expect_error(lambda b=bad: create(b), INVALID, field)
    stores(server).ArchiveMemoryStore(mem.ArchiveMemoryStoreRequest(memory_store_id=sid))
    expect_error(lambda: create("/new.md"), grpc.StatusCode.FAILED_PRECONDITION,
                 reason="MEMORY_STORE_ARCHIVED")


@pytest.mark.parametrize("call", ["vault", "store"])
def test_unknown_containers_are_not_found(server, call):
    if call == "vault":
        expect_error(lambda: vaults(server).GetVault(vault_pb2.GetVaultRequest(
            vault_id="vault_01JF3Z0000000000000000000")), grpc.StatusCode.NOT_FOUND)
        expect_error(lambda: vaults(server).ListCredentials(vault_pb2.ListCredentialsRequest(
            vault_id="vault_01JF3Z0000000000000000000")), grpc.StatusCode.NOT_FOUND)
    else:
        expect_error(lambda: stores(server).ListMemories(mem.ListMemoriesRequest(
            memory_store_id="memstore_01JF3Z0000000000000000000")), grpc.StatusCode.NOT_FOUND)
        expect_error(lambda: stores(server).GetMemoryStore(mem.GetMemoryStoreRequest(
            memory_store_id="vault_1")), INVALID, "memory_store_id")


def test_deleting_through_another_store_touches_nothing(server):
    a, b = make_store(server), make_store(server)
    memory = stores(server).CreateMemory(mem.CreateMemoryRequest(
        memory_store_id=b.id, path="/x.md", content="v1"))
    stores(server).UpdateMemory(mem.UpdateMemoryRequest(memory_store_id=b.id,
                                                        memory_id=memory.id, content="v2"))
    expect_error(lambda: stores(server).DeleteMemory(mem.DeleteMemoryRequest(
        memory_store_id=a.id, memory_id=memory.id)), grpc.StatusCode.NOT_FOUND)
    old = stores(server).GetMemory(mem.GetMemoryRequest(memory_store_id=b.id,
                                                        memory_id=memory.id, version=1))
    assert old.content == "v1"
