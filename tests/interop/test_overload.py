"""Overload protection over HTTP: a flood of calls at many times the server's bound on calls in flight.

The everything server runs with --max-calls-in-flight 8; 48 clients call test_sleep (100 ms each) as fast
as they can for three seconds, about six times what the bound admits. Every request gets an HTTP answer:
calls within the bound succeed, the excess is refused with 503 and Retry-After, never dropped or left
hanging. Meanwhile server/discover (answered by the engine itself) and /healthz answer at once, the server's memory
stays bounded, and when the flood stops the next call is served at once. Tool timeouts and the circuit
breaker are exercised end to end through the same server.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from collections import Counter

from http_support import (EverythingHTTP, HostHTTP, call, free_port, initialize, request,
                          start_host_expecting_error)
from modern_support import body, mpost


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_flood_is_refused_fast_while_pings_and_health_are_served():
    admin_port = free_port()
    # Refusals are warning records, at most one a second per cause (the rest counted in it), so
    # the stderr pipe nobody reads during the flood does not fill; they are read at the end.
    with EverythingHTTP("--max-calls-in-flight", "8", "--admin", f"127.0.0.1:{admin_port}",
                        "--log-level", "warning") as server:
        url = server.url
        outcomes: Counter[str] = Counter()
        retry_after: set[str] = set()
        lock = threading.Lock()
        stop = threading.Event()

        def flood() -> None:
            while not stop.is_set():
                r = mpost(url, body("tools/call", {"name": "test_sleep", "arguments": {"ms": 100}}))
                data = r.read()
                with lock:
                    if r.status == 200:
                        msg = json.loads(data) if data.startswith(b"{") else messages_of(data)
                        outcomes["ok" if "result" in msg else "error"] += 1
                    elif r.status == 503:
                        outcomes["503"] += 1
                        retry_after.add(r.getheader("Retry-After") or "")
                        assert json.loads(data)["error"]["message"].startswith("Server overloaded"), data
                    else:
                        outcomes[str(r.status)] += 1

        def messages_of(data: bytes) -> dict:
            for line in data.decode().splitlines():
                if line.startswith("data:"):
                    return json.loads(line[5:])
            raise AssertionError(data)

        before = rss_kb(server.proc.pid)
        workers = [threading.Thread(target=flood, daemon=True) for _ in range(48)]
        for w in workers:
            w.start()
        ping_times, health_times, peak = [], [], before
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            r = mpost(url, body("server/discover"))  # answered by the engine (2026-07-28 has no ping)
            assert r.status == 200 and "result" in json.loads(r.read())
            ping_times.append(time.monotonic() - t0)
            t0 = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/healthz", timeout=10) as h:
                assert h.status == 200
            health_times.append(time.monotonic() - t0)
            peak = max(peak, rss_kb(server.proc.pid))
            time.sleep(0.05)
        stop.set()
        for w in workers:
            w.join(30)
        assert not any(w.is_alive() for w in workers), "a flooding client never got its answer"

        print(f"flood: {dict(outcomes)}; ping max {max(ping_times) * 1000:.1f} ms, healthz max "
              f"{max(health_times) * 1000:.1f} ms; RSS {before} -> peak {peak} KiB")
        assert outcomes["ok"] > 20 and outcomes["503"] > outcomes["ok"], outcomes
        assert set(outcomes) <= {"ok", "503"}, outcomes  # nothing else: no error answer, no other status
        assert retry_after == {"1"}, retry_after
        assert max(ping_times) < 1.0 and max(health_times) < 1.0, (ping_times, health_times)
        assert peak - before < 64 * 1024, (before, peak)  # bounded: refusals hold nothing

        # Recovered: the next call is served at once.
        t0 = time.monotonic()
        r = mpost(url, body("tools/call", {"name": "test_sleep", "arguments": {"ms": 1}}))
        assert r.status == 200 and time.monotonic() - t0 < 1.0
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as m:
            text = m.read().decode()
        refused = [ln for ln in text.splitlines() if ln.startswith('mcp_server_refusals_total{cause="503"}')]
        assert refused and float(refused[0].split()[-1]) == outcomes["503"], (refused, outcomes)
    records = [json.loads(ln) for ln in server.stderr.decode().splitlines() if ln.startswith("{")]
    logged = [r for r in records if r.get("cause") == "503"]
    stood_for = len(logged) + sum(r.get("suppressed", 0) for r in logged)
    print(f"refusal log: {len(logged)} records standing for {stood_for} of {outcomes['503']} refusals")
    # One record a second (the flood lasts about 3 s), each counting those suppressed before it;
    # the refusals after the last record are in the metrics only.
    assert 1 <= len(logged) <= 6, [r.get("suppressed") for r in logged]
    assert outcomes["503"] // 3 <= stood_for <= outcomes["503"], (stood_for, outcomes)


def test_a_tool_timeout_and_the_circuit_breaker_over_http():
    with EverythingHTTP("--json-response", "--tool-timeout-ms", "300", "--circuit-breaker", "2:400") as server:
        def call(ms: int) -> dict:
            r = mpost(server.url, body("tools/call", {"name": "test_sleep", "arguments": {"ms": ms}}))
            assert r.status == 200
            return json.loads(r.read())

        assert "result" in call(10)
        t0 = time.monotonic()
        first = call(5000)
        assert time.monotonic() - t0 < 3
        assert first["error"]["data"] == {"reason": "timeout", "timeoutMs": 300}, first
        assert call(5000)["error"]["data"]["reason"] == "timeout"
        refused = call(10)  # two timeouts in a row: the tool's circuit is open
        assert refused["error"]["data"]["reason"] == "circuit_open", refused
        assert 0 < refused["error"]["data"]["retryAfterMs"] <= 400
        time.sleep(0.45)
        assert "result" in call(10)  # the probe succeeds: closed again
        assert "result" in call(10)


def test_rate_limit_per_client_answers_429_with_retry_after():
    """A token bucket per client: its session when it has one, else its address. One client over its rate
    is refused 429 with Retry-After; another client (another session) is served meanwhile."""
    with HostHTTP({"rate_limit": {"requests_per_second": 5, "burst": 3}}) as host:
        url = host.url()

        def echo(session: str | None = None) -> http.client.HTTPResponse:
            r = request(url, "POST", call(1, "echo", {"text": "hi"}), session_headers(session))
            r.read()
            return r

        def session_headers(session: str | None) -> dict[str, str]:
            return {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"} if session else {}

        # initialize is counted by address; the session's notifications/initialized took its first token.
        a = initialize(url)
        statuses = [echo(a).status for _ in range(5)]
        assert statuses == [200, 200, 429, 429, 429], statuses
        r = echo(a)
        assert r.status == 429 and r.getheader("Retry-After") == "1"
        b = initialize(url)
        assert echo(b).status == 200  # another client is not held back by the first
        time.sleep(0.5)  # 5 per second: two tokens back
        assert [echo(a).status for _ in range(3)] == [200, 200, 429]

    assert "requests_per_second" in start_host_expecting_error({"rate_limit": {"requests_per_second": 0}})
    assert "unknown key" in start_host_expecting_error({"rate_limit": {"rps": 3}})
