"""A terminal client: creates (or resumes) a session, sends what you type, and prints the
session's events as they arrive, resuming the stream after a disconnect without a gap."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import grpc
from managedagents.v1 import (
    agent_pb2,
    agent_pb2_grpc,
    environment_pb2,
    session_pb2,
    session_pb2_grpc,
)
from managedagents.v1 import event_pb2 as ev

HELP = """Type a message and press Enter. Commands:
  /tool NAME ARGS   ask the reference agent to use a tool that needs your confirmation
  /custom NAME      ask it for a custom tool, whose result you give
  /slow N           a turn of N steps; /interrupt stops it
  allow | deny [why]  answer a pending tool use;  result TEXT  answer a custom tool use
  /quit             leave (the session stays; resume it with --session)"""


def describe(event: ev.Event) -> str:
    which = event.WhichOneof("payload")
    body: Any = getattr(event, which) if which else None
    text = " ".join(b.text for b in getattr(body, "content", []) if b.type == "text")
    if which == "session_status_idle":
        text = ev.StopReason.Name(body.stop_reason).removeprefix("STOP_REASON_").lower()
        if body.event_ids:
            text += f" (waiting for {', '.join(body.event_ids)})"
    elif which in ("agent_tool_use", "agent_custom_tool_use"):
        text = f"{body.name} {dict(body.input)}"
    elif which == "session_error":
        text = body.message
    return f"[{event.sequence:>4}] {event.type:<26} {text}"


class Chat:
    """One session in a terminal."""

    def __init__(self, channel: grpc.aio.Channel, session_id: str) -> None:
        self.sessions = session_pb2_grpc.SessionServiceStub(channel)
        self.session_id = session_id
        self.last_sequence = 0
        self.pending: list[tuple[str, str]] = []  # (event id, type) waiting for an answer

    async def follow(self) -> None:
        """Prints events from the start; after a disconnect resumes from the last one seen."""
        while True:
            try:
                stream = self.sessions.StreamEvents(session_pb2.StreamEventsRequest(
                    session_id=self.session_id, after_sequence=self.last_sequence))
                async for item in stream:
                    if item.HasField("event"):
                        self.seen(item.event)
                        if item.event.type in ("session.status_terminated", "session.deleted"):
                            return
            except grpc.aio.AioRpcError as error:
                if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                    print(f"stream ended: {error.details()}")
                    return
                await asyncio.sleep(1)  # the server went away: resume where we were

    def seen(self, event: ev.Event) -> None:
        self.last_sequence = event.sequence
        print(describe(event), flush=True)
        if event.type == "agent.tool_use" and event.agent_tool_use.requires_confirmation:
            self.pending.append((event.id, "tool"))
        elif event.type == "agent.custom_tool_use":
            self.pending.append((event.id, "custom"))

    def event_for(self, line: str) -> ev.Event | None:
        word, _, rest = line.partition(" ")
        if word in ("allow", "deny") and self.pending and self.pending[0][1] == "tool":
            use_id, _ = self.pending.pop(0)
            return ev.Event(user_tool_confirmation=ev.UserToolConfirmation(
                tool_use_id=use_id, deny_message=rest if word == "deny" else "",
                result=(ev.TOOL_CONFIRMATION_RESULT_ALLOW if word == "allow"
                        else ev.TOOL_CONFIRMATION_RESULT_DENY)))
        if word == "result" and self.pending and self.pending[0][1] == "custom":
            use_id, _ = self.pending.pop(0)
            return ev.Event(user_custom_tool_result=ev.UserCustomToolResult(
                custom_tool_use_id=use_id, content=[ev.ContentBlock(type="text", text=rest)]))
        if line == "/interrupt":
            return ev.Event(type="user.interrupt")
        return ev.Event(user_message=ev.UserMessage(text=line)) if line else None

    async def send(self, line: str) -> None:
        event = self.event_for(line)
        if event is None:
            return
        try:
            await self.sessions.SendEvents(session_pb2.SendEventsRequest(
                session_id=self.session_id, events=[event]))
        except grpc.aio.AioRpcError as error:
            print(f"not sent: {error.code().name}: {error.details()}")


async def create_session(channel: grpc.aio.Channel) -> str:
    agents = agent_pb2_grpc.AgentServiceStub(channel)
    sessions = session_pb2_grpc.SessionServiceStub(channel)
    agent = await agents.CreateAgent(agent_pb2.CreateAgentRequest(
        name="chat assistant", model="reference", system="Answer briefly."))
    session = await sessions.CreateSession(session_pb2.CreateSessionRequest(
        agent_id=agent.id, title="terminal chat",
        environment=session_pb2.InlineEnvironment(config=environment_pb2.EnvironmentConfig())))
    return session.id


async def run(target: str, session_id: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        session_id = session_id or await create_session(channel)
        print(f"session {session_id}\n{HELP}")
        chat = Chat(channel, session_id)
        follower = asyncio.create_task(chat.follow())
        loop = asyncio.get_running_loop()
        while not follower.done():
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "/quit":
                break
            await chat.send(line.strip())
        follower.cancel()
