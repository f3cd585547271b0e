"""A real server on a loopback port, in a background thread, on a real database."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
from managedagents.v1 import (
    agent_pb2_grpc,
    environment_pb2_grpc,
    runtime_pb2_grpc,
    session_pb2_grpc,
)
from sqlalchemy.engine import make_url

from server.app import Service, create_server
from server.config import Settings, env_name
from server.event_loop import DEFAULT as DEFAULT_LOOP
from server.event_loop import new_event_loop
from server.store import migrate

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def create_postgres_database() -> str:
    """A fresh, empty database for one test run; returns its SQLAlchemy URL."""
    name = f"ma_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class RunningServer:
    """A started server, its address, and stubs on one channel to it."""

    database_url: str
    heartbeat_seconds: float = 0.5
    stream_buffer_events: int = 1024
    lease_sweep_seconds: float = 1.0
    head_poll_seconds: float = 0.5
    file_max_bytes: int = 50 * 2**20
    session_files_max_bytes: int = 500 * 2**20
    db_pool_size: int = 8
    db_connect_timeout_seconds: int = 5
    service: Service | None = None
    address: str = ""
    channel: grpc.Channel | None = None
    sessions: Any = None
    agents: Any = None
    environments: Any = None
    runtime: Any = None
    # As the server runs by default, or as MANAGED_AGENTS_EVENT_LOOP says (as for the server:
    # `MANAGED_AGENTS_EVENT_LOOP=asyncio make test` runs the suite on asyncio's own loop).
    event_loop: str = os.environ.get(env_name("event_loop"), DEFAULT_LOOP)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> RunningServer:
        migrate.upgrade(self.database_url)
        settings = Settings(listen="127.0.0.1:0", database_url=self.database_url,
                            heartbeat_seconds=self.heartbeat_seconds,
                            db_pool_size=self.db_pool_size,
                            db_connect_timeout_seconds=self.db_connect_timeout_seconds,
                            stream_buffer_events=self.stream_buffer_events,
                            lease_sweep_seconds=self.lease_sweep_seconds,
                            head_poll_seconds=self.head_poll_seconds,
                            file_max_bytes=self.file_max_bytes,
                            session_files_max_bytes=self.session_files_max_bytes,
                            event_loop=self.event_loop)
        self._loop = new_event_loop(self.event_loop)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.service = self.call(self._start(settings))
        self.address = f"127.0.0.1:{self.service.port}"
        self.channel = grpc.insecure_channel(self.address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.agents = agent_pb2_grpc.AgentServiceStub(self.channel)
        self.environments = environment_pb2_grpc.EnvironmentServiceStub(self.channel)
        self.runtime = runtime_pb2_grpc.RuntimeServiceStub(self.channel)
        return self

    async def _start(self, settings: Settings) -> Service:
        service = await create_server(settings)
        await service.start()
        return service

    def call(self, coro: Any) -> Any:
        """Runs a coroutine on the server's event loop and returns its result."""
        return self.submit(coro).result(timeout=60)

    def submit(self, coro: Any) -> Future[Any]:
        """Starts a coroutine on the server's event loop (a client can run there too)."""
        assert self._loop is not None, "not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            return  # never started, or stopped already
        if self.channel is not None:
            self.channel.close()
        if self.service is not None:
            self.call(self.service.stop(grace=1))
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
