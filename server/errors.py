"""Domain errors -> gRPC status with google.rpc details. The one place that knows status codes."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.api import convert
from server.domain import errors

log = logging.getLogger(__name__)
DOMAIN = "managedagents.v1"
F = TypeVar("F", bound=Callable[..., Any])

_CODES: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS),
    (errors.Aborted, code_pb2.ABORTED),
    (errors.ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (errors.Unavailable, code_pb2.UNAVAILABLE),
]


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: errors.DomainError) -> status_pb2.Status:
    """The google.rpc.Status of a domain error: ErrorInfo always, plus the details that fit."""
    code = next(c for kind, c in _CODES if isinstance(error, kind))
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN,
                                                 metadata=error.metadata))]
    if isinstance(error, errors.InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations])))
    elif isinstance(error, errors.NotFound):
        details.append(_pack(error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=error.resource_id,
            description=error.message)))
    elif isinstance(error, errors.FailedPrecondition):
        details.append(_pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=error.reason, subject=error.subject, description=error.message)])))
    elif isinstance(error, errors.Unavailable):
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay={"seconds": 1})))
    return status_pb2.Status(code=code, message=error.message, details=details)


async def _abort(context: grpc.aio.ServicerContext, error: Exception, method: str) -> NoReturn:
    if isinstance(error, errors.DomainError):
        # grpc-stubs predates ServicerContext.abort_with_status on grpc.aio.
        await context.abort_with_status(  # type: ignore[attr-defined]
            rpc_status.to_status(to_status(error)))
    log.exception("internal error in %s", method)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")


def screen(request: Any) -> None:
    """Refuses text no database can store, naming the field, before any work is done.
    (A client stream is screened message by message by its servicer.)"""
    if not isinstance(request, Message):
        return
    # A NUL character in a string is a zero byte in the encoding; most requests have no
    # zero byte at all, and checking that is far cheaper than walking every field.
    if b"\x00" not in request.SerializeToString():
        return
    field = convert.nul_field(request)
    if field is not None:
        raise errors.InvalidArgument.one(field, "must not contain NUL characters")


def unary(method: F) -> F:
    """Wraps a unary servicer method: a domain error becomes its rich status."""
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            screen(request)
            return await method(self, request, context)
        except Exception as error:  # noqa: BLE001 - every failure leaves as a status
            await _abort(context, error, method.__name__)
    return wrapper  # type: ignore[return-value]


def streaming(method: F) -> F:
    """Wraps a server-streaming servicer method (an async generator) the same way."""
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any,
                      context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            screen(request)
            async for item in method(self, request, context):
                yield item
        except Exception as error:  # noqa: BLE001 - every failure leaves as a status
            await _abort(context, error, method.__name__)
    return wrapper  # type: ignore[return-value]
