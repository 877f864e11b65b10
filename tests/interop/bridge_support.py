"""Machinery for the mcp-bridge tests (test_bridge*.py).

- `Bridge`: build/bin/mcp-bridge --listen 127.0.0.1:PORT (default 0) [flags] -- COMMAND, the URL read from
  its stderr; the rest of its stderr is kept (`.stderr_text()`); stopped with SIGTERM.
- `third_party(name)`: a server from PyPI in the third-party venv (MCP_THIRD_PARTY_VENV,
  default .venv-3p): a missing one FAILS the test and says how to install it.
- `SDK_CHILD`, `HOSTILE_CHILD`: fixture servers written with the official SDK, run by this
  interpreter (tests/interop/fixtures/sdk_server.py, bridge_child.py).
"""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import BUILD_DIR, REPO, server_env

BRIDGE_BINARY = BUILD_DIR / "bin" / "mcp-bridge"
FIXTURES = Path(__file__).with_name("fixtures")
SDK_CHILD = [sys.executable, str(FIXTURES / "sdk_server.py"), "stdio"]
HOSTILE_CHILD = [sys.executable, str(FIXTURES / "bridge_child.py")]
# A Python child starts in a second or two; on a loaded 2-core machine, many more.
START_TIMEOUT = 60.0


def require_bridge() -> str:
    if not BRIDGE_BINARY.is_file():
        pytest.fail(f"mcp-bridge not found at {BRIDGE_BINARY}: build it first (make build), "
                    f"or point MCP_BUILD_DIR at the build directory", pytrace=False)
    return str(BRIDGE_BINARY)


def third_party(name: str) -> str:
    venv = Path(os.environ.get("MCP_THIRD_PARTY_VENV") or REPO / ".venv-3p")
    exe = venv / "bin" / name
    if not exe.exists():
        pytest.fail(f"{exe} is missing: python3 -m venv {venv} && {venv}/bin/pip install -r "
                    f"tests/requirements-3p.txt (make venv)", pytrace=False)
    return str(exe)


class Bridge:
    """mcp-bridge --listen on a free port in front of `command`."""

    def __init__(self, command: list[str], *flags: str, port: int = 0):
        self.command = command
        self.port = port
        self.flags = flags
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self._stderr: list[bytes] = []
        self._reader: threading.Thread | None = None

    def __enter__(self) -> "Bridge":
        argv = [require_bridge(), "--listen", f"127.0.0.1:{self.port}", *self.flags, "--", *self.command]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=server_env())
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        deadline = time.monotonic() + START_TIMEOUT
        # Raw reads: a buffered readline may hold the listening line while select waits.
        while time.monotonic() < deadline and not self.url:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self._stderr.append(chunk)
            m = re.search(rb"listening on (http://\S+/mcp)", b"".join(self._stderr))
            if m:
                self.url = m.group(1).decode()
        if not self.url:
            self.__exit__(None, None, None)
            pytest.fail("mcp-bridge did not start listening:\n" + self.stderr_text())
        # Keep draining stderr, so the bridge never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _drain(self) -> None:
        assert self.proc and self.proc.stderr
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr_text(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader:
            self._reader.join(timeout=5)
