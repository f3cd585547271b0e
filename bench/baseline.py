"""The baseline: a bare grpc.aio server whose unary method returns a constant message the size
of a typical Session. Nothing can be faster in Python; every ratio is against it. Its
streaming method sends the same constant message as many times as the request says: the
most stream messages one Python process can push."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

METHOD = "/bench.Baseline/Get"
STREAM_METHOD = "/bench.Baseline/Stream"


async def serve(port: int, reply: bytes) -> None:
    async def get(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return reply

    async def stream(request: bytes, context: grpc.aio.ServicerContext
                     ) -> AsyncIterator[bytes]:
        for _ in range(int(request or b"0")):  # the request is the count, in ASCII digits
            yield reply

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler("bench.Baseline", {
        "Get": grpc.unary_unary_rpc_method_handler(get),  # bytes in, bytes out
        "Stream": grpc.unary_stream_rpc_method_handler(stream)})
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply-file", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.reply_file.read_bytes()))


if __name__ == "__main__":
    main()
