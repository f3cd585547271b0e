"""The baseline: a bare grpc.aio server whose unary method returns a constant message the size
of a typical Session, its calls accepted by grpc.aio's own loop: every ratio is against it,
as issue 6 defines it (`--accept-loops` is faster still: see below). Its
streaming method sends the same constant message as many times as the request says: the
most stream messages one Python process can push. Its paced streaming method sends a
message of a given size every so many milliseconds: with unary calls beside it, the work of
the service's busiest streaming case, done by a bare server.

With `--read-url`, each unary call first reads one session row from PostgreSQL, the way the
service does (psycopg's async driver, a prepared statement, connections held between
calls): the floor for any call that makes one round trip, with none of the service's own
work.

With `--accept-loops`, its calls are accepted by the service's accept loops
(server/accept_loops.py), many at a time, not by grpc's own one at a time: the ceiling for a
server that accepts calls as the service does. With `--event-loop uvloop`, it runs on the
service's own loop (server/event_loop.py); by default on asyncio's, as the baseline."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row

from server import event_loop
from server.accept_loops import AcceptLoops, supported

METHOD = "/bench.Baseline/Get"
STREAM_METHOD = "/bench.Baseline/Stream"
PACED_METHOD = "/bench.Baseline/Paced"
READ = "SELECT * FROM sessions WHERE id = %(id)s"


async def serve(port: int, reply: bytes, read_url: str, read_id: str,
                accept_loops: bool) -> None:
    async def connected() -> psycopg.AsyncCursor[Any]:
        conn = await psycopg.AsyncConnection.connect(read_url, autocommit=True,
                                                     row_factory=namedtuple_row)
        return conn.cursor()
    held = 8 if read_url else 0  # as many connections as the service's pool
    cursors = [await connected() for _ in range(held)]
    free = asyncio.Semaphore(held)

    async def get(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        if held:
            async with free:
                cursor = cursors.pop()
                try:
                    await cursor.execute(READ, {"id": read_id}, prepare=True)
                    await cursor.fetchone()
                finally:
                    # A call cut short may leave its connection unusable: replace it.
                    idle = cursor.connection.info.transaction_status == TransactionStatus.IDLE
                    if not idle:
                        await cursor.connection.close()
                    cursors.append(cursor if idle else await connected())
        return reply

    async def stream(request: bytes, context: grpc.aio.ServicerContext
                     ) -> AsyncIterator[bytes]:
        for _ in range(int(request or b"0")):  # the request is the count, in ASCII digits
            yield reply

    async def paced(request: bytes, context: grpc.aio.ServicerContext
                    ) -> AsyncIterator[bytes]:
        # The request is "count interval_ms size", in ASCII digits.
        count, interval_ms, size = (int(part) for part in request.split())
        message = bytes(size)
        for _ in range(count):
            await asyncio.sleep(interval_ms / 1000)
            yield message

    server = grpc.aio.server()
    methods = {"Get": grpc.unary_unary_rpc_method_handler(get),  # bytes in, bytes out
               "Stream": grpc.unary_stream_rpc_method_handler(stream),
               "Paced": grpc.unary_stream_rpc_method_handler(paced)}
    accepts = AcceptLoops() if accept_loops and supported() else None
    if accepts is not None:
        accepts.register(server, "bench.Baseline", methods)
    else:
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("bench.Baseline", methods),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    if accepts is not None:
        accepts.start(server)
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply-file", type=Path, required=True)
    parser.add_argument("--read-url", default="", help="a PostgreSQL database to read from")
    parser.add_argument("--read-id", default="", help="the session each call reads")
    parser.add_argument("--accept-loops", action="store_true",
                        help="accept calls as the service does (server/accept_loops.py)")
    parser.add_argument("--event-loop", choices=event_loop.KINDS, default="asyncio",
                        help="the loop to run on (the service's default: uvloop)")
    args = parser.parse_args()
    event_loop.run(serve(args.port, args.reply_file.read_bytes(), args.read_url, args.read_id,
                         args.accept_loops), args.event_loop)


if __name__ == "__main__":
    main()
