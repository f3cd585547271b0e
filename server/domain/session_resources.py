"""A session's resources after it was created: add, read, update a repository's token or
mount path, remove. A file resource must name a ready file."""

from __future__ import annotations

from collections.abc import Callable

from server.domain import ids, turns
from server.domain.clock import now_us
from server.domain.errors import InvalidArgument, NotFound
from server.domain.models import Json, Session, shallow_copy
from server.domain.resources import (
    RESOURCE,
    RESOURCES_MAX,
    check_github_repository,
    check_resource,
    mount_path,
    public_view,
)
from server.domain.validation import Violations, require_id
from server.store import Store

UPDATABLE = frozenset({"github_repository.authorization_token",
                       "github_repository.mount_path"})


def _open(session: Session) -> None:
    turns.check_open(session, "its resources are read-only")


def _index(resources: list[Json], resource_id: str) -> int:
    for i, resource in enumerate(resources):
        if resource.get("id") == resource_id:
            return i
    raise NotFound("session resource", resource_id)


class SessionResources:
    """The resource sub-collection of sessions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _change(self, ws: str, session_id: str, change: Callable[[Session], Session],
                      new: list[tuple[str, Json]]) -> Session:
        session = await self.store.change_resources(ws, session_id, change, new)
        if session is None:
            raise NotFound("session", session_id)
        return session

    async def add(self, ws: str, session_id: str, given: Json) -> Json:
        require_id("session_id", session_id, ids.SESSION)
        v = Violations()
        item = check_resource(v, "resource", given)
        v.raise_if_any()
        assert item is not None

        def change(current: Session) -> Session:
            _open(current)
            if len(current.resources) >= RESOURCES_MAX:
                raise InvalidArgument.one("resource", f"the session has {RESOURCES_MAX} "
                                                      "resources, the most it may have")
            path = mount_path(item)
            if path and any(mount_path(r) == path for r in current.resources):
                raise InvalidArgument.one("resource", f"another resource mounts at {path!r}")
            session = shallow_copy(current)
            session.resources = [*current.resources, item]
            session.updated_at = now_us()
            return session

        await self._change(ws, session_id, change, [("resource", item)])
        return public_view([item])[0]

    async def list_all(self, ws: str, session_id: str) -> list[Json]:
        require_id("session_id", session_id, ids.SESSION)
        session = await self.store.get_session(ws, session_id)
        if session is None:
            raise NotFound("session", session_id)
        return public_view(session.resources)

    async def get(self, ws: str, session_id: str, resource_id: str) -> Json:
        require_id("resource_id", resource_id, RESOURCE)
        resources = await self.list_all(ws, session_id)
        return resources[_index(resources, resource_id)]

    async def update(self, ws: str, session_id: str, resource_id: str, given: Json,
                     paths: list[str]) -> Json:
        require_id("session_id", session_id, ids.SESSION)
        require_id("resource_id", resource_id, RESOURCE)
        if not paths or any(p not in UPDATABLE for p in paths):
            raise InvalidArgument.one("update_mask", "name the fields to change: "
                                                     + ", ".join(sorted(UPDATABLE)))
        changed: list[Json] = []

        def change(current: Session) -> Session:
            _open(current)
            i = _index(current.resources, resource_id)
            repo = current.resources[i].get("github_repository")
            if repo is None:
                raise InvalidArgument.one("update_mask", "only repository resources change")
            merged = dict(repo)
            for path in paths:
                name = path.split(".", 1)[1]
                merged[name] = given.get("github_repository", {}).get(name, "")
            v = Violations()
            checked = check_github_repository(v, "resource.github_repository", merged)
            v.raise_if_any()
            session = shallow_copy(current)
            session.resources = list(current.resources)
            session.resources[i] = {"id": resource_id, "github_repository": checked}
            session.updated_at = now_us()
            changed.append(session.resources[i])
            return session

        await self._change(ws, session_id, change, [])
        return public_view(changed)[0]

    async def delete(self, ws: str, session_id: str, resource_id: str) -> None:
        require_id("session_id", session_id, ids.SESSION)
        require_id("resource_id", resource_id, RESOURCE)

        def change(current: Session) -> Session:
            _open(current)
            i = _index(current.resources, resource_id)
            session = shallow_copy(current)
            session.resources = current.resources[:i] + current.resources[i + 1:]
            session.updated_at = now_us()
            return session

        await self._change(ws, session_id, change, [])

