"""Client conformance scenarios (initialize, tools_call, elicitation defaults)
for our client, through build/bin/mcp-client, against a scripted stdio server
that records what the client sends. (sse-retry is in test_http_client.py.)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MOCK = HERE / "fixtures" / "mock_stdio_server.py"


def mcp_client() -> str:
    path = Path(os.environ.get("MCP_BUILD_DIR", HERE.parents[1] / "build")) / "bin" / "mcp-client"
    assert path.exists(), f"{path} is missing: build first (make)"
    return str(path)


def run(tmp_path, scenario: str, method: str, params: dict | None = None, era: str = "legacy"):
    # These scenarios are the 2025 era's (initialize first); era negotiation is
    # tested at the end of this file.
    log = tmp_path / "received.jsonl"
    cmd = [mcp_client(), "--era", era, method] + ([json.dumps(params)] if params is not None else [])
    cmd += ["--", sys.executable, str(MOCK), scenario, str(log)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    received = [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []
    return r, received


def test_initialize_negotiates_and_announces_initialized(tmp_path):
    r, received = run(tmp_path, "initialize", "ping")
    assert r.returncode == 0, r.stderr
    init = received[0]
    assert init["method"] == "initialize"
    p = init["params"]
    assert p["protocolVersion"] == "2025-11-25"
    assert p["clientInfo"]["name"] == "mcp-client" and p["clientInfo"]["version"]
    assert isinstance(p["capabilities"], dict)
    assert "elicitation" in p["capabilities"] and "roots" in p["capabilities"]
    # The server chose 2025-06-18: the client accepts it, sends initialized, then the request.
    assert [m.get("method") for m in received[1:3]] == ["notifications/initialized", "ping"]
    assert isinstance(received[2]["id"], (int, str))


def test_unknown_revision_from_the_server_is_refused(tmp_path):
    r, received = run(tmp_path, "bad-version", "ping")
    assert r.returncode == 3
    assert "1999-01-01" in r.stderr
    assert [m.get("method") for m in received] == ["initialize"], "nothing after a refused handshake"


def test_tools_call(tmp_path):
    r, received = run(tmp_path, "tools_call", "tools/call", {"name": "add", "arguments": {"a": 2, "b": 40}})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["content"][0]["text"] == "42"
    call = received[-1]
    assert call["method"] == "tools/call" and call["params"] == {"name": "add", "arguments": {"a": 2, "b": 40}}


def test_elicitation_defaults_keep_their_json_types(tmp_path):
    r, received = run(tmp_path, "elicitation-defaults", "tools/call", {"name": "confirm"})
    assert r.returncode == 0, r.stderr
    answer = received[-1]
    assert answer["id"] == "e1"
    result = answer["result"]
    assert result["action"] == "accept"
    content = result["content"]
    assert content == {"name": "John Doe", "age": 30, "score": 95.5, "status": "active", "verified": True}
    assert type(content["age"]) is int and type(content["score"]) is float and content["verified"] is True


ERA_SERVERS = HERE / "fixtures" / "era_servers.py"


def run_era(tmp_path, kind: str, *args: str):
    log = tmp_path / f"{kind}.jsonl"
    cmd = [mcp_client(), *args, "--", sys.executable, str(ERA_SERVERS), kind, str(log)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r, [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []


def test_mcp_client_auto_reaches_a_modern_only_server(tmp_path):
    r, received = run_era(tmp_path, "modern", "tools/call", json.dumps({"name": "whoami"}))
    assert r.returncode == 0, r.stderr
    assert "mcp-client: era modern (2026-07-28)" in r.stderr
    assert [m["method"] for m in received] == ["server/discover", "tools/call"]
    for m in received:  # request-metadata: every request carries the envelope
        meta = m["params"]["_meta"]
        assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
        assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "mcp-client"
        caps = meta["io.modelcontextprotocol/clientCapabilities"]
        for name in ("roots", "sampling", "elicitation"):
            assert isinstance(caps.get(name), dict)


def test_mcp_client_auto_falls_back_to_a_legacy_only_server(tmp_path):
    r, received = run_era(tmp_path, "legacy", "ping")
    assert r.returncode == 0, r.stderr
    assert "mcp-client: era legacy (2025-11-25)" in r.stderr
    assert [m.get("method") for m in received] == ["server/discover", "initialize", "notifications/initialized", "ping"]


def test_mcp_client_era_option(tmp_path):
    r, received = run_era(tmp_path, "modern", "--era", "legacy", "ping")
    assert r.returncode == 3 and "-32022" in r.stderr
    r, _ = run_era(tmp_path, "modern", "--era", "1999-01-01", "ping")
    assert r.returncode == 2 and "era" in r.stderr
