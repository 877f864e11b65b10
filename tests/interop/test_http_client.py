"""Our HTTP client (libmcp through build/bin/mcp-client) against servers:

- scripted mock servers for the client behaviours the spec and the conformance
  suite's client scenarios check: sse-retry (resume by GET with Last-Event-ID
  after the server's retry), 404 -> a fresh initialize, the legacy HTTP+SSE
  fallback, JSON and SSE answers, the standalone GET stream, the headers on
  every request, DELETE on close, HTTP errors;
- the official Python SDK's server (tests/interop/fixtures/sdk_server.py) over
  Streamable HTTP (SSE and JSON answers) and over its legacy SSE transport;
- our own everything server over HTTP, and our listener behind TLS.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import LATEST, TOOLS
from http_mock import (
    TEXT_RESULT, MockServer, Reply, Request, init_result, require_client_binary, result, run_client,
)
from http_support import EverythingHTTP, HostHTTP, free_port

FIXTURE = Path(__file__).with_name("fixtures") / "sdk_server.py"

# mcp_status_string texts, as mcp-client prints them.
CLOSED, IO, PEER, INVALID_ARG = "the session is closed", "I/O error", "the peer answered with an error", "invalid argument"


def ok(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, f"mcp-client exit {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout)


def text_of(res: dict) -> str:
    return "".join(c.get("text", "") for c in res.get("content", []))


# --------------------------------------------------------------------------- sse-retry

def test_sse_retry_resumes_with_get_and_last_event_id_after_retry():
    """The conformance scenario sse-retry, as its mock server behaves: every GET
    gets a priming event (retry: 500) and stays open, and carries the pending
    tools/call result if there is one; the tools/call answer stream ends 50 ms
    after its priming event. The last GET (the reconnection) must come 450 to
    700 ms after that close, with Last-Event-ID, and the call must complete."""
    state = {"pending": None, "closed_at": None, "counter": 0}
    lock = threading.Lock()
    sid = {"mcp-session-id": "session-retry"}

    def next_id() -> str:
        with lock:
            state["counter"] += 1
            return f"event-{state['counter']}"

    def script(req: Request, reply: Reply) -> None:
        if req.method == "GET":
            reply.sse_start(sid)
            reply.sse_event(id=next_id(), retry=500)
            # Only a resumption (a GET naming an event) gets the call's answer: the
            # standalone GET can reach this point after the call was posted.
            pending = None
            if req.header("last-event-id") is not None:
                with lock:
                    pending, state["pending"] = state["pending"], None
            if pending is not None:
                reply.sse_event(result(pending, {"content": [{"type": "text", "text": "reconnected"}]}),
                                id=next_id(), event="message")
            return reply.hold()
        if req.method == "DELETE":
            return reply.status(405)
        m = req.rpc_method
        if m == "initialize":
            return reply.json(result(req.body["id"], init_result("2025-03-26")), headers=sid)
        if m == "tools/call":
            with lock:
                state["pending"] = req.body["id"]
            reply.sse_start(sid)
            state["call_priming"] = next_id()
            reply.sse_event(id=state["call_priming"], retry=500)
            time.sleep(0.05)
            state["closed_at"] = time.monotonic()
            return reply.sse_end()
        if "id" not in req.body:
            return reply.status(202)
        reply.json(result(req.body["id"], {}), headers=sid)

    with MockServer(script) as srv:
        res = ok(run_client(srv.url, "tools/call", {"name": "test_reconnection", "arguments": {}}))
        gets = [r for r in srv.seen() if r.method == "GET"]
        call = next(r for r in srv.seen() if r.rpc_method == "tools/call")
    assert text_of(res) == "reconnected"
    # The standalone stream came first (before the call), then the reconnection.
    assert gets[0].seq < call.seq and gets[0].header("last-event-id") is None
    resume = gets[-1]
    assert len(gets) == 2 and resume.header("last-event-id") == state["call_priming"]
    delay_ms = (resume.t - state["closed_at"]) * 1000
    assert 450 <= delay_ms <= 700, f"reconnected {delay_ms:.0f} ms after the stream closed (retry: 500)"
    assert resume.header("mcp-session-id") == "session-retry"
    assert resume.header("mcp-protocol-version") == "2025-03-26"


def test_answer_stream_without_event_id_is_not_resumed():
    """A stream that ends before the answer and never had an event id cannot be
    resumed: the request fails at once (MCP_ERR_CLOSED), no GET is made for it."""
    def script(req: Request, reply: Reply) -> None:
        if req.method in ("GET", "DELETE"):
            reply.status(405)
        elif req.rpc_method == "initialize":
            reply.json(result(req.body["id"], init_result()), headers={"mcp-session-id": "s"})
        elif req.rpc_method == "tools/call":
            reply.sse_start()
            reply.sse_end()
        else:
            reply.status(202)

    with MockServer(script) as srv:
        start = time.monotonic()
        proc = run_client(srv.url, "tools/call", {"name": "x"}, "--timeout", "20000")
        assert proc.returncode == 3, proc
        assert CLOSED in proc.stderr
        assert time.monotonic() - start < 10
        assert not [r for r in srv.seen() if r.method == "GET" and r.header("last-event-id")]


# --------------------------------------------------------------------------- session 404

def session_script(expire_first: str = "tools/call", expire_again: bool = False):
    """Sessions s1, s2, ...: the first `expire_first` request under s1 gets 404
    (and every one under s2 too when expire_again)."""
    sessions = []

    def script(req: Request, reply: Reply) -> None:
        sid = req.header("mcp-session-id")
        if req.method == "GET":
            return reply.status(405)
        if req.method == "DELETE":
            return reply.status(200 if sid == sessions[-1] else 404)
        if req.rpc_method == "initialize":
            assert sid is None, "initialize must not carry a session id"
            sessions.append(f"s{len(sessions) + 1}")
            return reply.json(result(req.body["id"], init_result()), headers={"mcp-session-id": sessions[-1]})
        if sid != sessions[-1] or (req.rpc_method == expire_first and (sid == "s1" or expire_again)):
            return reply.status(404, b'{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"}}',
                                {"Content-Type": "application/json"})
        if "id" not in req.body:
            return reply.status(202)
        reply.json(result(req.body["id"], TEXT_RESULT))

    return script, sessions


def test_session_404_starts_a_new_session_and_resends_the_request():
    script, sessions = session_script()
    with MockServer(script) as srv:
        res = ok(run_client(srv.url, "tools/call", {"name": "t"}))
        assert text_of(res) == "mock tool result"
        seen = [r for r in srv.seen() if r.method != "GET"]
    assert sessions == ["s1", "s2"]
    flow = [(r.method, r.rpc_method, r.header("mcp-session-id")) for r in seen]
    assert flow == [
        ("POST", "initialize", None), ("POST", "notifications/initialized", "s1"), ("POST", "tools/call", "s1"),
        ("POST", "initialize", None), ("POST", "notifications/initialized", "s2"), ("POST", "tools/call", "s2"),
        ("DELETE", None, "s2"),
    ], flow
    # The new initialize is the same request, without a version header (it negotiates).
    inits = [r for r in seen if r.rpc_method == "initialize"]
    assert inits[0].body == inits[1].body
    assert inits[1].header("mcp-protocol-version") is None
    assert seen[4].header("mcp-protocol-version") == LATEST


def test_second_404_after_a_fresh_initialize_fails_the_request():
    script, sessions = session_script(expire_again=True)
    with MockServer(script) as srv:
        proc = run_client(srv.url, "tools/call", {"name": "t"})
        calls = [r for r in srv.seen() if r.rpc_method == "tools/call"]
    assert proc.returncode == 3, proc
    assert CLOSED in proc.stderr
    assert sessions == ["s1", "s2"]
    assert [c.header("mcp-session-id") for c in calls] == ["s1", "s2"]


# --------------------------------------------------------------------------- legacy fallback

class LegacyServer:
    """A 2024-11-05 server: POST to the SSE URL is refused with `probe_status`;
    GET opens the stream (endpoint first), POSTs to /messages are answered on it."""

    def __init__(self, probe_status: int):
        self.probe_status = probe_status
        self.outbox: list[dict] = []
        self.cond = threading.Condition()

    def __call__(self, req: Request, reply: Reply) -> None:
        if req.method == "POST" and req.path == "/mcp":
            return reply.status(self.probe_status)
        if req.method == "GET" and req.path == "/mcp":
            reply.sse_start()
            reply.sse_event("/messages?session_id=legacy-1", event="endpoint")
            while not reply.stop.is_set():
                with self.cond:
                    self.cond.wait_for(lambda: self.outbox or reply.stop.is_set(), timeout=0.5)
                    batch, self.outbox = self.outbox, []
                for m in batch:
                    reply.sse_event(m, event="message")
            return
        if req.method == "POST" and req.path.startswith("/messages?session_id=legacy-1"):
            reply.status(202, b"Accepted")
            body = req.body
            if body.get("method") == "initialize":
                answer = result(body["id"], init_result("2024-11-05"))
            elif "id" in body and "method" in body:
                answer = result(body["id"], {"tools": [{"name": "legacy_tool", "inputSchema": {"type": "object"}}]})
            else:
                return
            with self.cond:
                self.outbox.append(answer)
                self.cond.notify_all()
            return
        reply.status(404)


@pytest.mark.parametrize("probe_status", [400, 404, 405])
def test_legacy_fallback_when_initialize_post_is_refused(probe_status):
    with MockServer(LegacyServer(probe_status)) as srv:
        res = ok(run_client(srv.url, "tools/list"))
        seen = srv.seen()
    assert [t["name"] for t in res["tools"]] == ["legacy_tool"]
    flow = [(r.method, r.path.split("?")[0], r.rpc_method) for r in seen]
    assert flow == [
        ("POST", "/mcp", "initialize"), ("GET", "/mcp", None), ("POST", "/messages", "initialize"),
        ("POST", "/messages", "notifications/initialized"), ("POST", "/messages", "tools/list"),
    ], flow
    assert seen[1].header("accept") == "text/event-stream"
    # The old transport has no session or version headers, and no DELETE.
    assert all(r.header("mcp-session-id") is None and r.header("mcp-protocol-version") is None for r in seen)


def test_legacy_sse_transport_chosen_up_front():
    with MockServer(LegacyServer(500)) as srv:
        res = ok(run_client(srv.url, "tools/list", None, "--transport", "legacy_sse"))
        assert [r.method for r in srv.seen()][:2] == ["GET", "POST"]
    assert res["tools"][0]["name"] == "legacy_tool"


def test_streamable_only_does_not_fall_back():
    with MockServer(LegacyServer(405)) as srv:
        proc = run_client(srv.url, "tools/list", None, "--transport", "streamable")
        assert [r.method for r in srv.seen()] == ["POST"]
    assert proc.returncode == 3
    assert "405" in proc.stderr


def test_fallback_reports_a_server_that_has_neither_transport():
    def script(req: Request, reply: Reply) -> None:
        reply.status(405 if req.method == "POST" else 404)

    with MockServer(script) as srv:
        proc = run_client(srv.url, "tools/list")
    assert proc.returncode == 3
    assert IO in proc.stderr and "405" in proc.stderr and "404" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- answers and streams

def test_json_and_sse_answers_and_messages_before_the_answer():
    def script(req: Request, reply: Reply) -> None:
        if req.method == "GET":
            return reply.status(405)
        if req.method == "DELETE":
            return reply.status(405)  # a server may refuse to end sessions
        m = req.rpc_method
        if m == "initialize":
            return reply.json(result(req.body["id"], init_result(capabilities={"tools": {}, "logging": {}})),
                              headers={"mcp-session-id": "s"})
        if m == "tools/call":
            # SSE, with a log notification and a ping request before the answer.
            reply.sse_start()
            reply.sse_event(id="p0", retry=1000)
            reply.sse_event({"jsonrpc": "2.0", "method": "notifications/message",
                             "params": {"level": "info", "data": "working"}}, id="p1")
            reply.sse_event(result(req.body["id"], TEXT_RESULT), id="p2", event="message")
            return reply.sse_end()
        if "id" in req.body and "method" in req.body:
            return reply.json(result(req.body["id"], {"tools": [{"name": "json_tool",
                                                                 "inputSchema": {"type": "object"}}]}))
        reply.status(202)

    with MockServer(script) as srv:
        listed = ok(run_client(srv.url, "tools/list"))
        called = run_client(srv.url, "tools/call", {"name": "t"}, "--verbose")
    assert listed["tools"][0]["name"] == "json_tool"
    assert text_of(ok(called)) == "mock tool result"
    assert "notifications/message" in called.stderr and "working" in called.stderr


def test_standalone_get_stream_opened_and_its_messages_delivered():
    sent = threading.Event()

    def script(req: Request, reply: Reply) -> None:
        if req.method == "GET":
            reply.sse_start()
            reply.sse_event({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}, id="g1")
            sent.set()
            return reply.hold()
        if req.method == "DELETE":
            return reply.status(200)
        if req.rpc_method == "initialize":
            return reply.json(result(req.body["id"], init_result()), headers={"mcp-session-id": "s"})
        if req.rpc_method == "tools/list":
            sent.wait(10)  # answer once the standalone stream has spoken,
            # and give the client a moment to read it: the two streams are two
            # connections, and nothing orders bytes across connections.
            time.sleep(0.3)
            return reply.json(result(req.body["id"], {"tools": []}))
        reply.status(202)

    with MockServer(script) as srv:
        proc = run_client(srv.url, "tools/list", None, "--verbose")
        gets = [r for r in srv.seen() if r.method == "GET"]
    ok(proc)
    assert "notifications/tools/list_changed" in proc.stderr
    assert len(gets) == 1
    assert gets[0].header("accept") == "text/event-stream"
    assert gets[0].header("last-event-id") is None


def test_get_405_means_no_standalone_stream_and_no_retry():
    def script(req: Request, reply: Reply) -> None:
        if req.method in ("GET", "DELETE"):
            return reply.status(405)
        if req.rpc_method == "initialize":
            return reply.json(result(req.body["id"], init_result()), headers={"mcp-session-id": "s"})
        if req.rpc_method == "tools/list":
            time.sleep(0.3)  # time enough for a wrong client to ask again
            return reply.json(result(req.body["id"], {"tools": []}))
        reply.status(202)

    with MockServer(script) as srv:
        ok(run_client(srv.url, "tools/list"))
        assert [r.method for r in srv.seen()].count("GET") == 1


# --------------------------------------------------------------------------- headers

def test_headers_on_every_request_and_delete_on_close():
    def script(req: Request, reply: Reply) -> None:
        if req.method == "GET":
            reply.sse_start()
            return reply.hold()
        if req.method == "DELETE":
            return reply.status(200)
        if req.rpc_method == "initialize":
            return reply.json(result(req.body["id"], init_result("2025-06-18")),
                              headers={"Mcp-Session-Id": "abc-123"})
        if "id" in req.body:
            return reply.json(result(req.body["id"], {"tools": []}))
        reply.status(202)

    with MockServer(script) as srv:
        ok(run_client(srv.url, "tools/list", None, "--header", "Authorization: Bearer s3cret",
                      "--header", "X-Trace:42"))
        srv.wait_for(lambda r: r.method == "DELETE")
        seen = srv.seen()
    methods = [(r.method, r.rpc_method) for r in seen]
    assert ("GET", None) in methods and ("DELETE", None) in methods
    assert methods[:2] == [("POST", "initialize"), ("POST", "notifications/initialized")]
    for r in seen:
        assert r.header("authorization") == "Bearer s3cret", r
        assert r.header("x-trace") == "42", r
        if r.rpc_method == "initialize":
            assert r.header("mcp-session-id") is None and r.header("mcp-protocol-version") is None
        else:
            assert r.header("mcp-session-id") == "abc-123", r
            assert r.header("mcp-protocol-version") == "2025-06-18", r
        if r.method == "POST":
            assert r.header("accept") == "application/json, text/event-stream"
            assert r.header("content-type") == "application/json"
    assert seen[-1].method == "DELETE"


def test_http_error_status_becomes_the_requests_error():
    def script(req: Request, reply: Reply) -> None:
        if req.method in ("GET", "DELETE"):
            return reply.status(405)
        if req.rpc_method == "initialize":
            return reply.json(result(req.body["id"], init_result()), headers={"mcp-session-id": "s"})
        if req.rpc_method == "tools/call":
            return reply.status(503, b"overloaded")
        reply.status(202)

    with MockServer(script) as srv:
        proc = run_client(srv.url, "tools/call", {"name": "t"})
    assert proc.returncode == 1, proc
    err = json.loads(proc.stderr.splitlines()[-1])  # after the "mcp-client: era ..." line
    assert err["data"]["httpStatus"] == 503
    assert "503" in err["message"] and "overloaded" in err["message"]


def test_initialize_refused_with_401():
    def script(req: Request, reply: Reply) -> None:
        reply.status(401, b"token required", {"WWW-Authenticate": "Bearer"})

    with MockServer(script) as srv:
        proc = run_client(srv.url, "tools/list")
    assert proc.returncode == 3
    assert PEER in proc.stderr and "401" in proc.stderr


def test_cannot_connect():
    proc = run_client(f"http://127.0.0.1:{free_port()}/mcp", "tools/list")
    assert proc.returncode == 3
    assert IO in proc.stderr and "connect" in proc.stderr.lower()


def test_bad_urls_and_headers_are_refused():
    for url in ["ftp://x/mcp", "http://", "localhost:1/mcp"]:
        proc = run_client(url, "ping")
        assert proc.returncode == 3 and INVALID_ARG in proc.stderr, (url, proc.stderr)
    proc = run_client("http://127.0.0.1:1/mcp", "ping", None, "--header", "Mcp-Session-Id: forged")
    assert proc.returncode == 3 and INVALID_ARG in proc.stderr


# --------------------------------------------------------------------------- the official SDK's server

def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"SDK server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("SDK server did not start listening")


class SDKServer:
    """The fixture server of the official SDK, over HTTP on a free port."""

    def __init__(self, mode: str):
        self.mode = mode
        self.port = free_port()

    def __enter__(self) -> "SDKServer":
        if self.mode == "sse":
            code = (f"import runpy; m = runpy.run_path({str(FIXTURE)!r}); "
                    f"m['srv'].run('sse', host='127.0.0.1', port={self.port})")
            argv = [sys.executable, "-c", code]
        else:
            argv = [sys.executable, str(FIXTURE), "streamable-http", str(self.port)]
            if self.mode == "json":
                argv.append("--json")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_port(self.port, self.proc)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}" + ("/sse" if self.mode == "sse" else "/mcp")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.mark.parametrize("mode", ["streamable", "json"])
def test_sdk_server_over_streamable_http(mode):
    with SDKServer(mode) as srv:
        tools = ok(run_client(srv.url, "tools/list"))
        assert {"add", "echo", "fail", "progress", "log", "sample", "ask"} <= {t["name"] for t in tools["tools"]}
        added = ok(run_client(srv.url, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}}))
        assert added["structuredContent"]["result"] == 5
        failed = ok(run_client(srv.url, "tools/call", {"name": "fail", "arguments": {"message": "boom"}}))
        assert failed["isError"] is True
        read = ok(run_client(srv.url, "resources/read", {"uri": "fixture://item/7"}))
        assert read["contents"][0]["text"] == "item 7"
        prompt = ok(run_client(srv.url, "prompts/get", {"name": "review", "arguments": {"code": "x=1"}}))
        assert "Please review: x=1" in json.dumps(prompt)
        if mode == "streamable":
            # Elicitation and logs need the SSE answer stream (JSON mode has none).
            asked = ok(run_client(srv.url, "tools/call", {"name": "ask", "arguments": {}}))
            assert text_of(asked) == "Ada 36"
            logged = run_client(srv.url, "tools/call", {"name": "log", "arguments": {"count": 2}}, "--verbose")
            assert text_of(ok(logged)) == "2 logs"
            assert logged.stderr.count("notifications/message") == 2


def test_sdk_server_over_its_legacy_sse_transport():
    """The SDK's 2024-11-05 server: POST to /sse is refused, so the client falls
    back: GET /sse, endpoint event, POSTs to /messages/?session_id=..."""
    with SDKServer("sse") as srv:
        tools = ok(run_client(srv.url, "tools/list"))
        assert "add" in {t["name"] for t in tools["tools"]}
        added = ok(run_client(srv.url, "tools/call", {"name": "add", "arguments": {"a": 20, "b": 22}}))
        assert added["structuredContent"]["result"] == 42
        asked = ok(run_client(srv.url, "tools/call", {"name": "ask", "arguments": {}}))
        assert text_of(asked) == "Ada 36"


# --------------------------------------------------------------------------- our own server

@pytest.mark.parametrize("flags", [(), ("--json-response",), ("--stateless",)])
def test_everything_server_over_http(flags):
    require_client_binary()
    with EverythingHTTP(*flags) as srv:
        tools = ok(run_client(srv.url, "tools/list", None, "--all"))
        assert TOOLS <= {t["name"] for t in tools}
        echoed = ok(run_client(srv.url, "tools/call", {"name": "test_echo", "arguments": {"text": "über"}}))
        assert text_of(echoed) == "über"
        # Not listed first: the server refuses the call without its Mcp-Param-* headers
        # (-32020), the client lists the tools and retries with them.
        header = ok(run_client(srv.url, "tools/call", {"name": "test_header_param", "arguments": {"region": "eu-west"}},
                               "--era", MODERN))
        assert "eu-west" in text_of(header)
        # The server ends the call's stream mid-call (SSE polling); the client
        # resumes with GET + Last-Event-ID (stateless: answered on the stream).
        resumed = ok(run_client(srv.url, "tools/call", {"name": "test_reconnection"}))
        assert text_of(resumed) == "Reconnection test completed"
        if not flags:
            defaults = ok(run_client(srv.url, "tools/call", {"name": "test_elicitation_sep1034_defaults"}))
            assert '"age":30' in text_of(defaults)
            progress = run_client(srv.url, "tools/call", {"name": "test_tool_with_logging"}, "--verbose")
            assert ok(progress) and "notifications/message" in progress.stderr


# --------------------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_https_with_our_listener(certificate):
    cert, key = certificate
    with HostHTTP({"tls_cert_file": str(cert), "tls_key_file": str(key)}) as h:
        url = h.url(scheme="https")
        res = ok(run_client(url, "tools/call", {"name": "echo", "arguments": {"text": "over tls"}},
                            "--cacert", str(cert)))
        assert text_of(res) == "over tls"
        by_name = url.replace("127.0.0.1", "localhost")
        assert ok(run_client(by_name, "tools/list", None, "--cacert", str(cert)))["tools"]
        # The system trust store does not know this certificate.
        refused = run_client(url, "tools/list")
        assert refused.returncode == 3 and IO in refused.stderr and "TLS" in refused.stderr, refused.stderr
        insecure = ok(run_client(url, "tools/list", None, "--insecure"))
        assert insecure["tools"]
    missing = run_client("https://127.0.0.1:1/mcp", "ping", None, "--cacert", "/nonexistent.pem")
    assert missing.returncode == 3 and IO in missing.stderr and "/nonexistent.pem" in missing.stderr


# --------------------------------------------------------------------------- 2026-07-28

MODERN = "2026-07-28"


def discover_result(rid):
    return result(rid, {"resultType": "complete", "supportedVersions": [MODERN], "capabilities": {"tools": {}},
                        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "mock", "version": "1"}}})


def test_modern_requests_carry_the_standard_headers_and_no_session():
    """http-standard-headers and http-custom-headers, restated: MCP-Protocol-Version equal to
    the _meta version, Mcp-Method, Mcp-Name (base64 sentinel when not plain), Mcp-Param-* for
    x-mcp-header parameters (of a tool listed before), no session id, no GET, no DELETE; a tool
    whose annotations break the rules is left out of tools/list."""
    tools = [
        {"name": "héllo", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "Priority"},
            "text": {"type": "string", "x-mcp-header": "Text"},
            "plain": {"type": "string"}}}},
        {"name": "bad", "inputSchema": {"type": "object", "properties": {
            "x": {"type": "number", "x-mcp-header": "X"}}}},
    ]

    def script(req: Request, reply: Reply) -> None:
        if req.method != "POST":
            return reply.status(405, headers={"Allow": "POST"})
        rid, m = req.body.get("id"), req.rpc_method
        if m == "server/discover":
            return reply.json(discover_result(rid))
        if m == "tools/list":
            return reply.json(result(rid, {"resultType": "complete", "tools": tools}))
        return reply.json(result(rid, {"resultType": "complete", "content": [{"type": "text", "text": "ok"}]}))

    with MockServer(script) as srv:
        listed = ok(run_client(srv.url, "tools/list", None, "--era", "auto"))
        assert [t["name"] for t in listed["tools"]] == ["héllo"], "the tool with a number header is dropped"
        # A new mcp-client knows no tools: list first in the same process via --all? No: one call
        # per process, so the Mcp-Param headers are checked in the binding tests; here Mcp-Name.
        ok(run_client(srv.url, "tools/call", {"name": "héllo", "arguments": {"region": "eu"}}, "--era", "auto"))
        seen = srv.seen()
    assert all(r.method == "POST" for r in seen), "no GET stream, no DELETE at 2026-07-28"
    for r in seen:
        meta = r.body["params"]["_meta"]
        assert r.header("mcp-protocol-version") == MODERN == meta["io.modelcontextprotocol/protocolVersion"]
        assert r.header("mcp-method") == r.rpc_method
        assert r.header("mcp-session-id") is None
        assert "application/json" in r.header("accept") and "text/event-stream" in r.header("accept")
    call = [r for r in seen if r.rpc_method == "tools/call"][0]
    assert call.header("mcp-name") == "=?base64?aMOpbGxv?="
    assert [r.header("mcp-name") for r in seen if r.rpc_method != "tools/call"] == [None] * (len(seen) - 1)


@pytest.mark.parametrize("relented", [True, False])
def test_header_mismatch_lists_tools_again_and_retries_once(relented):
    """streamable-http.mdx, "Client Behavior": a tools/call refused with HeaderMismatch
    (-32020) for its Mcp-Param-* headers makes the client read tools/list again and retry
    the call once with the headers the listed inputSchema gives. A server that refuses the
    retry as well gets its error through, after one listing and one retry."""
    tool = {"name": "deploy", "inputSchema": {"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"}}}}

    def script(req: Request, reply: Reply) -> None:
        if req.method != "POST":
            return reply.status(405, headers={"Allow": "POST"})
        rid, m = req.body.get("id"), req.rpc_method
        if m == "server/discover":
            return reply.json(discover_result(rid))
        if m == "tools/list":
            return reply.json(result(rid, {"resultType": "complete", "tools": [tool]}))
        if req.header("mcp-param-region") != "eu" or not relented:
            return reply.json({"jsonrpc": "2.0", "id": rid, "error": {
                "code": -32020, "message": "Header mismatch: Mcp-Param-Region is missing"}}, status=400)
        return reply.json(result(rid, {"resultType": "complete", "content": [{"type": "text", "text": "deployed"}]}))

    with MockServer(script) as srv:
        # A new mcp-client has listed nothing: its first call carries no Mcp-Param-Region.
        proc = run_client(srv.url, "tools/call", {"name": "deploy", "arguments": {"region": "eu"}}, "--era", MODERN)
        seen = [(r.rpc_method, r.header("mcp-param-region")) for r in srv.seen() if r.method == "POST"]
    assert seen == [("server/discover", None), ("tools/call", None), ("tools/list", None), ("tools/call", "eu")], seen
    calls = [r.body["id"] for r in srv.seen() if r.rpc_method == "tools/call"]
    assert calls[0] != calls[1], "the retry is a new request"
    if relented:
        assert text_of(ok(proc)) == "deployed"
    else:
        assert proc.returncode == 1 and "-32020" in proc.stderr, proc.stderr  # 1: the server answered an error


def test_modern_request_whose_stream_breaks_is_issued_again_with_a_new_id():
    calls = []

    def script(req: Request, reply: Reply) -> None:
        rid, m = req.body.get("id"), req.rpc_method
        if m == "server/discover":
            return reply.json(discover_result(rid))
        calls.append(rid)
        reply.sse_start()
        if len(calls) == 1:  # the first answer stream breaks before the answer
            reply.sse_event({"jsonrpc": "2.0", "method": "notifications/progress",
                             "params": {"progressToken": rid, "progress": 1}}, id="e1")
            return reply.sse_end()
        reply.sse_event(result(rid, {"resultType": "complete", "content": [{"type": "text", "text": "second"}]}))
        reply.sse_end()

    with MockServer(script) as srv:
        res = ok(run_client(srv.url, "tools/call", {"name": "x"}, "--era", "2026-07-28"))
        seen = srv.seen()
    assert text_of(res) == "second"
    assert len(calls) == 2 and calls[0] != calls[1]
    assert not any(r.method == "GET" for r in seen), "no Last-Event-ID resumption at 2026-07-28"


def test_http_probe_falls_back_on_a_legacy_4xx_but_not_on_a_modern_error():
    def legacy(req: Request, reply: Reply) -> None:
        if req.method != "POST":
            return reply.status(405)
        if req.header("mcp-protocol-version") == MODERN:
            return reply.json({"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": "Bad Request: No valid session ID"}}, status=400)
        if req.rpc_method == "initialize":
            return reply.json(result(req.body["id"], init_result("2025-11-25")), headers={"Mcp-Session-Id": "s1"})
        if "id" in req.body:
            return reply.json(result(req.body["id"], {}))
        reply.status(202)

    with MockServer(legacy) as srv:
        proc = run_client(srv.url, "ping", None, "--era", "auto")
        ok(proc)
        assert "era legacy (2025-11-25)" in proc.stderr
        assert [r.rpc_method for r in srv.seen() if r.method == "POST"][:2] == ["server/discover", "initialize"]

    def picky(req: Request, reply: Reply) -> None:
        reply.json({"jsonrpc": "2.0", "id": req.body.get("id"), "error": {
            "code": -32020, "message": "Header mismatch"}}, status=400)

    with MockServer(picky) as srv:
        proc = run_client(srv.url, "ping", None, "--era", "auto")
        assert proc.returncode == 3 and "-32020" in proc.stderr
        assert [r.rpc_method for r in srv.seen()] == ["server/discover"], "a modern error is no reason to fall back"


def test_sdk_server_over_http_in_auto_mode():
    with SDKServer("streamable") as srv:
        args = {"name": "add", "arguments": {"a": 2, "b": 3}}
        proc = run_client(srv.url, "tools/call", args, "--era", "auto")
        assert "era modern (2026-07-28)" in proc.stderr
        assert ok(proc)["structuredContent"] == {"result": 5}
        legacy = run_client(srv.url, "tools/call", args, "--era", "legacy")
        assert "era legacy (2025-11-25)" in legacy.stderr and ok(legacy)["structuredContent"] == {"result": 5}
