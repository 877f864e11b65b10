"""Shared set-up for the binding's tests.

- The library: $LIBMCP_PATH (ctest sets it to <build>/lib/libmcp.so.1), else
  <repo>/build/lib/libmcp.so.1. A missing library FAILS the tests with a
  message saying how to build it; nothing is skipped.
- The package is imported from bindings/python/src (no install step); child
  processes get the same through PYTHONPATH.
- `connect(script)`: the official SDK client (mcp==2.3.0) on a server script
  over stdio; `run(body)`: one event loop under a hard deadline, so a server
  that stops answering fails the test instead of hanging the suite.
"""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

TESTS = Path(__file__).resolve().parent
PACKAGE_ROOT = TESTS.parent
SRC = PACKAGE_ROOT / "src"
REPO = PACKAGE_ROOT.parent.parent
SERVERS = TESTS / "servers"

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

LIBRARY = Path(os.environ.get("LIBMCP_PATH") or REPO / "build" / "lib" / "libmcp.so.1")
os.environ["LIBMCP_PATH"] = str(LIBRARY)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not LIBRARY.exists():
        raise pytest.UsageError(
            f"libmcp not found at {LIBRARY}: build it (cmake -S . -B build && cmake --build build "
            f"--target mcp_swift) or set LIBMCP_PATH to the libmcp.so.1 to test")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a server process: the library and the package's source."""
    env = dict(os.environ)
    env["LIBMCP_PATH"] = str(LIBRARY)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    import anyio

    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


@asynccontextmanager
async def connect(script: str | Path, *args: str, env: dict[str, str] | None = None, **session_kwargs: Any):
    """An initialized official ClientSession on a fresh server script (over stdio)."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(script), *args], env=env or child_env())
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write, **session_kwargs) as session:
                    init = await session.initialize()
                    yield session, init
        except BaseException:
            errlog.seek(0)
            err = errlog.read()
            if err.strip():
                print(f"--- server stderr ---\n{err[-4000:]}")
            raise


def texts(result: Any) -> str:
    import mcp_types as types
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


@pytest.fixture
def server():
    """A fresh libmcp.Server, closed after the test."""
    from libmcp import Server
    srv = Server("test-server", "1.2.3")
    yield srv
    srv.close()
