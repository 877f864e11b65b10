"""Machinery for the HTTP interop tests (the stdio machinery is in conftest.py).

- `EverythingHTTP`: the everything server with `--http 127.0.0.1:0` (plus
  `--stateless` / `--json-response`); the URL is read from its stderr.
- `HostHTTP`: tests/interop/http_host.py (a ctypes host of libmcp) with any
  listener configuration JSON, for limits, TLS and origin lists.
- A raw HTTP client on http.client: `post`, `get`, `delete`, an SSE reader,
  `initialize`. Every socket has a timeout, so a hung server fails a test.
- `libmcp_binding()`: the Python binding (bindings/python) on this build's
  library, for tests that drive our own client.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import resource
import select
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from conftest import BUILD_DIR, LATEST, require_server_binary, server_env

TIMEOUT = 10.0
LIBMCP = BUILD_DIR / "lib" / "libmcp.so.1"
HOST_SCRIPT = Path(__file__).with_name("http_host.py")
ACCEPT_BOTH = "application/json, text/event-stream"


def limit_open_files(nofile: int | None):
    """A preexec_fn giving the child a lower open-file limit (None: unchanged)."""
    if nofile is None:
        return None
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))


class EverythingHTTP:
    """The everything server over HTTP on a free port (or `port`, for a server whose
    configuration names its own URL, or a second process on a shared port); stopped
    with SIGTERM. `nofile` lowers its open-file limit."""

    def __init__(self, *flags: str, nofile: int | None = None, port: int = 0):
        self.flags = flags
        self.nofile = nofile
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.stderr = b""

    def __enter__(self) -> "EverythingHTTP":
        binary = require_server_binary()
        self.proc = subprocess.Popen([binary, "--http", f"127.0.0.1:{self.port}", *self.flags],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=server_env(), preexec_fn=limit_open_files(self.nofile),
                                     # Unbuffered: a buffered readline may take the URL line in with
                                     # the line before it, and select then waits for bytes already read.
                                     bufsize=0)
        deadline = time.monotonic() + TIMEOUT
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if ready:
                line = self.proc.stderr.readline()
                if not line:
                    break
                self.stderr += line
                m = re.search(rb"(http://\S+/mcp)", line)
                if m:
                    self.url = m.group(1).decode()
                    return self
        self.proc.kill()
        raise AssertionError(f"the server printed no URL: {self.stderr.decode(errors='replace')}")

    @property
    def base(self) -> str:
        return self.url[: -len("/mcp")]

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the server did not stop within 10 s of SIGTERM")
        self.stderr += self.proc.stderr.read() if self.proc.stderr else b""
        return rc

    def __exit__(self, *exc) -> None:
        rc = self.stop()
        if exc[0] is None:
            assert rc == 0, f"server exit status {rc}: {self.stderr.decode(errors='replace')[-2000:]}"


class HostHTTP:
    """http_host.py with a listener configuration; `stop()` returns its report.
    `nofile` lowers its open-file limit."""

    def __init__(self, config: dict[str, Any], nofile: int | None = None):
        self.config = config
        self.nofile = nofile
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "HostHTTP":
        require_server_binary()  # same build; gives the how-to-build message if missing
        self.proc = subprocess.Popen([sys.executable, str(HOST_SCRIPT), str(LIBMCP), json.dumps(self.config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=server_env(), preexec_fn=limit_open_files(self.nofile))
        line = self._line()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise AssertionError(f"host did not start: {line!r} {self.proc.stderr.read().decode()[-2000:]}")
        self.port = int(line.split()[1])
        return self

    def _line(self) -> str:
        assert self.proc and self.proc.stdout
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        assert ready, "host wrote nothing within the timeout"
        return self.proc.stdout.readline().decode().strip()

    def url(self, path: str = "/mcp", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> str:
        assert self.proc and self.proc.stdin
        if self.proc.stdin.closed:
            return ""
        self.proc.stdin.close()
        line = self._line()
        self.proc.wait(timeout=TIMEOUT)
        return line

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.stop()
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()


def start_host_expecting_error(config: dict[str, Any]) -> str:
    """Runs http_host.py with a configuration that must be refused; returns its ERROR line."""
    require_server_binary()
    out = subprocess.run([sys.executable, str(HOST_SCRIPT), str(LIBMCP), json.dumps(config)], input=b"",
                         capture_output=True, timeout=TIMEOUT, env=server_env())
    return out.stdout.decode().strip()


# --------------------------------------------------------------------------- raw HTTP
def connect(url: str, context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    u = urlsplit(url)
    if u.scheme == "https":
        return http.client.HTTPSConnection(u.hostname, u.port, timeout=TIMEOUT, context=context)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)


def request(url: str, method: str, body: Any = None, headers: dict[str, str] | None = None,
            conn: http.client.HTTPConnection | None = None, raw: bytes | None = None) -> http.client.HTTPResponse:
    """Sends one request and returns the response with its body unread."""
    conn = conn or connect(url)
    h = {"Host": urlsplit(url).netloc}
    if body is not None or raw is not None:
        h["Content-Type"] = "application/json"
    if method == "POST":
        h["Accept"] = ACCEPT_BOTH
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn.request(method, urlsplit(url).path + (("?" + urlsplit(url).query) if urlsplit(url).query else ""),
                 body=data, headers=h)
    return conn.getresponse()


def post(url: str, body: Any = None, session: str | None = None, version: str | None = None,
         headers: dict[str, str] | None = None, **kw) -> http.client.HTTPResponse:
    h = dict(headers or {})
    if session:
        h["Mcp-Session-Id"] = session
    if version:
        h["MCP-Protocol-Version"] = version
    return request(url, "POST", body, h, **kw)


def error_of(resp: http.client.HTTPResponse) -> dict:
    """The JSON-RPC error object of a refusal body (which must be one)."""
    assert resp.getheader("Content-Type", "").startswith("application/json"), resp.getheaders()
    body = json.loads(resp.read())
    assert body.get("jsonrpc") == "2.0" and "error" in body, body
    return body["error"]


def read_event(resp: http.client.HTTPResponse) -> dict[str, str] | None:
    """The next SSE event (fields id, event, data, retry), or None at end of stream."""
    event: dict[str, str] = {}
    data: list[str] = []
    while True:
        line = resp.readline()
        if not line:
            return None
        line = line.decode().rstrip("\r\n")
        if line == "":
            if data or event:
                if data:
                    event["data"] = "\n".join(data)
                return event
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        else:
            event[name] = value


def events(resp: http.client.HTTPResponse) -> Iterator[dict[str, str]]:
    while (e := read_event(resp)) is not None:
        yield e


def messages(resp: http.client.HTTPResponse) -> list[Any]:
    """Every JSON-RPC message of a response: its JSON body, or its SSE events' data."""
    if resp.getheader("Content-Type", "").startswith("application/json"):
        return [json.loads(resp.read())]
    return [json.loads(e["data"]) for e in events(resp) if e.get("data")]


def init_body(version: str = LATEST, rid: Any = 0, capabilities: dict | None = None) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": capabilities or {},
                       "clientInfo": {"name": "raw-http-test", "version": "1.0"}}}


def initialize(url: str, version: str = LATEST, capabilities: dict | None = None) -> str:
    """A session ready for requests (initialize + initialized); returns its id."""
    resp = post(url, init_body(version, capabilities=capabilities))
    assert resp.status == 200, (resp.status, resp.read())
    sid = resp.getheader("Mcp-Session-Id")
    assert sid, resp.getheaders()
    answer = messages(resp)
    assert answer[-1]["result"]["protocolVersion"] == version
    resp = post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid, version=version)
    assert resp.status == 202, resp.status
    resp.read()
    return sid


def call(rid: Any, tool: str, args: dict | None = None, token: Any = None) -> dict:
    params: dict[str, Any] = {"name": tool, "arguments": args or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


def tool_text(msg: dict) -> str:
    return "".join(c.get("text", "") for c in msg["result"]["content"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def libmcp_binding():
    """The Python binding (bindings/python/src), loading this build's libmcp."""
    os.environ.setdefault("LIBMCP_PATH", str(LIBMCP))
    src = str(Path(__file__).resolve().parents[2] / "bindings" / "python" / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    import libmcp
    return libmcp


def have_openssl() -> bool:
    return any(os.access(os.path.join(p, "openssl"), os.X_OK) for p in os.environ.get("PATH", "").split(":"))
