"""Calls accepted many at a time, not one after another.

grpc.aio's server (1.85) asks gRPC core for one incoming call at a time: once a call is
accepted, the next is asked for only after four or five turns of the event loop (a task
that asks, the poller thread's wake-up, the future, `asyncio.wait`, the serving task). On
a busy loop each turn takes a while, so a burst of calls waits inside core, each for the
last one's turns, before any handler starts. grpc/grpc#43436 (open) is about this.

Measured with `make bench` on SQLite (2 cores; h2load, 32 calls in flight), grpc's own
accepting against these loops: GetSession 3,498 -> 5,808 calls/s, SendEvents 2,004 -> 3,054,
CreateSession 2,225 -> 3,367. With 1 session x 100 subscribers in runs at 1,000 sends/s,
a send's round trip went from p50 192-217 ms to 11 ms: the sends had been waiting to be
accepted.

Here every method of ours is registered with core, and `AHEAD` requests for each stay
outstanding, each renewed as soon as a call takes it, so a burst is accepted in one turn.
The calls run through grpc's own functions (`_handle_rpc`, `_schedule_rpc_coro`): served,
cancelled and shut down exactly as a call grpc accepted. Those functions are private, so
these loops run only on the grpc versions they were tested with (`TESTED`); on others grpc
accepts every call itself, slower and otherwise the same.
"""

from __future__ import annotations

import asyncio
import contextlib
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


def supported() -> bool:
    """Whether this grpcio is one the loops were tested with."""
    return grpc.__version__.startswith(TESTED) and all(
        hasattr(cygrpc, name) for name in ("_handle_rpc", "_schedule_rpc_coro",
                                           "_MethodResolver"))


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
        if not self._loops:
            return
        # The server's stop failed every outstanding request, which ends each loop.
        _, pending = await asyncio.wait(self._loops, timeout=5)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def outstanding(self) -> int:
        """Accept loops still waiting for a call."""
        return sum(not task.done() for task in self._loops)

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
            handling = cygrpc._handle_rpc(method, resolver, (), call, loop, False)
            task = loop.create_task(cygrpc._schedule_rpc_coro(handling, call, loop, method),
                                    name=method)
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
