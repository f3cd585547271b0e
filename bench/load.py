"""Unary load: throughput from h2load (a C client in its own process, when installed) or from
client processes in Python; latency percentiles sampled beside it."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass
class Measured:
    """One scenario's numbers."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    tool: str
    ratio: float = 0.0


def frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message: what h2load sends as the request body."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    if len(samples_ms) < 2:
        return (samples_ms[0] if samples_ms else 0.0), (samples_ms[0] if samples_ms else 0.0)
    cuts = statistics.quantiles(samples_ms, n=100)
    return cuts[49], cuts[98]


class LatencySampler:
    """One closed-loop client timing calls while the load runs."""

    def __init__(self, address: str, path: str, body: bytes) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(address, path, body),
                                        daemon=True)

    def _run(self, address: str, path: str, body: bytes) -> None:
        with grpc.insecure_channel(address) as channel:
            call = channel.unary_unary(path)  # bytes in, bytes out
            while not self._stop.is_set():
                start = time.perf_counter()
                call(body, timeout=30)
                self.samples.append((time.perf_counter() - start) * 1000)

    def __enter__(self) -> LatencySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def _h2load(address: str, path: str, body: bytes, *options: str,
            cpu: int | None = None) -> str:
    """h2load's report of gRPC calls of `path` with `body` (one connection thread; pinned
    to `cpu` when given)."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as data:
        Path(data.name).write_bytes(frame(body))
        pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
        return subprocess.run(
            [*pin, "h2load", *options, "-t", "1",
             "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", data.name,
             f"http://{address}{path}"], capture_output=True, text=True, check=True).stdout


def h2load(address: str, path: str, body: bytes, requests: int, clients: int,
           streams: int) -> float:
    """Requests per second h2load achieved over HTTP/2 with gRPC framing."""
    out = _h2load(address, path, body, "-n", str(requests), "-c", str(clients),
                  "-m", str(streams))
    succeeded = re.search(r"(\d+) succeeded", out)
    if succeeded is None or int(succeeded.group(1)) != requests:
        raise RuntimeError(f"h2load: not every request succeeded:\n{out}")
    found = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if found is None:
        raise RuntimeError(f"cannot read h2load's output:\n{out}")
    return float(found.group(1))


def h2load_drain(address: str, path: str, body: bytes, streams: int, seconds: float,
                 cpu: int | None) -> int:
    """Opens `streams` server-streaming calls with h2load (4 connections) and counts the
    bytes of stream messages (with their gRPC prefixes) it received in `seconds`: a client
    that costs next to nothing per message, so the server alone sets the rate. The calls
    must outlast the window. `cpu`: the core h2load runs on. (No warm-up: h2load counts the
    data it receives during one, but not the time.)"""
    out = _h2load(address, path, body, "-c", "4", "-m", str(max(1, streams // 4)),
                  "-D", str(seconds), cpu=cpu)
    found = re.search(r"\((\d+)\) data", out)
    if found is None:
        raise RuntimeError(f"cannot read h2load's output:\n{out}")
    return int(found.group(1))


def python_load(address: str, path: str, body: bytes, requests: int, clients: int) -> float:
    """Requests per second from `clients` Python processes, each with 16 calls in flight."""
    per = max(1, requests // clients)
    script = (
        "import asyncio,sys,grpc\n"
        "async def main(a,p,b,n):\n"
        "  async with grpc.aio.insecure_channel(a) as ch:\n"
        "    call=ch.unary_unary(p)\n"
        "    async def worker(k):\n"
        "      for _ in range(k): await call(b)\n"
        "    await asyncio.gather(*(worker(n//16) for _ in range(16)))\n"
        "asyncio.run(main(sys.argv[1],sys.argv[2],bytes.fromhex(sys.argv[3]),int(sys.argv[4])))\n")
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", script, address, path, body.hex(),
                               str(per)]) for _ in range(clients)]
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("a Python load client failed")
    return (per // 16 * 16 * clients) / (time.perf_counter() - start)


def measure(name: str, address: str, path: str, body: bytes, requests: int) -> Measured:
    """Throughput under load, and the latency a single client sees meanwhile."""
    with grpc.insecure_channel(address) as channel:
        channel.unary_unary(path)(body, timeout=30)  # fails loudly if the request is wrong
    with LatencySampler(address, path, body) as sampler:
        if shutil.which("h2load"):
            rps, tool = h2load(address, path, body, requests, clients=4, streams=8), "h2load"
        else:
            rps, tool = python_load(address, path, body, requests, clients=2), "python"
    p50, p99 = percentiles(sampler.samples)
    return Measured(name, rps, p50, p99, tool)
