"""Calls accepted many at a time, not one after another.

grpc.aio's server (1.85) asks gRPC core for one incoming call at a time: once a call is
accepted, the next is asked for only after four or five turns of the event loop (a task
that asks, the poller thread's wake-up, the future, `asyncio.wait`, the serving task). On
a busy loop each turn takes a while, so a burst of calls waits inside core, each for the
last one's turns, before any handler starts. grpc/grpc#43436 (open) is about this.

Measured on one 2-core machine, SQLite, h2load with 32 calls in flight: with grpc's own
accepting (`make bench-quick`), GetSession 3,498 calls/s, CreateSession 2,225, SendEvents
2,004; with these loops (`make bench`, two runs), 6,074-6,097, 3,402-3,467 and 2,861-3,057.
A bare grpc.aio server went from 3,787-3,864 to 7,947-8,650. With 1 session x 100
subscribers in runs at 1,000 sends/s, a send's round trip went from p50 192-217 ms to
11-15 ms: the sends had been waiting to be accepted.

Here every method of ours is registered with core, and `AHEAD` requests for each stay
outstanding, each renewed as soon as a call takes it, so a burst is accepted in one turn.
The calls run through grpc's own functions (`_handle_rpc`, `_schedule_rpc_coro`): served,
cancelled and shut down exactly as a call grpc accepted. Those functions are private, so
these loops run only on the grpc versions they were tested with (`TESTED`) and only where
the functions take the arguments they were tested with; on others grpc accepts every call
itself, slower and otherwise the same. Two things of grpc's own loop are not done here:
its interceptors and its `maximum_concurrent_rpcs` (neither is readable from Python), so a
server with these loops must not be given either.

A loop may only end when core has failed its outstanding request (the server stopped):
core holds pointers into the request's state, so a loop cancelled before that would have
core write into freed memory. Hence the server stops first, and `stop` never cancels.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import grpc
from grpc._cython import cygrpc  # type: ignore[attr-defined]

log = logging.getLogger(__name__)

# grpcio minor versions whose private serving functions these loops were tested with.
TESTED = ("1.85.",)
# Requests kept outstanding for each method: the largest burst of one method's calls
# accepted in one turn of the loop. More costs a task and a request in core each, idle.
AHEAD = 32


# The private functions the loops call, and the arguments they were tested with.
SIGNATURES = {
    "_handle_rpc": ("method_name", "method_resolver", "interceptors", "rpc_state", "loop",
                    "concurrency_exceeded"),
    "_schedule_rpc_coro": ("rpc_coro", "rpc_state", "loop", "method_name"),
}


def supported() -> bool:
    """Whether this grpcio is one the loops were tested with, its functions unchanged."""
    if not grpc.__version__.startswith(TESTED) or not hasattr(cygrpc, "_MethodResolver"):
        return False
    for name, arguments in SIGNATURES.items():
        code = getattr(getattr(cygrpc, name, None), "__code__", None)
        if code is None or code.co_varnames[:code.co_argcount] != arguments:
            return False
    return True


class AcceptLoops:
    """Registers methods with a server before it starts; `start` keeps `AHEAD` accepts
    outstanding for each, `stop` (after the server's own stop) waits for them to end."""

    def __init__(self, ahead: int = AHEAD) -> None:
        self._ahead = ahead
        self._methods: dict[str, grpc.RpcMethodHandler] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._calls: set[asyncio.Task[Any]] = set()  # the loop keeps only weak references
        self.accepted: Counter[str] = Counter()  # calls these loops took, by method

    def register(self, server: grpc.aio.Server, service: str,
                 handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        """Registers `service`'s methods with core (grpc's own loop then also accepts
        them, one at a time, beside these)."""
        server.add_registered_method_handlers(service, handlers)  # type: ignore[attr-defined]
        for name, handler in handlers.items():
            self._methods[f"/{service}/{name}"] = handler

    def start(self, server: grpc.aio.Server) -> None:
        core = server._server  # type: ignore[attr-defined]  # Cython's: it takes requests
        resolver = cygrpc._MethodResolver([], dict(self._methods))
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._accept(core, resolver, method))
                       for method in self._methods for _ in range(self._ahead)]

    async def stop(self) -> None:
        """Waits for the loops to end, once the server has stopped (which failed every
        outstanding request). Never cancels one: see the module's docstring."""
        if not self._loops:
            return
        _, pending = await asyncio.wait(self._loops, timeout=5)
        if pending:
            log.warning("%d accept loops still wait after the server stopped", len(pending))
        for task in self._loops:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("an accept loop failed", exc_info=task.exception())

    def outstanding(self) -> int:
        """Accept loops still waiting for a call."""
        return sum(not task.done() for task in self._loops)

    def ended_cleanly(self) -> bool:
        """Whether every loop ended by itself, as the server's stop ends them: none
        cancelled, none failed."""
        return all(task.done() and not task.cancelled() and task.exception() is None
                   for task in self._loops)

    async def _accept(self, core: Any, resolver: Any, method: str) -> None:
        loop = asyncio.get_running_loop()
        name = method.encode()
        while core.is_running():
            try:
                call = await core._request_registered_call(name)
            except Exception:  # noqa: BLE001 - the server stopped, or core refused
                if core.is_running():
                    # Never seen. Not asked again: an error that repeats would spin. grpc's
                    # own accept of the method, and this one's other loops, go on.
                    log.warning("accepting %s failed; one fewer accept ahead", method,
                                exc_info=True)
                return
            self.accepted[method] += 1
            try:
                task = loop.create_task(cygrpc._schedule_rpc_coro(
                    cygrpc._handle_rpc(method, resolver, (), call, loop, False),
                    call, loop, method), name=method)
            except Exception:  # noqa: BLE001 - grpc's functions changed after all
                # Released, core cancels the call: its caller hears at once, not at its
                # deadline. This loop ends; grpc's own accept of the method goes on.
                log.exception("serving %s failed; one fewer accept ahead", method)
                return
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
