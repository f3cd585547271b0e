"""Environment use cases, and the validation of an environment's configuration."""

from __future__ import annotations

import copy
import re

from server.domain import ids, paging
from server.domain.clock import now_us
from server.domain.errors import NotFound
from server.domain.models import Environment, Json, Page
from server.domain.updates import apply_mask, keyset_page
from server.domain.validation import Violations, page_size, require_id
from server.store import RequestKey, Store

UPDATABLE = frozenset({"name", "description", "config", "metadata"})
CLOUD = "ENVIRONMENT_TYPE_CLOUD"
ENV_TYPES = frozenset({CLOUD, "ENVIRONMENT_TYPE_SELF_HOSTED"})
LIMITED = "NETWORKING_TYPE_LIMITED"
UNRESTRICTED = "NETWORKING_TYPE_UNRESTRICTED"
HOST = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")
PACKAGE_MANAGERS = ("apt", "pip", "npm")
DEFAULT_INLINE_NAME = "Session Environment"


def check_config(v: Violations, field: str, config: Json | None) -> Json:
    """Validates an environment config; returns it with its defaults filled in."""
    if config is None:
        v.add(field, "is required")
        return {}
    config = copy.deepcopy(config)
    if config.setdefault("type", CLOUD) not in ENV_TYPES:
        v.add(f"{field}.type", "must be cloud or self-hosted")
    networking = config.setdefault("networking", {})
    kind = networking.setdefault("type", UNRESTRICTED)
    hosts = networking.get("allowed_hosts", [])
    if kind not in (LIMITED, UNRESTRICTED):
        v.add(f"{field}.networking.type", "must be limited or unrestricted")
    if hosts and kind != LIMITED:
        v.add(f"{field}.networking.allowed_hosts", "is only allowed with limited networking")
    for i, host in enumerate(hosts):
        if not HOST.match(host) or len(host) > 253:
            v.add(f"{field}.networking.allowed_hosts[{i}]", f"{host!r} is not a host name")
    for manager in PACKAGE_MANAGERS:
        for i, spec in enumerate(config.get("packages", {}).get(manager, [])):
            if not spec.strip() or len(spec) > 256:
                v.add(f"{field}.packages.{manager}[{i}]", "must be a package spec of 1..256 "
                                                          "characters")
    v.max_length(f"{field}.setup_script", config.get("setup_script", ""), 65536)
    return config


def check_environment(v: Violations, env: Environment, prefix: str = "") -> None:
    if v.required(f"{prefix}name", env.name):
        v.max_length(f"{prefix}name", env.name, 256)
    v.max_length(f"{prefix}description", env.description, 2048)
    v.metadata(f"{prefix}metadata", env.metadata)
    env.config = check_config(v, f"{prefix}config", env.config)


def new_environment(env: Environment, now: int) -> Environment:
    env.id = ids.new_id(ids.ENVIRONMENT)
    env.created_at = env.updated_at = now
    env.archived_at = None
    return env


class Environments:
    """Create, read, list, update, archive and delete environments."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, ws: str, env: Environment, key: RequestKey | None) -> Environment:
        v = Violations()
        check_environment(v, env)
        v.raise_if_any()
        return await self.store.create_environment(ws, new_environment(env, now_us()), key)

    async def get(self, ws: str, environment_id: str) -> Environment:
        require_id("environment_id", environment_id, ids.ENVIRONMENT)
        env = await self.store.get_environment(ws, environment_id)
        if env is None:
            raise NotFound("environment", environment_id)
        return env

    async def list_page(self, ws: str, size: int, token: str, include_archived: bool,
                   descending: bool) -> Page:
        size = page_size("page_size", size)
        fingerprint = paging.query_fingerprint(kind="environments", archived=include_archived,
                                               desc=descending)

        async def fetch(after: list[object] | None, limit: int) -> list[Environment]:
            return await self.store.list_environments(ws, include_archived, descending, after,
                                                      limit)

        return await keyset_page(fetch, fingerprint, token, size,
                                 lambda e: [e.created_at, e.id], (int, str))

    async def update(self, ws: str, environment_id: str, changes: Environment,
                     paths: list[str]) -> Environment:
        require_id("environment_id", environment_id, ids.ENVIRONMENT)

        def change(current: Environment) -> Environment:
            env = copy.deepcopy(current)
            apply_mask(env, changes, paths, UPDATABLE)
            v = Violations()
            check_environment(v, env, prefix="environment.")
            v.raise_if_any()
            env.updated_at = now_us()
            return env

        env = await self.store.change_environment(ws, environment_id, change)
        if env is None:
            raise NotFound("environment", environment_id)
        return env

    async def archive(self, ws: str, environment_id: str) -> Environment:
        require_id("environment_id", environment_id, ids.ENVIRONMENT)

        def change(current: Environment) -> Environment:
            if current.archived_at is None:
                current.archived_at = current.updated_at = now_us()
            return current

        env = await self.store.change_environment(ws, environment_id, change)
        if env is None:
            raise NotFound("environment", environment_id)
        return env

    async def delete(self, ws: str, environment_id: str) -> None:
        require_id("environment_id", environment_id, ids.ENVIRONMENT)
        if not await self.store.delete_environment(ws, environment_id):
            raise NotFound("environment", environment_id)
