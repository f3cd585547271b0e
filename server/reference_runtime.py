"""A deterministic reference agent runtime, speaking only the public RuntimeService.

No model and no network: it answers each message with `agent.thinking` then
`agent.message`; `/tool NAME ARGS` asks for a tool that needs confirmation and continues on
allow or deny; `/custom NAME` asks the client for a custom tool result; `/slow N` thinks in N
steps (renewing its lease and honouring interrupts between steps); `/terminate` ends the
session. It emits span events with token usage. Run several at once: leases keep them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

import grpc
from google.protobuf import struct_pb2
from managedagents.v1 import event_pb2 as ev
from managedagents.v1 import runtime_pb2, runtime_pb2_grpc

log = logging.getLogger("runtime")
ALLOW = ev.TOOL_CONFIRMATION_RESULT_ALLOW


def text_of(blocks: Any) -> str:
    return " ".join(block.text for block in blocks if block.type == "text")


def text_event(kind: str, text: str) -> ev.Event:
    blocks = [ev.ContentBlock(type="text", text=text)]
    if kind == "thinking":
        return ev.Event(agent_thinking=ev.AgentThinking(content=blocks))
    return ev.Event(agent_message=ev.AgentMessage(content=blocks))


class Interrupted(Exception):
    """The turn was interrupted; it ends with stop reason cancelled."""


class Turn:
    """One leased turn: reads its input, writes its events, ends it."""

    def __init__(self, stub: runtime_pb2_grpc.RuntimeServiceStub, lease: runtime_pb2.Lease,
                 lease_seconds: int, step_seconds: float) -> None:
        self.stub = stub
        self.lease = lease
        self.session_id = lease.session_id
        self.lease_seconds = lease_seconds
        self.step_seconds = step_seconds
        self.handled: set[str] = set()
        self.model = lease.session.agent.model or "scripted"

    async def write(self, *events: ev.Event, processed: tuple[str, ...] = ()) -> list[ev.Event]:
        reply = await self.stub.AppendRuntimeEvents(runtime_pb2.AppendRuntimeEventsRequest(
            session_id=self.session_id, lease_id=self.lease.lease_id, events=list(events),
            processed_event_ids=list(processed)))
        return list(reply.events)

    async def renew(self) -> list[ev.Event]:
        """Extends the lease; returns the turn's input not handled yet."""
        lease = await self.stub.RenewLease(runtime_pb2.RenewLeaseRequest(
            session_id=self.session_id, lease_id=self.lease.lease_id,
            lease_seconds=self.lease_seconds))
        return [e for e in lease.pending_events if e.id not in self.handled]

    async def end(self, reason: ev.StopReason) -> runtime_pb2.EndTurnResponse:
        return await self.stub.EndTurn(runtime_pb2.EndTurnRequest(
            session_id=self.session_id, lease_id=self.lease.lease_id, stop_reason=reason))

    async def run(self) -> None:
        pending = [e for e in self.lease.pending_events]
        try:
            while pending:
                for event in pending:
                    if await self.handle(event):
                        return  # the turn waits for the client
                pending = await self.renew()
            await self.end(ev.STOP_REASON_END_TURN)
        except Interrupted as interrupt:
            await self.write(processed=(str(interrupt),))
            await self.end(ev.STOP_REASON_CANCELLED)

    async def handle(self, event: ev.Event) -> bool:
        """Handles one input event; True when the turn must wait for a client's answer."""
        self.handled.add(event.id)
        which = event.WhichOneof("payload")
        if which == "user_interrupt":
            raise Interrupted(event.id)
        if which == "user_message":
            return await self.answer(event, text_of(event.user_message.content).strip())
        if which == "user_tool_confirmation":
            answer = event.user_tool_confirmation
            result = (f"ran the tool (confirmation {event.id})" if answer.result == ALLOW
                      else f"the tool was denied: {answer.deny_message or 'no reason given'}")
            await self.write(ev.Event(agent_tool_result=ev.AgentToolResult(
                tool_use_id=answer.tool_use_id, is_error=answer.result != ALLOW,
                content=[ev.ContentBlock(type="text", text=result)])),
                text_event("message", f"Tool finished: {result}."), processed=(event.id,))
            return False
        if which == "user_custom_tool_result":
            output = text_of(event.user_custom_tool_result.content) or "(nothing)"
            await self.write(text_event("message", f"Custom tool returned: {output}"),
                             processed=(event.id,))
            return False
        await self.write(processed=(event.id,))
        return False

    async def answer(self, message: ev.Event, text: str) -> bool:
        start = (await self.write(ev.Event(span_model_request_start=ev.SpanModelRequestStart(
            model=self.model))))[0]
        command, _, rest = text.partition(" ")
        if command == "/slow":
            steps = int(rest) if rest.isdigit() else 5
            for step in range(steps):
                await self.write(text_event("thinking", f"Step {step + 1} of {steps}."))
                await asyncio.sleep(self.step_seconds)
                for event in await self.renew():
                    if event.HasField("user_interrupt"):
                        self.handled.add(event.id)
                        await self.write(processed=(message.id,))
                        raise Interrupted(event.id)
        await self.write(text_event("thinking", f"The user wrote {len(text)} characters."))
        waits = False
        if command == "/tool":
            name, _, args = rest.partition(" ")
            tool_input = struct_pb2.Struct()
            tool_input.update({"args": args})
            await self.write(ev.Event(agent_tool_use=ev.AgentToolUse(
                name=name or "tool", input=tool_input, requires_confirmation=True)))
            waits = True
        elif command == "/custom":
            await self.write(ev.Event(agent_custom_tool_use=ev.AgentCustomToolUse(
                name=rest or "custom")))
            waits = True
        elif command == "/terminate":
            await self.write(processed=(message.id,))
            await self.stub.TerminateSession(runtime_pb2.TerminateSessionRequest(
                session_id=self.session_id, lease_id=self.lease.lease_id,
                reason="the user asked to end the session"))
            return True
        else:
            await self.write(text_event("message", f"You said: {text}"))
        await self.write(ev.Event(span_model_request_end=ev.SpanModelRequestEnd(
            model_request_start_id=start.id, usage=ev.Usage(
                input_tokens=len(text.split()) + 10, output_tokens=12))),
            processed=(message.id,))
        if waits:
            try:
                await self.end(ev.STOP_REASON_REQUIRES_ACTION)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
                    raise
                return False  # answered already: the turn goes on
        return waits


async def serve_turns(target: str, runtime_id: str, lease_seconds: int = 30,
                      step_seconds: float = 0.2, stop: asyncio.Event | None = None) -> None:
    """Takes turns from the service until `stop` is set (or forever)."""
    stop = stop or asyncio.Event()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = runtime_pb2_grpc.RuntimeServiceStub(channel)
        while not stop.is_set():
            try:
                reply = await _unless_stopped(stop, stub.AcquireWork(
                    runtime_pb2.AcquireWorkRequest(runtime_id=runtime_id,
                                                   lease_seconds=lease_seconds,
                                                   wait_seconds=10)))
                if reply is not None and reply.HasField("lease"):
                    log.info("%s: took a turn of %s", runtime_id, reply.lease.session_id)
                    await Turn(stub, reply.lease, lease_seconds, step_seconds).run()
            except grpc.aio.AioRpcError as error:
                # A lost lease, a deleted session, or the service restarting: take the next.
                log.warning("%s: %s %s", runtime_id, error.code().name, error.details())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)


async def _unless_stopped(stop: asyncio.Event, call: Any) -> Any:
    """The call's reply, or None (and the call cancelled) if `stop` is set first."""
    waiting = asyncio.ensure_future(call)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not waiting.done():
        waiting.cancel()
        return None
    return waiting.result()


def default_runtime_id() -> str:
    return f"reference-{socket.gethostname()}-{os.getpid()}"


async def run(target: str, runtime_id: str, concurrency: int, lease_seconds: int,
              step_seconds: float) -> None:
    await asyncio.gather(*(serve_turns(target, f"{runtime_id}-{i}", lease_seconds, step_seconds)
                           for i in range(concurrency)))
