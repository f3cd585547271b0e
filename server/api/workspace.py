"""Which workspace a call acts in. One default workspace until API keys arrive."""

from __future__ import annotations

import grpc

from server.domain.ids import DEFAULT_WORKSPACE


def workspace_of(context: grpc.aio.ServicerContext) -> str:
    """The caller's workspace; every store query is scoped by it."""
    return DEFAULT_WORKSPACE
