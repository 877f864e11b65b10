"""Era negotiation and the modern revision (2026-07-28) from the binding's Client:
against the official SDK's dual-era server (tests/interop/fixtures/sdk_server.py) in
auto, legacy and modern modes over stdio and Streamable HTTP, with multi round-trip
tools that elicit twice and sample; against one-era fixture servers in auto mode; and
against real servers from PyPI (mcp-server-time, mcp-server-git) over stdio."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import libmcp
from libmcp import AsyncClient, Client

from conftest import child_env, run

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "interop" / "fixtures"
SDK = FIXTURES / "sdk_server.py"
ERA_SERVERS = FIXTURES / "era_servers.py"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SDKHTTP:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(SDK), "streamable-http", str(self.port)], env=child_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "the SDK server did not start"
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def elicitation(params):
    # The requested schema's "mood" default is left for the engine to fill in (SEP-1034).
    name = "Ada" if params["message"].startswith("First") else "Bob"
    return {"action": "accept", "content": {"name": name}}


def sampling(params):
    return {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "test-model"}


@pytest.fixture(params=["stdio", "http"])
def sdk(request):
    clients, server = [], None
    if request.param == "http":
        server = SDKHTTP()

    def connect(**options) -> Client:
        options.setdefault("elicitation", elicitation)
        options.setdefault("sampling", sampling)
        options.setdefault("request_timeout", 20)
        if server is None:
            c = Client.stdio(sys.executable, str(SDK), "stdio", env=child_env(), **options)
        else:
            c = Client.http(server.url, **options)
        clients.append(c)
        return c
    connect.transport = request.param
    yield connect
    for c in clients:
        c.close()
    if server is not None:
        server.close()


@pytest.mark.parametrize("era", ["auto", "legacy", "2026-07-28", "2025-06-18"])
def test_sdk_server_in_each_era(sdk, era):
    c = sdk(era=era)
    info = c.era_info
    modern = era in ("auto", "2026-07-28")
    assert info["era"] == ("modern" if modern else "legacy")
    assert info["protocolVersion"] == {"auto": "2026-07-28", "2026-07-28": "2026-07-28", "legacy": "2025-11-25",
                                       "2025-06-18": "2025-06-18"}[era]
    assert "tools" in info["capabilities"] and info["serverInfo"]["name"] == "sdk-fixture"
    assert ("supportedVersions" in info) == modern
    assert c.server_info["protocolVersion"] == info["protocolVersion"]
    assert c.call_tool("add", {"a": 2, "b": 40})["structuredContent"] == {"result": 42}
    # Two elicitations and a sampling request: MRTR rounds at 2026-07-28, server
    # requests at 2025; the same handlers either way.
    assert c.call_tool("greet_twice")["content"][0]["text"] == "hello Ada and Bob"
    assert c.call_tool("sampled")["content"][0]["text"] == "model said 4"
    assert c.read_resource("fixture://greeting")["contents"][0]["text"] == "hello from the SDK"
    assert "greet_twice" in {t["name"] for t in c.list_tools()}
    if modern:
        # Two rounds in a row, each one elicitation; the default filled in by the engine.
        assert c.call_tool("two_rounds")["content"][0]["text"] == "Ada/calm then Bob"
        with pytest.raises(libmcp.Unsupported):
            c.ping()
    else:
        c.ping()


def test_input_rounds_are_bounded(sdk):
    c = sdk(era="2026-07-28", max_input_rounds=3)
    t0 = time.monotonic()
    with pytest.raises(libmcp.errors.LimitExceeded, match="3 rounds"):
        c.call_tool("endless")
    assert time.monotonic() - t0 < 10
    # The host can take the rounds itself.
    c2 = sdk(era="2026-07-28", max_input_rounds=0)
    r = c2.call_tool("two_rounds")
    assert r["resultType"] == "input_required" and r["requestState"].startswith("v1.")  # sealed by the SDK
    assert list(r["inputRequests"]) == ["first"]


def test_x_mcp_header_is_mirrored_over_http(sdk):
    c = sdk(era="auto")
    tools = {t["name"]: t for t in c.list_tools()}
    assert tools["regional"]["inputSchema"]["properties"]["region"]["x-mcp-header"] == "Region"
    # The SDK server refuses (HeaderMismatch) a call whose Mcp-Param-Region is missing or wrong.
    assert c.call_tool("regional", {"region": "us-west1", "query": "q"})["content"][0]["text"] == "us-west1: q"
    assert c.call_tool("regional", {"region": "Zürich ", "query": "q"})["content"][0]["text"] == "Zürich : q"


def test_async_client_era_option(sdk):
    async def body():
        async with AsyncClient(era="2026-07-28", elicitation=elicitation, sampling=sampling) as c:
            if sdk.transport == "stdio":
                await c.connect_stdio(sys.executable, str(SDK), "stdio", env=child_env())
            else:
                return
            assert c.era == "modern"
            r = await c.call_tool("greet_twice", meta={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
            assert r["content"][0]["text"] == "hello Ada and Bob"
    run(body)


def era_server(kind: str, tmp_path: Path, **options) -> tuple[Client, Path]:
    log = tmp_path / f"{kind}.jsonl"
    c = Client.stdio(sys.executable, str(ERA_SERVERS), kind, str(log), env=child_env(), **options)
    return c, log


def sent(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_modern_only_server_in_auto_mode(tmp_path):
    c, log = era_server("modern", tmp_path, log_level="info")
    try:
        assert c.era_info["era"] == "modern" and c.era_info["serverInfo"]["name"] == "modern-only"
        meta = json.loads(c.call_tool("whoami", meta={"traceparent": "00-abc-01"})["content"][0]["text"])
        assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
        assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "libmcp-python"
        assert isinstance(meta["io.modelcontextprotocol/clientCapabilities"], dict)
        assert meta["io.modelcontextprotocol/logLevel"] == "info" and meta["traceparent"] == "00-abc-01"
        # Over stdio x-mcp-header annotations are not checked: the tool stays.
        assert {t["name"] for t in c.list_tools()} == {"whoami", "bad_header"}
    finally:
        c.close()
    methods = [m.get("method") for m in sent(log)]
    assert methods[0] == "server/discover" and "initialize" not in methods


def test_hostile_modern_answers_get_clear_errors(tmp_path):
    import resource
    c, _ = era_server("modern", tmp_path)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.monotonic()
        with pytest.raises(libmcp.Closed):
            c.call_tool("huge_state")  # 100 MiB requestState > max_message_bytes (16 MiB)
        assert time.monotonic() - t0 < 20
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert grown_mib < 64, f"peak RSS grew {grown_mib:.0f} MiB: the answer was buffered"
        with pytest.raises(libmcp.PeerError, match="resultType"):
            c.call_tool("garbage")
        assert c.call_tool("whoami")["content"], "the connection survives both"
    finally:
        c.close()


@pytest.mark.parametrize("kind", ["legacy", "silent"])
def test_legacy_only_server_in_auto_mode(tmp_path, kind):
    t0 = time.monotonic()
    c, log = era_server(kind, tmp_path, discover_timeout=1.0)
    try:
        assert c.era_info == {**c.era_info, "era": "legacy", "protocolVersion": "2025-11-25"}
        assert "supportedVersions" not in c.era_info
        meta = json.loads(c.call_tool("whoami")["content"][0]["text"])
        assert "io.modelcontextprotocol/protocolVersion" not in meta
    finally:
        c.close()
    assert time.monotonic() - t0 < 8
    methods = [m.get("method") for m in sent(log)]
    assert methods[:3] == ["server/discover", "initialize", "notifications/initialized"]
    assert "notifications/cancelled" not in methods, "the probe is never cancelled"


def test_modern_only_server_refuses_legacy_mode(tmp_path):
    with pytest.raises(libmcp.PeerError) as e:
        era_server("modern", tmp_path, era="legacy")
    assert e.value.code == -32022


@pytest.mark.parametrize("package,argv", [
    ("mcp-server-time", ["mcp-server-time", "--local-timezone", "UTC"]),
    ("mcp-server-git", ["mcp-server-git", "--repository", str(REPO)]),
])
def test_pypi_servers_over_stdio_in_auto_mode(package, argv):
    venv = os.environ.get("MCP_THIRD_PARTY_VENV") or str(REPO / ".venv-3p")
    exe = Path(venv) / "bin" / argv[0]
    assert exe.exists(), f"{exe} is missing: python3 -m venv {venv} && {venv}/bin/pip install -r tests/requirements-3p.txt"
    c = Client.stdio(str(exe), *argv[1:], request_timeout=30)
    try:
        info = c.era_info
        assert info["era"] in ("legacy", "modern") and "tools" in info["capabilities"]
        names = {t["name"] for t in c.list_tools()}
        if package == "mcp-server-time":
            assert "get_current_time" in names
            r = c.call_tool("get_current_time", {"timezone": "UTC"})
            assert "UTC" in r["content"][0]["text"]
        else:
            assert "git_status" in names
            r = c.call_tool("git_status", {"repo_path": str(REPO)})
            assert "branch" in r["content"][0]["text"].lower()
    finally:
        c.close()
