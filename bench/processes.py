"""Server processes for the bench: the baseline and the service, each on its own port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from bench import baseline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(address: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with grpc.insecure_channel(address) as channel:
                grpc.channel_ready_future(channel).result(timeout=1)
            return
        except grpc.FutureTimeoutError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server on {address} did not start") from None


class Process:
    """A server process; `rss_bytes()` reads its resident memory."""

    def __init__(self, argv: list[str]) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_ready(self.address, self.process)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far, all its threads, user and system."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after the command's name
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def keep_loop_on(self, cpus: set[int] | None) -> None:
        """Keeps the server's main thread, which runs its event loop, on `cpus` (None: where
        it likes). Its other threads (gRPC's poller, the fsync) run anywhere: a process ID
        names its main thread alone, and only threads that thread starts later inherit."""
        if cpus:
            os.sched_setaffinity(self.process.pid, cpus)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_baseline(reply: bytes, *extra: str) -> Process:
    reply_file = Path(tempfile.mkdtemp()) / "reply.bin"
    reply_file.write_bytes(reply)
    return Process([sys.executable, "-m", baseline.__name__, "--port", "{port}",
                    "--reply-file", str(reply_file), *extra])


def start_service(database_url: str, *extra: str) -> Process:
    env_python = sys.executable
    subprocess.run([env_python, "-m", "server", "migrate", "--database-url", database_url,
                    "--log-level", "WARNING"], check=True, env=os.environ.copy())
    return Process([env_python, "-m", "server", "serve", "--listen", "127.0.0.1:{port}",
                    "--database-url", database_url, "--log-level", "WARNING", *extra])
