"""Server processes on one PostgreSQL, and clients that survive their restarts."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from managedagents.v1 import session_pb2, session_pb2_grpc

# What a client may retry: the service says so (UNAVAILABLE), or the answer never came.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """`python -m server serve` in a process of its own, on a fixed loopback port."""

    def __init__(self, database_url: str, *extra: str) -> None:
        self.database_url = database_url
        self.extra = extra  # more `serve` arguments
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Replica:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--listen", self.address,
             "--database-url", self.database_url, "--heartbeat-seconds", "0.5",
             "--db-connect-timeout-seconds", "2", "--log-level", "WARNING", *self.extra])
        deadline = time.monotonic() + 30
        with grpc.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    return self
                except grpc.RpcError:
                    assert time.monotonic() < deadline, "the replica did not start"
                    assert self.process.poll() is None, "the replica exited"
                    time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)


def send_until_stored(addresses: list[str], session_id: str, text: str) -> int:
    """Sends one message, retrying (with one request_id) on any replica until acknowledged;
    returns how many attempts failed first."""
    request = session_pb2.SendEventsRequest(
        session_id=session_id, request_id=uuid.uuid4().hex,
        events=[{"user_message": {"text": text}}])
    deadline = time.monotonic() + 60
    attempt = 0
    while True:
        address = addresses[attempt % len(addresses)]
        attempt += 1
        try:
            with grpc.insecure_channel(address) as channel:
                session_pb2_grpc.SessionServiceStub(channel).SendEvents(request, timeout=5)
            return attempt - 1
        except grpc.RpcError as error:
            assert error.code() in RETRYABLE, error
            assert time.monotonic() < deadline, f"never stored: {error}"
            time.sleep(0.1)


class Follower:
    """Follows one session's stream on one replica, reconnecting from the last sequence it
    saw whenever the stream breaks, as a careful client does."""

    def __init__(self, address: str, session_id: str) -> None:
        self.address = address
        self.session_id = session_id
        self.events: list[session_pb2.Event] = []  # type: ignore[name-defined]
        self.reconnects = 0
        self._stop = threading.Event()
        self._call = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            last = self.events[-1].sequence if self.events else 0
            try:
                with grpc.insecure_channel(self.address) as channel:
                    stub = session_pb2_grpc.SessionServiceStub(channel)
                    self._call = stub.StreamEvents(session_pb2.StreamEventsRequest(
                        session_id=self.session_id, after_sequence=last))
                    for item in self._call:
                        if item.HasField("event"):
                            self.events.append(item.event)
            except grpc.RpcError:
                pass
            if not self._stop.is_set():
                self.reconnects += 1
                time.sleep(0.2)

    def wait_for(self, sequence: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.events or self.events[-1].sequence < sequence:
            assert time.monotonic() < deadline, (
                f"{self.address} saw up to {self.events[-1].sequence if self.events else 0} "
                f"of {sequence}")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._call is not None:
            self._call.cancel()
        self._thread.join(timeout=10)
