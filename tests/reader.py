"""Reads a StreamEvents call on a thread, so a test can write while it reads."""

from __future__ import annotations

import queue
import threading
import time
from collections import deque

import grpc
from managedagents.v1 import session_pb2

WAIT = 30  # seconds; only a failing test waits this long


class Reader:
    """Reads a stream on a thread, so a test can write while it reads."""

    def __init__(self, server, **request):
        self.call = server.sessions.StreamEvents(session_pb2.StreamEventsRequest(**request))
        self.items: queue.Queue = queue.Queue()
        self.in_runs = request.get("max_events_per_message", 0) > 0
        self.runs: list[int] = []  # the length of each run received, in runs mode
        self._unread: deque = deque()  # the rest of the last run
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for item in self.call:
                self.items.put(item)
        except grpc.RpcError as error:
            self.items.put(error)
        self.items.put(None)

    def next(self):
        item = self.items.get(timeout=WAIT)
        if isinstance(item, grpc.RpcError) and item.code() != grpc.StatusCode.CANCELLED:
            raise item
        return item

    def next_event(self):
        """The next event, whether it came alone or in a run (each as its mode sends it).
        Fails after WAIT seconds of heartbeats only (a stream missing an event)."""
        deadline = time.monotonic() + WAIT
        while not self._unread:
            assert time.monotonic() < deadline, f"no event within {WAIT} s, only heartbeats"
            item = self.next()
            if item is None:
                return None
            kind = item.WhichOneof("item")
            if kind != "heartbeat":
                assert kind == ("events" if self.in_runs else "event"), f"unexpected {item}"
                self.runs.append(len(item.events.events) if self.in_runs else 1)
                self._unread.extend(item.events.events if self.in_runs else [item.event])
        return self._unread.popleft()

    def events_through(self, sequence):
        events = []
        while not events or events[-1].sequence < sequence:
            events.append(self.next_event())
        return events

    def wait_heartbeat(self):
        """Waits for a heartbeat, which proves the stream is subscribed and caught up."""
        assert not self._unread, f"unexpected {list(self._unread)}"
        while True:
            item = self.next()
            assert item is not None and item.WhichOneof("item") == "heartbeat", \
                f"unexpected {item}"
            if item.HasField("heartbeat"):
                return item.heartbeat

    def close(self):
        self.call.cancel()
        self.thread.join(timeout=WAIT)

    def until(self, predicate):
        """Events up to and including the first that satisfies `predicate`."""
        events = []
        while True:
            event = self.next_event()
            assert event is not None, f"the stream ended before the event; got {events}"
            events.append(event)
            if predicate(event):
                return events
