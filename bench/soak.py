#!/usr/bin/env python3
"""Soak (a benchmark, not a test): the everything server over HTTP under N
minutes of mixed traffic from both eras, with reconnects and cancellations,
watched for slow growth.

Traffic, from --workers threads at once, each picking at random (seeded):
  2025 era   a session (initialize, initialized) that makes a few calls and is
             then deleted: test_echo; test_tool_with_progress with a progress
             token; its answer stream dropped after the first progress event
             and resumed with Last-Event-ID; test_sleep cancelled with
             notifications/cancelled; every connection closed at random
             (reconnects)
  2026-07-28 stateless POSTs: test_echo, server/discover, tools/list, and
             test_sleep whose connection is closed mid-call (the cancellation
             of that era)
Every --sample seconds (60) one row: the server's RSS (VmRSS) and open
descriptors (/proc/PID), its threads, the calls made and failed in that
interval, and the latency p50/p99 of the plain test_echo calls. At the end a
verdict: the least-squares slope of RSS (and of descriptors) over the last
two thirds of the rows, when the warm-up is over; "flat" when over that
window the slope adds up to less than 1 MiB (or 2% of the level) of RSS and
to fewer descriptors than the connections open at one moment vary by.
Exit status 1 when the verdict is "growing" or a call failed unexpectedly.

Usage: python3 bench/soak.py --build build [--minutes 30] [--workers 8] [--sample 60] [--seed N]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import select
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
TIMEOUT = 15.0


def proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.failures: list[str] = []
        self.latencies: list[float] = []
        self.kinds: dict[str, int] = {}

    def ok(self, kind: str, latency: float | None = None) -> None:
        with self.lock:
            self.calls += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if latency is not None:
                self.latencies.append(latency)

    def failed(self, what: str) -> None:
        with self.lock:
            self.calls += 1
            self.failures.append(what)

    def take(self) -> tuple[int, list[str], list[float], dict[str, int]]:
        with self.lock:
            out = (self.calls, self.failures, self.latencies, self.kinds)
            self.reset()
            return out


def sse_messages(resp: http.client.HTTPResponse, stop_after: int | None = None) -> tuple[list[dict], str | None]:
    """The JSON messages of an SSE response (all, or the first stop_after with
    data) and the last event id seen."""
    out: list[dict] = []
    last_id = None
    data: list[str] = []
    while True:
        line = resp.readline()
        if not line:
            return out, last_id
        text = line.decode().rstrip("\r\n")
        if text == "":
            if data:
                out.append(json.loads("\n".join(data)))
                data = []
                if stop_after is not None and len(out) >= stop_after:
                    return out, last_id
            continue
        name, _, value = text.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            last_id = value
        elif name == "data" and value:
            data.append(value)


class Worker:
    def __init__(self, host: str, port: int, rng: random.Random, stats: Stats, stop: threading.Event):
        self.host, self.port, self.rng, self.stats, self.stop = host, port, rng, stats, stop
        self.conn: http.client.HTTPConnection | None = None
        self.rid = 0

    # -------------------------------------------------------------- plumbing
    def connection(self) -> http.client.HTTPConnection:
        if self.conn is None or self.rng.random() < 0.05:  # reconnect now and then
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        return self.conn

    def fresh(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def next_id(self) -> int:
        self.rid += 1
        return self.rid

    def post(self, body: dict, headers: dict[str, str], conn: http.client.HTTPConnection | None = None):
        conn = conn or self.connection()
        h = {"Host": f"{self.host}:{self.port}", "Content-Type": "application/json",
             "Accept": "application/json, text/event-stream", **headers}
        try:
            conn.request("POST", "/mcp", body=json.dumps(body), headers=h)
            return conn.getresponse()
        except (OSError, http.client.HTTPException):
            # A kept-alive connection the server closed meanwhile: once more, afresh.
            conn.close()
            conn.request("POST", "/mcp", body=json.dumps(body), headers=h)
            return conn.getresponse()

    @staticmethod
    def answer(resp: http.client.HTTPResponse) -> dict:
        if resp.getheader("Content-Type", "").startswith("text/event-stream"):
            msgs, _ = sse_messages(resp)
            return msgs[-1] if msgs else {}
        return json.loads(resp.read() or b"{}")

    def call(self, tool: str, args: dict, headers: dict[str, str], meta: dict | None = None) -> dict:
        params: dict = {"name": tool, "arguments": args}
        if meta:
            params["_meta"] = meta
        return self.answer(self.post({"jsonrpc": "2.0", "id": self.next_id(), "method": "tools/call",
                                      "params": params}, headers))

    # -------------------------------------------------------------- 2025 era
    def session(self) -> None:
        resp = self.post({"jsonrpc": "2.0", "id": self.next_id(), "method": "initialize",
                          "params": {"protocolVersion": LEGACY, "capabilities": {},
                                     "clientInfo": {"name": "soak", "version": "1"}}}, {})
        sid = resp.getheader("Mcp-Session-Id")
        init = self.answer(resp)
        if not sid or "result" not in init:
            return self.stats.failed(f"initialize: {init}")
        h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY}
        resp = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, h)
        resp.read()
        for _ in range(self.rng.randrange(2, 12)):
            if self.stop.is_set():
                break
            pick = self.rng.random()
            if pick < 0.6:
                self.echo(h, None)
            elif pick < 0.75:
                msg = self.call("test_tool_with_progress", {}, h, {"progressToken": f"p{self.rid}"})
                self.check(msg, "test_tool_with_progress", lambda m: "result" in m, "progress")
            elif pick < 0.9:
                self.resume(h)
            else:
                self.cancel_2025(h)
        conn = self.connection()
        try:
            conn.request("DELETE", "/mcp", headers={"Host": f"{self.host}:{self.port}", **h})
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            conn.close()

    def echo(self, h: dict[str, str], meta: dict | None) -> None:
        text = "e" * self.rng.randrange(1, 2000)
        started = time.perf_counter()
        msg = self.call("test_echo", {"text": text}, h, meta)
        took = time.perf_counter() - started
        ok = msg.get("result", {}).get("content", [{}])[0].get("text") == text
        if ok:
            self.stats.ok("echo", took)
        else:
            self.stats.failed(f"test_echo: {str(msg)[:200]}")

    def check(self, msg: dict, what: str, good, kind: str) -> None:
        if good(msg):
            self.stats.ok(kind)
        else:
            self.stats.failed(f"{what}: {str(msg)[:200]}")

    def resume(self, h: dict[str, str]) -> None:
        """The answer stream dropped after its first progress event, resumed by GET."""
        conn = self.fresh()
        rid = self.next_id()
        resp = self.post({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                          "params": {"name": "test_tool_with_progress", "arguments": {},
                                     "_meta": {"progressToken": f"r{rid}"}}}, h, conn)
        first, last_id = sse_messages(resp, stop_after=1)
        conn.close()
        if last_id is None:
            return self.stats.failed("resume: no event id before the drop")
        conn = self.fresh()
        try:
            conn.request("GET", "/mcp", headers={"Host": f"{self.host}:{self.port}", "Accept": "text/event-stream",
                                                 "Last-Event-ID": last_id, **h})
            resp = conn.getresponse()
            rest, _ = sse_messages(resp)
        finally:
            conn.close()
        got = first + rest
        answers = [m for m in got if m.get("id") == rid]
        progress = [m["params"]["progress"] for m in got if m.get("method") == "notifications/progress"]
        if len(answers) == 1 and progress == sorted(set(progress)):
            self.stats.ok("resumed")
        else:
            self.stats.failed(f"resume: {answers} {progress}")

    def cancel_2025(self, h: dict[str, str]) -> None:
        conn = self.fresh()
        rid = self.next_id()
        resp = self.post({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                          "params": {"name": "test_sleep", "arguments": {"ms": 3000}}}, h, conn)
        resp.readline()  # the priming event has begun: the call runs
        r = self.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                       "params": {"requestId": rid, "reason": "soak"}}, h)
        r.read()
        started = time.monotonic()
        rest, _ = sse_messages(resp)
        conn.close()
        if not any(m.get("id") == rid for m in rest) and time.monotonic() - started < 2.5:
            self.stats.ok("cancelled")
        else:
            self.stats.failed(f"cancel: answered anyway or late: {rest}")

    # -------------------------------------------------------------- 2026-07-28
    def modern(self) -> None:
        meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": {"name": "soak", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {}}
        for _ in range(self.rng.randrange(2, 12)):
            if self.stop.is_set():
                break
            pick = self.rng.random()
            if pick < 0.7:
                self.echo({"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "test_echo"}, meta)
            elif pick < 0.8:
                msg = self.answer(self.post({"jsonrpc": "2.0", "id": self.next_id(), "method": "server/discover",
                                             "params": {"_meta": meta}},
                                            {"MCP-Protocol-Version": MODERN, "Mcp-Method": "server/discover"}))
                self.check(msg, "server/discover", lambda m: "supportedVersions" in m.get("result", {}), "discover")
            elif pick < 0.9:
                msg = self.answer(self.post({"jsonrpc": "2.0", "id": self.next_id(), "method": "tools/list",
                                             "params": {"_meta": meta}},
                                            {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"}))
                self.check(msg, "tools/list", lambda m: len(m.get("result", {}).get("tools", [])) > 5, "list")
            else:
                conn = self.fresh()
                resp = self.post({"jsonrpc": "2.0", "id": self.next_id(), "method": "tools/call",
                                  "params": {"name": "test_sleep", "arguments": {"ms": 3000}, "_meta": meta}},
                                 {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "test_sleep"},
                                 conn)
                if resp.status == 200:
                    self.stats.ok("cut")
                else:
                    self.stats.failed(f"test_sleep: HTTP {resp.status}")
                conn.close()  # closing the stream cancels the call

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.session() if self.rng.random() < 0.5 else self.modern()
            except (OSError, http.client.HTTPException, ValueError) as e:
                self.stats.failed(f"{type(e).__name__}: {e}")
                if self.conn is not None:
                    self.conn.close()
                self.conn = None


def start_server(build: Path) -> tuple[subprocess.Popen, str, int]:
    binary = build / "bin" / "mcp-everything-server"
    env = dict(os.environ, LD_LIBRARY_PATH=str(build / "lib"))
    proc = subprocess.Popen([str(binary), "--http", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            bufsize=0)  # unbuffered: select sees every line readline has not taken
    assert proc.stderr is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            line = proc.stderr.readline()
            m = re.search(rb"http://([\d.]+):(\d+)/mcp", line)
            if m:
                # Keep draining its stderr, so the server never blocks on it.
                threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
                return proc, m.group(1).decode(), int(m.group(2))
    proc.kill()
    sys.exit("the everything server printed no URL")


def slope(ys: list[float], xs: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    if len(ys) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=Path(__file__).resolve().parents[1] / "build")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--sample", type=float, default=60.0, help="seconds per row")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)

    proc, host, port = start_server(a.build)
    stats, stop = Stats(), threading.Event()
    master = random.Random(seed)
    workers = [Worker(host, port, random.Random(master.randrange(1 << 32)), stats, stop) for _ in range(a.workers)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    print(f"soak: {a.minutes:g} min, {a.workers} workers, seed {seed}, server pid {proc.pid} at {host}:{port}")
    print(f"{'t (min)':>7} {'RSS MiB':>8} {'fds':>5} {'threads':>7} {'calls':>7} {'failed':>6} "
          f"{'p50 ms':>7} {'p99 ms':>7}  mix")
    for t in threads:
        t.start()
    rows: list[tuple[float, float, int]] = []
    all_failures: list[str] = []
    started = time.monotonic()
    end = started + a.minutes * 60
    try:
        while (now := time.monotonic()) < end:
            time.sleep(min(a.sample, end - now))
            if proc.poll() is not None:
                print(f"the server exited with status {proc.returncode}")
                return 1
            t = (time.monotonic() - started) / 60
            rss = proc_status(proc.pid, "VmRSS") / 1024
            fds = open_fds(proc.pid)
            nthreads = proc_status(proc.pid, "Threads")
            calls, failures, lat, kinds = stats.take()
            all_failures += failures
            rows.append((t, rss, fds))
            mix = " ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
            print(f"{t:7.1f} {rss:8.1f} {fds:5d} {nthreads:7d} {calls:7d} {len(failures):6d} "
                  f"{pct(lat, 0.5) * 1000:7.2f} {pct(lat, 0.99) * 1000:7.2f}  {mix}", flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT + 5)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    tail = rows[len(rows) // 3:]
    xs = [r[0] for r in tail]
    span = (xs[-1] - xs[0]) if len(xs) > 1 else 0.0  # minutes
    rss_slope = slope([r[1] for r in tail], xs)  # MiB per minute
    fd_slope = slope([float(r[2]) for r in tail], xs)
    level = statistics.fmean(r[1] for r in tail) if tail else 0.0
    # Judged on what the slope adds up to over the judged window: RSS by less
    # than 1 MiB or 2% of its level, descriptors by less than the jitter of
    # the connections that are open at any one moment.
    flat = rss_slope * span < max(1.0, 0.02 * level) and fd_slope * span < a.workers + 4
    verdict = "flat" if flat else "growing"
    if len(tail) < 3:
        verdict += " (too few rows to judge: run longer or lower --sample)"
    print(f"trend over the last {len(tail)} rows ({span:.1f} min): RSS {rss_slope * 60:+.2f} MiB/hour "
          f"({rss_slope * span:+.2f} MiB over the window, level {level:.1f} MiB), descriptors "
          f"{fd_slope * 60:+.1f}/hour ({fd_slope * span:+.1f} over the window): {verdict}")
    if all_failures:
        print(f"{len(all_failures)} failed calls; first: {all_failures[:3]}")
    return 0 if flat and not all_failures else 1


if __name__ == "__main__":
    sys.exit(main())
