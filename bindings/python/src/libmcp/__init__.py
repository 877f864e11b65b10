"""libmcp: MCP servers and clients in Python on the libmcp engine (a shared library, through ctypes).

    from libmcp import Server

    srv = Server("demo", "1.0")

    @srv.tool()
    def add(a: int, b: int) -> int:
        \"\"\"Add two numbers.\"\"\"
        return a + b

    if __name__ == "__main__":
        srv.run_stdio()

Client / AsyncClient talk to any MCP server over stdio or HTTP.

The library is found through $LIBMCP_PATH, a copy bundled in this package, or
the system library path (see library_path()). A library of another ABI major
version is refused.
"""
from __future__ import annotations

from . import errors
from ._ffi import ABI_MAJOR
from ._completion import CompletionArgument, CompletionRef
from .async_client import AsyncClient
from .client import Client, ClientRequest
from .content import (
    AssistantMessage, Audio, Completion, Content, EmbeddedResource, Image, Message, PromptResult, ResourceContents,
    ResourceLink, Text, ToolResult, UserMessage,
)
from .context import Context, ElicitResult, Pending, SamplingResult
from .errors import (
    AlreadyExists, Cancelled, Closed, EngineIOError, InputRequired, InvalidArgument, InvalidJSON, LibraryError,
    LimitExceeded, MCPError, NotFound, PeerError, RequestTimeout, ResourceNotFound, StateError, ToolError, Unsupported,
)
from ._log import set_log_hook
from . import tracing
from .server import Server
from .session import Session
from .store import DictStore, Store

# The package is released with the library it bundles: the same as MCP_VERSION_STRING
# in include/mcp.h (tests/test_library.py checks). The build backend reads it from here.
__version__ = "0.8.0"


def library_path() -> str:
    """The file of the loaded libmcp (loading it if needed)."""
    from . import _ffi
    return _ffi.load().path


def abi_version() -> tuple[int, int]:
    """(major, minor) of the loaded library's ABI."""
    from . import _ffi
    v = _ffi.load().abi_version
    return v >> 16, v & 0xFFFF


def engine_version() -> str:
    """The loaded library's release (mcp_version())."""
    from . import _ffi
    return _ffi.load().version


__all__ = [
    "Server", "Session", "Store", "DictStore", "Context", "Client", "AsyncClient", "ClientRequest", "Pending", "SamplingResult", "ElicitResult",
    "Content", "Text", "Image", "Audio", "ResourceLink", "EmbeddedResource", "ResourceContents", "ToolResult",
    "Message", "UserMessage", "AssistantMessage", "PromptResult", "Completion", "CompletionRef",
    "CompletionArgument",
    "MCPError", "LibraryError", "InvalidArgument", "InvalidJSON", "AlreadyExists", "NotFound", "StateError",
    "EngineIOError", "LimitExceeded", "Unsupported", "RequestTimeout", "Cancelled", "Closed", "PeerError",
    "ToolError", "ResourceNotFound",
    "InputRequired", "errors", "library_path", "abi_version", "engine_version", "set_log_hook", "tracing", "ABI_MAJOR",
    "__version__",
]
