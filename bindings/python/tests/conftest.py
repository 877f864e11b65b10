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
import signal
import subprocess
import sys
import tempfile
import time
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
if str(SRC) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):  # for processes that inherit ours
    os.environ["PYTHONPATH"] = str(SRC) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH")
                                           else "")


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


@asynccontextmanager
async def connect_http(url: str, **session_kwargs: Any):
    """An initialized official ClientSession over Streamable HTTP."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, **session_kwargs) as session:
            init = await session.initialize()
            yield session, init


class HTTPServerProcess:
    """A server script run as `script http PORTFILE` (Server.run_http on port 0).

    Stopping it with SIGTERM must end it cleanly (exit status 0): run_http drains
    and stops the listener.
    """

    def __init__(self, script: str | Path, timeout: float = 30.0, expect_clean_exit: bool = True):
        self.expect_clean_exit = expect_clean_exit  # False for servers we did not write
        self.dir = tempfile.TemporaryDirectory()
        portfile = Path(self.dir.name) / "port"
        self.log = open(Path(self.dir.name) / "stderr", "w+")
        self.proc = subprocess.Popen([sys.executable, str(script), "http", str(portfile)], env=child_env(),
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not portfile.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{script} did not start listening (exit {self.proc.returncode}):\n{self.output()}",
                            pytrace=False)
            time.sleep(0.02)
        self.port = int(portfile.read_text())
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        import socket
        while True:  # some servers write the port before they listen
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"{script} does not listen on {self.port}:\n{self.output()}", pytrace=False)
                time.sleep(0.02)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def close(self) -> None:
        status = self.stop()
        output = self.output()
        self.log.close()
        self.dir.cleanup()
        if self.expect_clean_exit:
            assert status == 0, f"the HTTP server did not exit cleanly on SIGTERM (status {status}):\n{output}"


def registered(core: Any) -> int:
    """How many objects of one server (features, its completer, contexts' cancel hooks) the
    engine may still call back. Other tests' servers may release theirs at any time, so leak
    checks count per server rather than the whole registry."""
    from libmcp import _callbacks
    return sum(1 for o in list(_callbacks._objects.values())
               if getattr(o, "core", None) is core or getattr(o, "_core", None) is core)


def pending_requests() -> int:
    """Requests to clients (sampling, ...) whose outcome the engine has not reported yet."""
    from libmcp import _callbacks
    from libmcp.context import _Response
    return sum(1 for o in list(_callbacks._objects.values()) if isinstance(o, _Response))


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


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
