"""The streaming bench's client, in a process of its own: send->receive latency at a set
event rate, or many idle streams and the timeliness of their heartbeats. Prints JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import sys
import time

import grpc
from managedagents.v1 import event_pb2, session_pb2, session_pb2_grpc

from bench import baseline

IN_FLIGHT = 200
SEND_EVENTS = "/managedagents.v1.SessionService/SendEvents"
STREAM_EVENTS = "/managedagents.v1.SessionService/StreamEvents"
# A user.message's text is its send time in nanoseconds after this marker; subscribers find
# it in the stream's bytes.
MARK = "sent@"
SENT = re.compile(rb"sent@(\d{19})")


async def _first_heartbeat(stream: grpc.aio.UnaryStreamCall) -> None:
    async for item in stream:
        if isinstance(item, bytes):  # a stream read raw (`subscribe`)
            item = session_pb2.StreamEventsResponse.FromString(item)
        if item.HasField("heartbeat"):
            return


async def subscribe(address: str, sessions: list[str], subscribers: int,
                    expect: int, per_message: int = 0) -> dict[str, object]:
    """Follows the sessions; records each `user.message`'s send->receive latency (its text
    is its send time) until every stream has `expect` of them, or 60 s pass. With
    `per_message`, streams ask for up to that many events a message.

    Messages are read as bytes and the send times found by their marker (`SENT`), not
    parsed: these clients share one core with the sender, and their own delay shows up as
    latency. (Measured at 25,000 events/s a process: 10% of a core, 12% when parsing.)"""
    received: list[float] = []
    messages, first, last = 0, 0, 0  # stream messages, and when the first and last came
    wanted = expect * len(sessions) * subscribers
    all_in = asyncio.Event()
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_stream(STREAM_EVENTS)  # raw bytes out
        streams = [call(session_pb2.StreamEventsRequest(
                       session_id=sid, max_events_per_message=per_message).SerializeToString())
                   for sid in sessions for _ in range(subscribers)]
        await asyncio.gather(*(_first_heartbeat(s) for s in streams))  # all subscribed
        print("READY", flush=True)

        async def follow(stream: grpc.aio.UnaryStreamCall) -> None:
            nonlocal messages, first, last
            async for raw in stream:
                now = time.time_ns()
                found = SENT.findall(raw)
                if found:  # (not a heartbeat)
                    messages, first, last = messages + 1, first or now, now
                received.extend([(now - int(sent)) / 1e6 for sent in found])
                if len(received) >= wanted:
                    all_in.set()

        followers = [asyncio.create_task(follow(s)) for s in streams]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 60)
        for task in followers:
            task.cancel()
    return {"latencies_ms": [round(x, 2) for x in received], "expected": wanted,
            "messages": messages, "first_ns": first, "last_ns": last}


async def send(address: str, sessions: list[str], rate: float, seconds: float,
               bare: bool = False) -> dict[str, object]:
    """Sends `rate` user.messages a second for `seconds`, spread over the sessions. At most
    IN_FLIGHT calls wait at once: a server that cannot keep up slows the sender (the rate
    reported is the rate achieved) rather than collecting thousands of calls, which gRPC
    sheds by cancelling them. `bare`: the same requests, to the baseline's unary method.
    Reports each call's round trip too."""
    async with grpc.aio.insecure_channel(address) as channel:
        method = baseline.METHOD if bare else SEND_EVENTS
        call = channel.unary_unary(method)  # raw bytes both ways
        total = int(rate * seconds)
        sends = []
        slots = asyncio.Semaphore(IN_FLIGHT)
        round_trips: list[float] = []

        async def one(sid: str) -> None:
            try:
                start = time.time_ns()
                await call(session_pb2.SendEventsRequest(
                    session_id=sid, events=[event_pb2.Event(
                        user_message=event_pb2.UserMessage(text=f"{MARK}{start}"))]
                ).SerializeToString())
                round_trips.append((time.time_ns() - start) / 1e6)
            finally:
                slots.release()

        start = time.perf_counter()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            sends.append(asyncio.ensure_future(one(sessions[i % len(sessions)])))
        await asyncio.gather(*sends)
        return {"sent": total, "events_per_second": total / (time.perf_counter() - start),
                "round_trips_ms": [round(x, 2) for x in round_trips]}


async def drain(address: str, streams: int, messages: int,
                paced: str = "") -> dict[str, object]:
    """Opens `streams` streams of the baseline's streaming method, `messages` each, and
    counts what arrives: the bare-gRPC ceiling for fan-out. `paced` ("interval_ms size"):
    the paced method's messages instead, one every interval_ms."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_stream(baseline.PACED_METHOD if paced else baseline.STREAM_METHOD)
        request = f"{messages} {paced}".encode() if paced else str(messages).encode()

        async def one() -> int:
            return sum([1 async for _ in call(request)])

        start = time.perf_counter()
        counts = await asyncio.gather(*(one() for _ in range(streams)))
        return {"messages": sum(counts), "seconds": time.perf_counter() - start}


async def idle(address: str, sessions: list[str], per_session: int, heartbeat: float,
               rounds: int) -> dict[str, object]:
    gaps: list[float] = []
    wanted = [sid for sid in sessions for _ in range(per_session)]
    # One connection per 1,000 streams (distinct channel arguments keep them apart), opened
    # in waves, as many clients arriving would.
    channels = [grpc.aio.insecure_channel(address, options=[("bench.connection", i)])
                for i in range(max(1, len(wanted) // 1000))]
    try:
        stubs = [session_pb2_grpc.SessionServiceStub(c) for c in channels]
        streams = []
        for start in range(0, len(wanted), 500):
            wave = [stubs[(start + i) % len(stubs)].StreamEvents(
                session_pb2.StreamEventsRequest(session_id=sid))
                for i, sid in enumerate(wanted[start:start + 500])]
            await asyncio.gather(*(_first_heartbeat(s) for s in wave))
            streams += wave
        print("READY", flush=True)
        sys.stdin.readline()  # the parent has read the server's memory

        async def beats(stream: grpc.aio.UnaryStreamCall) -> None:
            last = time.monotonic()
            count = 0
            async for item in stream:
                if item.HasField("heartbeat"):
                    now = time.monotonic()
                    gaps.append(now - last)
                    last, count = now, count + 1
                    if count >= rounds:
                        return

        await asyncio.wait_for(asyncio.gather(*(beats(s) for s in streams)),
                               timeout=heartbeat * (rounds + 3) + 60)
        for stream in streams:
            stream.cancel()
    finally:
        for channel in channels:
            await channel.close()
    on_time = sum(1 for g in gaps[len(streams):] if g <= heartbeat * 1.5)
    late = gaps[len(streams):]
    return {"streams": len(streams), "heartbeats_on_time": on_time,
            "heartbeats": len(late), "max_gap_s": max(late) if late else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["subscribe", "send", "idle", "drain"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--sessions", default="", help="comma-separated session IDs")
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--heartbeat", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--expect", type=int, default=0, help="events each stream awaits")
    parser.add_argument("--per-message", type=int, default=0,
                        help="max_events_per_message of each stream (0: one event a message)")
    parser.add_argument("--bare", action="store_true",
                        help="send: to the baseline's unary method, not to SendEvents")
    parser.add_argument("--paced", default="",
                        help='drain: "interval_ms size", a message every interval_ms')
    parser.add_argument("--cpu", type=int, default=-1,
                        help="run on this core only (before gRPC starts its threads)")
    args = parser.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    sessions = args.sessions.split(",")
    # As in the server: the collector's full passes over what the imports made would pause
    # this client for tens of milliseconds, and show up as delivery latency.
    gc.collect()
    gc.freeze()
    if args.mode == "subscribe":
        result = asyncio.run(subscribe(args.address, sessions, args.subscribers, args.expect,
                                       args.per_message))
    elif args.mode == "send":
        result = asyncio.run(send(args.address, sessions, args.rate, args.seconds, args.bare))
    elif args.mode == "drain":
        result = asyncio.run(drain(args.address, args.subscribers, args.expect, args.paced))
    else:
        result = asyncio.run(idle(args.address, sessions, args.subscribers, args.heartbeat,
                                  args.rounds))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
