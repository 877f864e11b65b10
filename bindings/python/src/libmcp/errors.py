"""Exceptions of the binding.

`MCPError` carries an engine status (the MCP_ERR_* codes of mcp.h) and the
engine's message; one subclass per status, so callers catch what they mean.
`ToolError` and `ResourceNotFound` are raised by *handlers* to shape their answer.
"""
from __future__ import annotations

from typing import Any

# mcp.h status codes (append-only there, so fixed here).
OK = 0
ERR_INVALID_ARG = 1
ERR_INVALID_JSON = 2
ERR_EXISTS = 3
ERR_NOT_FOUND = 4
ERR_STATE = 5
ERR_IO = 6
ERR_NO_MEMORY = 7
ERR_LIMIT = 8
ERR_UNSUPPORTED = 9
ERR_TIMEOUT = 10
ERR_CANCELLED = 11
ERR_INTERNAL = 12
ERR_PEER = 13
ERR_CLOSED = 14
ERR_INPUT_REQUIRED = 15


class LibraryError(ImportError):
    """libmcp cannot be used: not found, not loadable, or of another ABI major version."""


class MCPError(Exception):
    """An engine function failed. `status` is the mcp_status code, `message` the engine's text."""

    status: int = ERR_INTERNAL

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidArgument(MCPError, ValueError):
    status = ERR_INVALID_ARG


class InvalidJSON(MCPError, ValueError):
    status = ERR_INVALID_JSON


class AlreadyExists(MCPError, ValueError):
    status = ERR_EXISTS


class NotFound(MCPError, LookupError):
    status = ERR_NOT_FOUND


class StateError(MCPError, RuntimeError):
    status = ERR_STATE


class EngineIOError(MCPError, OSError):
    status = ERR_IO


class LimitExceeded(MCPError):
    status = ERR_LIMIT


class Unsupported(MCPError):
    """The peer did not declare the capability, or the library lacks the function."""

    status = ERR_UNSUPPORTED


class RequestTimeout(MCPError, TimeoutError):
    status = ERR_TIMEOUT


class Cancelled(MCPError):
    status = ERR_CANCELLED


class Closed(MCPError, ConnectionError):
    status = ERR_CLOSED


class PeerError(MCPError):
    """The client answered a request with a JSON-RPC error."""

    status = ERR_PEER

    def __init__(self, message: str, code: int = 0, data: Any = None):
        super().__init__(message)
        self.code = code
        self.data = data

    def __str__(self) -> str:
        return f"{self.message} (JSON-RPC error {self.code})"


_BY_STATUS: dict[int, type[MCPError]] = {
    cls.status: cls
    for cls in (InvalidArgument, InvalidJSON, AlreadyExists, NotFound, StateError, EngineIOError,
                LimitExceeded, Unsupported, RequestTimeout, Cancelled, Closed, PeerError)
}


def error_for(status: int, message: str) -> MCPError:
    """The exception for an engine status."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return MCPError(message, status)
    return cls(message)


class ToolError(Exception):
    """Raise in a tool to answer an isError result with this message.

    Any other exception does the same; ToolError says "this is expected" (the
    binding does not log it as a failure of the tool's code).
    """


class ResourceNotFound(LookupError):
    """Raise in a resource function: the client gets JSON-RPC error -32002."""


class InputRequired(BaseException):
    """The client's input is needed (a 2026-07-28 request; multi round-trip requests).

    Raised where a handler waits for a request to the client (`await ctx.elicit(...)`,
    `ctx.sample(...).result()`, ...) whose answer has not come yet. Let it propagate:
    the binding answers the call with an InputRequiredResult that asks the client
    every request the handler made so far, and when the client retries with the
    answers the handler runs again from the top and this time gets them.

    It derives from BaseException, like asyncio.CancelledError, so that the common
    `except Exception:` in a handler does not swallow it and answer as if the
    request had failed. A handler that must clean up uses `finally` (or catches
    InputRequired and re-raises it).
    """

    def __init__(self, message: str = "the client's input is required"):
        super().__init__(message)
