#!/usr/bin/env python3
"""Store benchmark: what the "store" costs, side by side in one run: memory:, sqlite:PATH (fsync
per commit, the default), sqlite:PATH?synchronous=normal and postgres://... (a private PostgreSQL
server on loopback, started and stopped here by tests/interop/pg_support.py, with its default
synchronous_commit=on: a commit is in its WAL on disk; and, for comparison only, a database with
synchronous_commit=off), behind the everything server over HTTP.

Usage: python bench/store_bench.py [--build build] [--seconds 5] [--clients 8] [--no-postgres]
                                   [--fleet-rounds 100] [--json out.json]

Two workloads per store, each for --seconds with --clients threads (one 2025-era session and one
keep-alive connection each):
  call   2025-11-25 tools/call test_echo with a progressToken, answered as SSE: every call writes its
         stream's priming event and its answer to the store before the client sees them (2 events).
  task   a 2025-11-25 task round trip: tools/call slow_compute {seconds: 0} with "task" (the task is
         saved before CreateTaskResult), then tasks/result (the result is saved before it is sent).
Prints calls/s and p50/p99 latency (ms) per store and workload.

Then, for each store a fleet can share (SQLite, PostgreSQL), what crossing nodes costs: two servers on the
store (fleet_poll_ms 50, the default), one 2025-era client session, --fleet-rounds times each:
  elicit   the session's call of test_elicitation runs on node A; the client POSTs its answer to node B,
           which relays it to A through the store (SQLite: the polled table; PostgreSQL: NOTIFY); timed from
           that POST to the call's result on A's stream.
  update   the session holds its GET stream on node A, subscribed to test://watched-resource; a call of
           test_update_watched_resource on node B publishes the change; timed from that POST to the
           notification on A's stream.
A benchmark, not a test: it fails only when a request fails. See bench/README.md ("Store benchmark").
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

VERSION = "2025-11-25"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "interop"))


def start(binary: Path, store: str, *extra: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([str(binary), "--http", "127.0.0.1:0", "--store", store, "--log-level", "error", *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            bufsize=0)  # unbuffered: select sees every line readline has not taken
    assert proc.stderr is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            line = proc.stderr.readline()
            m = re.search(rb"http://127\.0\.0\.1:(\d+)/mcp", line)
            if m:
                return proc, int(m.group(1))
            if not line:
                break
    proc.kill()
    sys.exit(f"store_bench: the server did not start with --store {store}")


class Session:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.sid: str | None = None
        self.next_id = 0
        r = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "store-bench", "version": "1"}}})
        self.sid = r[1]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def post(self, msg: dict) -> tuple[dict | None, str | None]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                   "MCP-Protocol-Version": VERSION}
        if self.sid:
            headers["Mcp-Session-Id"] = self.sid
        self.conn.request("POST", "/mcp", body=json.dumps(msg), headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status == 202:
            return None, None
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {data[:200]!r}")
        last = None
        if r.getheader("Content-Type", "").startswith("text/event-stream"):
            for line in data.decode().split("\n"):
                if line.startswith("data: ") and len(line) > 6:
                    last = json.loads(line[6:])
        else:
            last = json.loads(data)
        if last is None or "error" in last:
            raise RuntimeError(f"no result: {last}")
        return last, r.getheader("Mcp-Session-Id")

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        msg, _ = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        assert msg is not None
        return msg["result"]


def call_once(s: Session) -> None:
    s.request("tools/call", {"name": "test_echo", "arguments": {"text": "x"}, "_meta": {"progressToken": 1}})


def task_once(s: Session) -> None:
    created = s.request("tools/call", {"name": "slow_compute", "arguments": {"seconds": 0}, "task": {"ttl": 60000}})
    result = s.request("tasks/result", {"taskId": created["task"]["taskId"]})
    if not result.get("content"):
        raise RuntimeError(f"task result without content: {result}")


def run(port: int, work, clients: int, seconds: float) -> dict:
    sessions = [Session(port) for _ in range(clients)]
    for s in sessions:  # warm-up
        for _ in range(20):
            work(s)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def loop(k: int) -> None:
        try:
            while time.monotonic() < stop:
                t = time.perf_counter()
                work(sessions[k])
                latencies[k].append(time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(clients)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - begin
    if errors:
        sys.exit(f"store_bench: {errors[0]}")
    all_ms = sorted(x * 1000 for lat in latencies for x in lat)
    return {"calls": len(all_ms), "per_s": len(all_ms) / elapsed, "p50_ms": statistics.median(all_ms),
            "p99_ms": all_ms[int(0.99 * (len(all_ms) - 1))]}


def start_node(binary: Path, store: str) -> tuple[subprocess.Popen, int]:
    """A fleet node: like start, with a state key file shared by the nodes of a run."""
    key = Path(tempfile.gettempdir()) / f"store-bench-{os.getpid()}.key"
    if not key.exists():
        key.write_bytes(os.urandom(32))
    return start(binary, store, "--state-key", str(key), "--fleet-poll-ms", "50")


def fleet_latency(port_a: int, port_b: int, rounds: int) -> dict:
    """The elicit and update figures (see the module's doc) between nodes A and B."""
    from http_support import events, initialize, post, request
    a, b = f"http://127.0.0.1:{port_a}/mcp", f"http://127.0.0.1:{port_b}/mcp"
    sid = initialize(a, VERSION, capabilities={"elicitation": {}})
    elicit: list[float] = []
    for k in range(rounds):
        resp = post(a, {"jsonrpc": "2.0", "id": 1000 + k, "method": "tools/call",
                        "params": {"name": "test_elicitation", "arguments": {"message": "who"}}},
                    session=sid, version=VERSION)
        stream = events(resp)
        asked = next(json.loads(e["data"]) for e in stream if e.get("data"))
        if asked.get("method") != "elicitation/create":
            raise RuntimeError(f"expected an elicitation, got {asked}")
        t = time.perf_counter()
        answer = post(b, {"jsonrpc": "2.0", "id": asked["id"], "result": {
            "action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}}, session=sid, version=VERSION)
        if answer.status != 202:
            raise RuntimeError(f"answer on node B: HTTP {answer.status}")
        answer.read()
        result = next(json.loads(e["data"]) for e in stream if e.get("data"))
        elicit.append(time.perf_counter() - t)
        if result.get("id") != 1000 + k or "result" not in result:
            raise RuntimeError(f"elicitation call ended with {result}")
        resp.close()
    listen = request(a, "GET", headers={"Accept": "text/event-stream", "Mcp-Session-Id": sid,
                                        "MCP-Protocol-Version": VERSION})
    if listen.status != 200:
        raise RuntimeError(f"GET stream: HTTP {listen.status}")
    notes = events(listen)
    r = post(a, {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "test://watched-resource"}},
             session=sid, version=VERSION)
    r.read()
    update: list[float] = []
    for k in range(rounds):
        t = time.perf_counter()
        r = post(b, {"jsonrpc": "2.0", "id": 2000 + k, "method": "tools/call",
                     "params": {"name": "test_update_watched_resource", "arguments": {}}}, session=sid, version=VERSION)
        r.read()
        for e in notes:
            if e.get("data") and json.loads(e["data"]).get("method") == "notifications/resources/updated":
                break
        update.append(time.perf_counter() - t)
    listen.close()

    def figures(lat: list[float]) -> dict:
        ms = sorted(x * 1000 for x in lat)
        return {"rounds": len(ms), "p50_ms": statistics.median(ms), "p99_ms": ms[int(0.99 * (len(ms) - 1))]}
    return {"elicit": figures(elicit), "update": figures(update)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out (it needs Debian's postgresql)")
    ap.add_argument("--fleet-rounds", type=int, default=100, help="rounds of each cross-node figure (0: none)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    binary = Path(a.build) / "bin" / "mcp-everything-server"
    if not binary.exists():
        sys.exit(f"store_bench: no {binary}; run make build")
    results = {}
    pg = None
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        stores = {"memory": "memory:", "sqlite (synchronous=full)": f"sqlite:{tmp}/full.db",
                  "sqlite (synchronous=normal)": f"sqlite:{tmp}/normal.db?synchronous=normal"}
        try:
            if not a.no_postgres:
                from pg_support import PrivatePostgres
                pg = PrivatePostgres().start()
                stores["postgres (loopback)"] = pg.url(pg.new_database())
                # The same without waiting for the WAL fsync: what the round trips cost apart from the disk
                # (not the durability the store promises; the server logs a warning about it).
                relaxed = pg.new_database()
                pg.psql(f"ALTER DATABASE {relaxed} SET synchronous_commit = off")
                stores["postgres (synchronous_commit=off)"] = pg.url(relaxed)
            for name, url in stores.items():
                proc, port = start(binary, url)
                try:
                    results[name] = {w: run(port, f, a.clients, a.seconds) for w, f in (("call", call_once),
                                                                                         ("task", task_once))}
                finally:
                    proc.terminate()
                    proc.wait(15)
            fleets = {"sqlite fleet (poll)": f"sqlite:{tmp}/fleet.db?synchronous=normal"}
            if pg is not None:
                fleets["postgres fleet (NOTIFY)"] = pg.url(pg.new_database())
            for name, url in fleets.items() if a.fleet_rounds > 0 else ():
                nodes = [start_node(binary, url) for _ in range(2)]
                try:
                    results[name] = fleet_latency(nodes[0][1], nodes[1][1], a.fleet_rounds)
                finally:
                    for proc, _ in nodes:
                        proc.terminate()
                        proc.wait(15)
        finally:
            if pg is not None:
                pg.close()
    print(f"store benchmark: {a.clients} clients, {a.seconds:g} s per figure, {os.cpu_count()} CPUs")
    print(f"{'store':34} {'workload':8} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in results.items():
        for w, f in figures.items():
            rate = f"{f['per_s']:9.0f}" if "per_s" in f else f"{'-':>9}"
            print(f"{name:34} {w:8} {rate} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
