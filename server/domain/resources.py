"""Session resources: file mounts (path normalised under /data/) and GitHub repositories."""

from __future__ import annotations

import posixpath

from server.domain import ids
from server.domain.models import Json
from server.domain.validation import Violations

RESOURCE = "sesrsc"
DATA_ROOT = "/data"
PATH_MAX = 512
RESOURCES_MAX = 100


def normalise_file_path(v: Violations, field: str, file_id: str, path: str) -> str:
    """The mount path of a file: default /data/{file_id}, relative under /data/, never outside."""
    if not path:
        path = f"{DATA_ROOT}/{file_id}"
    elif not path.startswith("/"):
        path = f"{DATA_ROOT}/{path}"
    normal = posixpath.normpath(path)
    if normal.startswith("//"):  # normpath keeps a leading '//' (POSIX); it is not a different root
        normal = "/" + normal.lstrip("/")
    if not normal.startswith(DATA_ROOT + "/"):
        v.add(field, f"must stay under {DATA_ROOT}/ (normalised to {normal!r})")
    elif len(normal) > PATH_MAX:
        v.add(field, f"must be at most {PATH_MAX} characters once normalised (got {len(normal)})")
    return normal


def check_file(v: Violations, field: str, file: Json) -> Json:
    """Validates a file resource; returns it as stored: `file_id` and the normalised `path`."""
    file_id = file.get("file_id", "")
    if v.required(f"{field}.file_id", file_id) and not ids.has_prefix(file_id, ids.FILE):
        v.add(f"{field}.file_id", "must be a file ID with the 'file_' prefix")
    path, alias = file.get("path", ""), file.get("mount_path", "")
    if path and alias and path != alias:
        v.add(f"{field}.mount_path", "is an alias of path; when both are given they must be equal")
    where = f"{field}.path" if path or not alias else f"{field}.mount_path"
    return {"file_id": file_id, "path": normalise_file_path(v, where, file_id, path or alias)}


def check_github_repository(v: Violations, field: str, repo: Json) -> Json:
    """Validates a GitHub repository resource (https URL; optional absolute mount path)."""
    url = repo.get("url", "")
    v.https_url(f"{field}.url", url, "https://github.com/owner/repo")
    stored: Json = {"url": url}
    mount_path = repo.get("mount_path", "")
    if mount_path:
        normal = posixpath.normpath(mount_path)
        if not mount_path.startswith("/") or ".." in mount_path.split("/"):
            v.add(f"{field}.mount_path", "must be an absolute path without '..'")
        v.max_length(f"{field}.mount_path", normal, PATH_MAX)
        stored["mount_path"] = normal
    token = repo.get("authorization_token", "")
    if token:
        v.max_length(f"{field}.authorization_token", token, 4096)
        stored["authorization_token"] = token  # write-only: stripped from every response
    return stored


def check_resource(v: Violations, where: str, resource: Json) -> Json | None:
    """Validates one resource; returns it as stored, with a new `id`, or None if unusable."""
    item: Json
    if "file" in resource:
        item = {"file": check_file(v, f"{where}.file", resource["file"])}
    elif "github_repository" in resource:
        item = {"github_repository": check_github_repository(
            v, f"{where}.github_repository", resource["github_repository"])}
    else:
        v.add(where, "must set one of: file, github_repository")
        return None
    item["id"] = ids.new_id(RESOURCE)
    return item


def mount_path(resource: Json) -> str:
    """Where a stored resource is mounted ('' for a repository without a mount path)."""
    if "file" in resource:
        return str(resource["file"]["path"])
    return str(resource.get("github_repository", {}).get("mount_path", ""))


def check_resources(v: Violations, field: str, resources: list[Json]) -> list[Json]:
    """Validates and normalises a session's resources; mount paths must be distinct."""
    if len(resources) > RESOURCES_MAX:
        v.add(field, f"must have at most {RESOURCES_MAX} entries (got {len(resources)})")
    stored: list[Json] = []
    seen_paths: dict[str, int] = {}
    for i, resource in enumerate(resources):
        where = f"{field}[{i}]"
        item = check_resource(v, where, resource)
        if item is None:
            continue
        path = mount_path(item)
        if path and path in seen_paths:
            v.add(where, f"mounts at {path!r}, as {field}[{seen_paths[path]}] does")
        elif path:
            seen_paths[path] = i
        stored.append(item)
    return stored


def public_view(resources: list[Json]) -> list[Json]:
    """Resources as returned to callers: write-only secrets removed."""
    out: list[Json] = []
    for resource in resources:
        repo = resource.get("github_repository")
        if repo is not None and "authorization_token" in repo:
            resource = {**resource, "github_repository": {
                k: v for k, v in repo.items() if k != "authorization_token"}}
        out.append(resource)
    return out
