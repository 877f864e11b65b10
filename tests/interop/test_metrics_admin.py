"""Metrics, health and readiness on the admin listener, and engine logs on stderr.

The everything server runs with --http and --admin: traffic of known shape is
driven through the MCP endpoint, then /metrics must have moved by exactly
that traffic (requests by method, era and outcome; the tool's latency
histogram; in-flight back to 0; a refused oversized body counted as a 413),
`promtool check metrics` must accept the text, /healthz and /readyz answer
with their JSON bodies, and the refusal reaches stderr as a JSON log line.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request

from http_support import EverythingHTTP, call, connect, free_port, initialize, messages, post
from modern_support import result

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def samples(text: str) -> dict[str, float]:
    """Every sample of an exposition, keyed by name and label set as written."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def requests_key(method: str, outcome: str, era: str = "2025") -> str:
    return f'mcp_server_requests_total{{mcp_method_name="{method}",mcp_era="{era}",outcome="{outcome}"}}'


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make deps` installs Debian's prometheus package"
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout.decode() + r.stderr.decode())


def test_metrics_health_readiness_and_logs():
    admin_port = free_port()
    admin = f"http://127.0.0.1:{admin_port}"
    with EverythingHTTP("--json-response", "--admin", f"127.0.0.1:{admin_port}") as server:
        status, ctype, body = get(admin + "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "alive"}) and ctype == "application/json"
        status, _, body = get(admin + "/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ready"})
        assert get(admin + "/nope")[0] == 404

        status, ctype, text = get(admin + "/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        before = samples(text)

        sid = initialize(server.url)
        echo_calls, error_calls, pings = 5, 2, 3
        for i in range(echo_calls):
            [m] = messages(post(server.url, call(i, "test_echo", {"text": f"hi {i}"}), session=sid))
            assert "result" in m and not m["result"].get("isError"), m
        for i in range(error_calls):
            [m] = messages(post(server.url, call(100 + i, "test_error_handling"), session=sid))
            assert m["result"]["isError"] is True, m
        for i in range(pings):
            [m] = messages(post(server.url, {"jsonrpc": "2.0", "id": 200 + i, "method": "ping"}, session=sid))
            assert m["result"] == {}, m
        [m] = messages(post(server.url, {"jsonrpc": "2.0", "id": 300, "method": "no/such/method"}, session=sid))
        assert m["error"]["code"] == -32601, m
        # Two stateless 2026-07-28 calls: the same method, counted in the other era.
        modern_calls = 2
        for _ in range(modern_calls):
            assert result(server.url, "tools/call", {"name": "test_echo", "arguments": {"text": "m"}})["content"]
        # A body over the 16 MiB limit: refused with 413 before the engine sees it.
        resp = post(server.url, raw=b"[" + b" " * (17 << 20) + b"]", session=sid)
        assert resp.status == 413, resp.status
        resp.read()

        # A keep-alive connection left open, so the scrape sees at least one.
        held = connect(server.url)
        [m] = messages(post(server.url, {"jsonrpc": "2.0", "id": 400, "method": "ping"}, session=sid, conn=held))
        pings += 1
        status, _, text = get(admin + "/metrics")
        assert status == 200
        after = samples(text)
        held.close()

        def moved(key: str) -> float:
            return after.get(key, 0) - before.get(key, 0)

        assert moved(requests_key("tools/call", "ok")) == echo_calls, text
        assert moved(requests_key("tools/call", "tool_error")) == error_calls, text
        assert moved(requests_key("tools/call", "ok", era="2026-07-28")) == modern_calls, text
        assert moved(requests_key("ping", "ok")) == pings, text
        assert moved(requests_key("initialize", "ok")) == 1, text
        assert moved(requests_key("other", "-32601")) == 1, text
        assert moved(requests_key("unknown", "refused", era="unknown")) == 1, text
        assert moved('mcp_server_refusals_total{cause="413"}') == 1, text
        assert moved('mcp_server_tool_duration_seconds_count{gen_ai_tool_name="test_echo"}') \
            == echo_calls + modern_calls, text
        assert moved('mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",mcp_era="2025"}') \
            == echo_calls + error_calls, text
        assert after["mcp_server_calls_in_flight"] == 0, text
        assert after["mcp_server_sessions"] == 1, text
        assert after["mcp_server_connections"] >= 1, text
        assert moved("mcp_server_received_bytes_total") > 0 and moved("mcp_server_sent_bytes_total") > 0, text
        assert after['mcp_server_streams{kind="sse"}'] == 0, text
        assert after["mcp_worker_max_threads"] == 64, text
        assert after["process_resident_memory_bytes"] > 1 << 20, text
        assert after["process_open_fds"] >= 3 and after["process_cpu_seconds_total"] > 0, text
        promtool_check(text)
    # The 413 reached the log hook, which the program prints as a JSON line.
    records = [json.loads(line) for line in server.stderr.decode().splitlines() if line.startswith("{")]
    refusals = [r for r in records if r.get("cause") == "413"]
    assert refusals and refusals[0]["level"] == "warning" and refusals[0]["component"] == "http", records
    assert "16777216-byte limit" in refusals[0]["msg"], refusals

