"""One settings object, from command-line flags and their environment variables."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

from server import event_loop

DEFAULT_DATABASE_URL = "sqlite:///var/sessions.db"


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Each is a flag `--name-with-dashes` and an environment
    variable `MANAGED_AGENTS_NAME`; the flag wins."""

    listen: str = "127.0.0.1:50051"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 8
    db_connect_timeout_seconds: int = 5
    db_statement_timeout_ms: int = 30000
    heartbeat_seconds: float = 15.0
    stream_buffer_events: int = 1024
    lease_sweep_seconds: float = 1.0
    head_poll_seconds: float = 5.0
    file_max_bytes: int = 50 * 2**20
    session_files_max_bytes: int = 500 * 2**20
    log_level: str = "INFO"
    event_loop: str = event_loop.DEFAULT


HELP = {
    "listen": "host:port to serve on",
    "database_url": "SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    "db_pool_size": "database connections per process",
    "db_connect_timeout_seconds": "how long to wait for a database connection",
    "db_statement_timeout_ms": "PostgreSQL statement timeout",
    "heartbeat_seconds": "heartbeat interval on idle event streams",
    "stream_buffer_events": "newest events kept per followed session for its streams",
    "lease_sweep_seconds": "how often expired runtime leases are looked for",
    "head_poll_seconds": "how often open streams' heads are polled behind the hints",
    "file_max_bytes": "largest file an upload may store, in bytes",
    "session_files_max_bytes": "most bytes of ready files one session may hold",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "event_loop": "uvloop (where installed: faster) or asyncio",
}


def env_name(field_name: str) -> str:
    return "MANAGED_AGENTS_" + field_name.upper()


def add_arguments(parser: argparse.ArgumentParser, only: tuple[str, ...] = ()) -> None:
    """Adds a flag per setting (or per setting in `only`), defaulting to its variable."""
    for f in fields(Settings):
        if only and f.name not in only:
            continue
        default = os.environ.get(env_name(f.name), f.default)
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=type(f.default),
                            default=default,
                            help=f"{HELP[f.name]} (env {env_name(f.name)}; default %(default)s)")


def from_namespace(ns: argparse.Namespace) -> Settings:
    values = {f.name: getattr(ns, f.name) for f in fields(Settings) if hasattr(ns, f.name)}
    return Settings(**values)
