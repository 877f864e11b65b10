"""Request spans (libmcp.tracing) mapped onto OpenTelemetry, collected with the SDK's
InMemorySpanExporter: our client -> our server in both eras (one trace: the host's span,
the engine's client span, the engine's server span, a span the tool starts), the
official SDK client's _meta traceparent honoured by our server, errors, the raw hook,
and nothing changed once tracing is disabled."""
from __future__ import annotations

import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import libmcp
from libmcp import Client, Server

from conftest import connect_http, run, texts

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
# The official SDK's client traces through the global provider.
trace.set_tracer_provider(PROVIDER)
if trace.get_tracer_provider() is not PROVIDER:  # pragma: no cover - another test set one first
    raise RuntimeError("a global tracer provider was already set in this process")
HOST = PROVIDER.get_tracer("host-app")


@pytest.fixture
def server():
    srv = Server("traced", "1.0")

    @srv.tool()
    def echo(text: str) -> str:
        with HOST.start_as_current_span("inside-echo"):
            return text

    @srv.tool()
    async def aecho(text: str) -> str:
        with HOST.start_as_current_span("inside-aecho"):
            return text

    @srv.tool()
    def broken() -> str:
        raise ValueError("no")

    port = srv.start_http("127.0.0.1", 0)
    EXPORTER.clear()
    libmcp.tracing.enable(tracer_provider=PROVIDER)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        libmcp.tracing.disable()
        srv.close()


def spans_until(predicate, timeout: float = 10.0):
    """The finished spans, once predicate(spans) holds (spans reach the exporter from an engine thread)."""
    deadline = time.monotonic() + timeout
    while True:
        spans = EXPORTER.get_finished_spans()
        if predicate(spans):
            return spans
        assert time.monotonic() < deadline, f"spans seen: {[(s.name, s.kind) for s in spans]}"
        time.sleep(0.02)


def one(spans, name, kind=None):
    found = [s for s in spans if s.name == name and (kind is None or s.kind == kind)]
    assert len(found) == 1, f"{name} {kind}: {[(s.name, s.kind) for s in spans]}"
    return found[0]


def has(name, kind=None):
    return lambda spans: any(s.name == name and (kind is None or s.kind == kind) for s in spans)


def all_of(*preds):
    return lambda spans: all(p(spans) for p in preds)


@pytest.mark.parametrize("era,version", [("auto", "2026-07-28"), ("2025-11-25", "2025-11-25")])
@pytest.mark.parametrize("tool", ["echo", "aecho"])
def test_our_client_to_our_server_is_one_trace(server, era, version, tool):
    with Client.http(server, era=era) as c:
        with HOST.start_as_current_span("host-operation") as host:
            assert c.call_tool(tool, {"text": "hi"})["content"][0]["text"] == "hi"
        name = f"tools/call {tool}"
        spans = spans_until(all_of(has(name, SpanKind.CLIENT), has(name, SpanKind.SERVER), has(f"inside-{tool}")))
    host_ctx = host.get_span_context()
    client = one(spans, name, SpanKind.CLIENT)
    srv = one(spans, name, SpanKind.SERVER)
    inside = one(spans, f"inside-{tool}")
    # host -> engine client span -> engine server span -> the tool's own span, one trace.
    assert {s.context.trace_id for s in (client, srv, inside)} == {host_ctx.trace_id}
    assert client.parent.span_id == host_ctx.span_id and not client.parent.is_remote
    assert srv.parent.span_id == client.context.span_id and srv.parent.is_remote
    assert inside.parent.span_id == srv.context.span_id
    for s in (client, srv):
        assert s.attributes["mcp.method.name"] == "tools/call"
        assert s.attributes["gen_ai.tool.name"] == tool
        assert s.attributes["gen_ai.operation.name"] == "execute_tool"
        assert s.attributes["mcp.protocol.version"] == version
        assert s.attributes["jsonrpc.request.id"]
        assert "error.type" not in s.attributes
        assert s.status.status_code == StatusCode.UNSET
        assert s.start_time <= s.end_time
        assert s.attributes["network.transport"] == "tcp"
        assert s.attributes["network.protocol.name"] == "http"
        assert s.attributes["network.protocol.version"] == "1.1"
    # Each side names the other end: the client its server, the server its client.
    port = int(server.rsplit(":", 1)[1].split("/")[0])
    assert client.attributes["server.address"] == "127.0.0.1" and client.attributes["server.port"] == port
    assert "client.address" not in client.attributes
    assert srv.attributes["client.address"] == "127.0.0.1"
    assert 0 < srv.attributes["client.port"] != port
    assert "server.address" not in srv.attributes
    assert client.start_time <= srv.start_time and srv.end_time <= client.end_time
    if version == "2025-11-25":
        assert srv.attributes["mcp.session.id"]
    else:
        assert "mcp.session.id" not in srv.attributes
        # The era probe has a span of its own too.
        assert any(s.name == "server/discover" for s in spans)


def test_the_official_clients_traceparent_is_honoured(server):
    async def body():
        async with connect_http(server) as (s, _init):
            with HOST.start_as_current_span("sdk-host"):
                assert texts(await s.call_tool("echo", {"text": "x"})) == "x"
    run(body)
    spans = spans_until(has("tools/call echo", SpanKind.SERVER))
    srv = one(spans, "tools/call echo", SpanKind.SERVER)
    sdk_client = [s for s in spans if s.kind == SpanKind.CLIENT and "tools/call" in s.name
                  and s.instrumentation_scope.name == "mcp-python-sdk"]
    assert len(sdk_client) == 1, [(s.name, s.instrumentation_scope.name) for s in spans]
    assert srv.context.trace_id == sdk_client[0].context.trace_id
    assert srv.parent.span_id == sdk_client[0].context.span_id and srv.parent.is_remote


def test_errors_are_typed(server):
    with Client.http(server) as c:
        assert c.call_tool("broken", {})["isError"] is True
        with pytest.raises(libmcp.PeerError):
            c.request("tools/call", {"name": "missing", "arguments": {}})
    spans = spans_until(all_of(has("tools/call broken", SpanKind.SERVER), has("tools/call missing", SpanKind.SERVER),
                               has("tools/call missing", SpanKind.CLIENT)))
    broken = one(spans, "tools/call broken", SpanKind.SERVER)
    assert broken.attributes["error.type"] == "tool_error"
    assert broken.status.status_code == StatusCode.ERROR
    for kind in (SpanKind.SERVER, SpanKind.CLIENT):
        unknown = one(spans, "tools/call missing", kind)
        assert unknown.attributes["error.type"] == unknown.attributes["rpc.response.status_code"]
        assert unknown.status.status_code == StatusCode.ERROR and unknown.status.description


def test_a_hook_of_our_own_gets_dicts_and_disable_stops_it(server):
    got: list[dict] = []
    libmcp.tracing.enable(got.append)
    with Client.http(server) as c:
        c.call_tool("echo", {"text": "hi"})
        deadline = time.monotonic() + 10
        while not any(s["name"] == "tools/call echo" and s["kind"] == "server" for s in got):
            assert time.monotonic() < deadline, got
            time.sleep(0.02)
        span = next(s for s in got if s["name"] == "tools/call echo" and s["kind"] == "server")
        assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16 and len(span["parentSpanId"]) == 16
        assert span["status"] == {"code": "unset"} and span["attributes"]["gen_ai.tool.name"] == "echo"

        libmcp.tracing.disable()
        got.clear()
        EXPORTER.clear()
        c.call_tool("echo", {"text": "again"})
        time.sleep(0.3)
        assert got == [] and not [s for s in EXPORTER.get_finished_spans() if s.name.startswith("tools/")]


def test_stdio_spans_say_pipe(server):
    """Over stdio both sides record network.transport "pipe" and no addresses."""
    import json
    import os
    import sys

    from conftest import SERVERS, child_env

    with Client.stdio(sys.executable, str(SERVERS / "sdk_server.py"), "stdio", env=child_env()) as c:
        c.list_tools()
    client = one(spans_until(has("tools/list", SpanKind.CLIENT)), "tools/list", SpanKind.CLIENT)
    assert client.attributes["network.transport"] == "pipe"
    assert not {"server.address", "server.port", "network.protocol.name"} & set(client.attributes)

    srv = Server("piped", "1.0")

    @srv.tool()
    def ping_me() -> str:
        return "pong"

    to_server, from_client = os.pipe()
    to_client, from_server = os.pipe()
    srv.start_fds(to_server, from_server)
    try:
        lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                     "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
                 {"jsonrpc": "2.0", "method": "notifications/initialized"},
                 {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ping_me", "arguments": {}}}]
        os.write(from_client, "".join(json.dumps(m) + "\n" for m in lines).encode())
        reader = os.fdopen(to_client, "rb", buffering=0)
        answers = [json.loads(reader.readline()) for _ in range(2)]
        assert answers[1]["result"]["content"][0]["text"] == "pong"
        served = one(spans_until(has("tools/call ping_me", SpanKind.SERVER)), "tools/call ping_me", SpanKind.SERVER)
        assert served.attributes["network.transport"] == "pipe"
        assert not {"client.address", "client.port", "network.protocol.name"} & set(served.attributes)
    finally:
        os.close(from_client)
        srv.stop()
        srv.wait()
        srv.close()
        for fd in (to_server, from_server):
            os.close(fd)
        reader.close()
