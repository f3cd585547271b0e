"""Command line: `python -m server serve|migrate|runtime|chat`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from server import chat, config, event_loop, reference_runtime
from server.app import create_server
from server.store import migrate

log = logging.getLogger("server")


async def serve(settings: config.Settings, reference_runtimes: int = 0) -> None:
    service = await create_server(settings)
    await service.start()
    runtimes: asyncio.Task[None] | None = None
    try:
        # One turn of the loop first: the accept loops (server/accept_loops.py) then hold
        # their outstanding requests, ~17,000 objects that mostly live as long as the
        # process (a rarely called method's requests wait for good). Frozen after that
        # turn, the collector walks 9 objects at rest rather than 16,797.
        await asyncio.sleep(0)
        # What exists now (modules, the app) lives as long as the process. Frozen, the
        # cyclic collector's full passes stop walking it: one took 30-40 ms over these
        # ~100,000 objects, all at once, in the middle of whatever calls were under way.
        gc.collect()
        gc.freeze()
        # Young collections every 10,000 new objects, not 700: a call's short-lived objects
        # are then freed by their reference counts before a pass sees them, and fewer live
        # on into the old generations, whose full passes stall every call under way.
        # Measured at 1,000 SendEvents/s over 100 streamed sessions: by default, 4 full
        # passes in three 10 s runs (up to 18 ms; 57 ms in another run); with 10,000, none
        # in four runs, and a young pass (p50 4 ms, at most 8) about once a second.
        gc.set_threshold(10_000, 10, 10)
        if reference_runtimes:
            # Attached over loopback, through the public RuntimeService like any other.
            target = f"127.0.0.1:{service.port}"
            runtimes = asyncio.create_task(reference_runtime.run(
                target, reference_runtime.default_runtime_id(), reference_runtimes, 30, 0.2))
            log.info("%d reference runtime(s) attached", reference_runtimes)
        log.info("serving managedagents.v1 on %s (port %d), database %s, event loop %s",
                 settings.listen, service.port,
                 service.database.url.render_as_string(hide_password=True),
                 settings.event_loop)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        # Also after an error: the server stops before anything else is torn down (its
        # accept loops must not be cancelled while core still holds their requests).
        if runtimes is not None:
            runtimes.cancel()
        await service.stop(grace=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the gRPC API")
    config.add_arguments(serve_cmd)
    serve_cmd.add_argument("--reference-runtimes", type=int, default=0,
                           help="also run this many reference runtimes in the process")
    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    config.add_arguments(migrate_cmd, only=("database_url", "log_level"))
    runtime_cmd = commands.add_parser("runtime", help="run the reference agent runtime")
    runtime_cmd.add_argument("--target", default="127.0.0.1:50051", help="the service")
    runtime_cmd.add_argument("--runtime-id", default=reference_runtime.default_runtime_id())
    runtime_cmd.add_argument("--concurrency", type=int, default=1, help="turns at once")
    runtime_cmd.add_argument("--lease-seconds", type=int, default=30)
    runtime_cmd.add_argument("--step-seconds", type=float, default=0.2,
                             help="pause between the steps of a /slow turn")
    config.add_arguments(runtime_cmd, only=("log_level",))
    chat_cmd = commands.add_parser("chat", help="talk to an agent in a session")
    chat_cmd.add_argument("--target", default="127.0.0.1:50051", help="the service")
    chat_cmd.add_argument("--session", default="", help="resume this session")
    config.add_arguments(chat_cmd, only=("log_level",))
    args = parser.parse_args(argv)
    settings = config.from_namespace(args)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "runtime":
        asyncio.run(reference_runtime.run(args.target, args.runtime_id, args.concurrency,
                                          args.lease_seconds, args.step_seconds))
        return 0
    if args.command == "chat":
        asyncio.run(chat.run(args.target, args.session))
        return 0
    if args.command == "migrate":
        migrate.upgrade(settings.database_url)
        log.info("database is at the newest schema")
        return 0
    problem = event_loop.unusable(settings.event_loop)
    if problem is not None:
        log.error("%s", problem)
        return 2
    current, head = migrate.pending(settings.database_url)
    if current != head:
        log.error("the database schema is at %s, the service needs %s: run "
                  "`python -m server migrate --database-url ...` first", current or "nothing",
                  head)
        return 2
    event_loop.run(serve(settings, args.reference_runtimes), settings.event_loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
