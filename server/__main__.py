"""Command line: `python -m server serve|migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from server import config
from server.app import create_server
from server.store import migrate

log = logging.getLogger("server")


async def serve(settings: config.Settings) -> None:
    service = await create_server(settings)
    await service.server.start()
    log.info("serving managedagents.v1 on %s (port %d), database %s", settings.listen,
             service.port, service.database.url.render_as_string(hide_password=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await service.stop(grace=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the gRPC API")
    config.add_arguments(serve_cmd)
    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    config.add_arguments(migrate_cmd, only=("database_url", "log_level"))
    args = parser.parse_args(argv)
    settings = config.from_namespace(args)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "migrate":
        migrate.upgrade(settings.database_url)
        log.info("database is at the newest schema")
        return 0
    current, head = migrate.pending(settings.database_url)
    if current != head:
        log.error("the database schema is at %s, the service needs %s: run "
                  "`python -m server migrate --database-url ...` first", current or "nothing",
                  head)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
