#!/usr/bin/env python3
"""HTTP benchmark (not a test): tools/call of test_echo over Streamable HTTP in
JSON-response mode, side by side in one run:

  ours     the everything server (libmcp, C host) with --http --json-response
  nio-echo a raw SwiftNIO HTTP server answering a fixed body: the ceiling
  python   the official Python SDK's MCPServer, run("streamable-http", json_response=True)

The load comes from bench/http_driver.c (C, epoll, keep-alive): 1, 16 and 64
sessions, each on its own connection with one call in flight. For each server
and load it reports calls/s, p50/p99 latency, and calls per server-CPU-second
(utime+stime of the server process from /proc/<pid>/stat over the measured
window). Then --wide sessions (2,000) at once, each on its own connection, with
the server's open files and memory. Then idle-session memory: the server's RSS growth per session after
--idle-sessions sessions are created (spread over 16 connections, so the open
files stay far below any limit).

With --baseline-build, the everything server of another build (an older
commit) is measured in the same run ("base", "base/workers"), for before/after.

With --metrics-ab ROUNDS only the cost of the metrics is measured: the
everything server with metrics (the default) and with --no-metrics, inline tool
and --no-inline each, run side by side; every round drives each pair in turn
(alternating which goes first) at each load, and the report gives, per load,
the median ratio of calls per server-CPU-second (on / off) and its spread over
the rounds. On a loaded machine the spread says how far to trust the median.
--trace-ab ROUNDS does the same for tracing: --trace count (a span per request,
recorded, serialized and handed to a hook that counts it) beside no hook. Both
may be given: the pairs then run in the same rounds, side by side. --ops-ab ROUNDS
pairs metrics and the counting trace hook both on with both off (what issue 15
holds to at most 3% fewer calls per CPU-second). With
--baseline-build as well, "idle-tracing" pairs this build with no hook beside
the baseline build (one without the tracing code): the cost of tracing off.

Usage: python3 bench/http_bench.py --build build [--seconds 3] [--idle-sessions 10000] [--json out.json]
                                   [--baseline-build other-checkout/build]
       python3 bench/http_bench.py --build build --metrics-ab 5 [--trace-ab 5] [--ops-ab 5] [--loads 16] [--seconds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def start_ours(build: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, LD_LIBRARY_PATH=str(build / "lib"))
    proc = subprocess.Popen([str(build / "bin" / "mcp-everything-server"), "--http", "127.0.0.1:0", "--json-response",
                             *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    line = proc.stderr.readline().decode()
    m = re.search(r":(\d+)/mcp", line)
    if not m:
        raise SystemExit(f"everything server: {line}")
    return proc, int(m.group(1))


def start_nio_echo(binary: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    if not line.startswith("PORT "):
        raise SystemExit(f"nio echo: {line!r}")
    return proc, int(line.split()[1])


def start_python() -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "http_sdk_server.py"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, port


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def drive(driver: Path, pid: int, port: int, conns: int, seconds: float, warmup: float = 0.5,
          ping: bool = False, at_end=None, modern: bool = False) -> dict:
    p = subprocess.Popen([str(driver), "--port", str(port), "--conns", str(conns), "--seconds", str(seconds),
                          "--warmup", str(warmup)] + (["--ping"] if ping else []) + (["--modern"] if modern else []),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cpu0 = cpu1 = 0.0
    result: dict = {}
    for raw in p.stdout:
        line = raw.decode().strip()
        if line == "START":
            cpu0 = cpu_seconds(pid)
        elif line == "END":
            cpu1 = cpu_seconds(pid)
            if at_end:
                at_end(result)  # the driver still holds its connections here
        elif line.startswith("{"):
            result.update(json.loads(line))
    p.wait()
    if p.returncode != 0 or not result:
        raise SystemExit(f"driver failed: {p.stderr.read().decode()[-1000:]}")
    cpu = max(cpu1 - cpu0, 1.0 / CLK_TCK)
    result["server_cpu_s"] = round(cpu, 2)
    result["calls_per_cpu_s"] = round(result["calls"] / cpu)
    return result


def idle_sessions(driver: Path, pid: int, port: int, count: int) -> dict:
    before = rss_kib(pid)
    p = subprocess.Popen([str(driver), "--port", str(port), "--conns", "16", "--sessions", str(count)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = time.monotonic()
    ready, _, _ = select.select([p.stdout], [], [], 600)
    line = p.stdout.readline().decode().strip() if ready else ""
    took = time.monotonic() - started
    time.sleep(0.5)
    after = rss_kib(pid)
    p.stdin.close()
    p.wait(30)
    if not line.startswith(f"SESSIONS {count} ERRORS 0"):
        raise SystemExit(f"session driver: {line!r} {p.stderr.read().decode()[-500:]}")
    return {"sessions": count, "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_session": round((after - before) / count, 2), "create_s": round(took, 2)}


# What an A/B compares: the everything server's options with the feature on, and off.
AB_PAIRS = {
    "metrics": {"inline": ((), ("--no-metrics",)), "workers": (("--no-inline",), ("--no-inline", "--no-metrics"))},
    "tracing": {"inline": (("--trace", "count"), ()), "workers": (("--no-inline", "--trace", "count"), ("--no-inline",))},
    # What an operator turns on together: metrics and a trace hook, beside neither.
    "metrics+tracing": {"inline": (("--trace", "count"), ("--no-metrics",)),
                        "workers": (("--no-inline", "--trace", "count"), ("--no-inline", "--no-metrics"))},
}


def feature_ab(driver: Path, build: Path, loads: list[int], seconds: float, rounds: int,
               features: list[str], baseline: Path | None = None) -> dict:
    """Calls per server-CPU-second with each feature on vs off, interleaved over rounds.
    With a baseline build and tracing, also this build with no trace hook ("on": the
    tracing code present, idle) beside the baseline's ("off"): the cost of tracing off."""
    pairs = {f"{feature} {path}": ((build, on), (build, off))
             for feature in features for path, (on, off) in AB_PAIRS[feature].items()}
    if baseline is not None and "tracing" in features:
        pairs["idle-tracing inline"] = ((build, ()), (baseline, ()))
        pairs["idle-tracing workers"] = ((build, ("--no-inline",)), (baseline, ("--no-inline",)))
    procs: dict[tuple[str, str], tuple[subprocess.Popen, int]] = {}
    out: dict = {}
    try:
        for path, ((on_build, on), (off_build, off)) in pairs.items():
            procs[(path, "on")] = start_ours(on_build, *on)
            procs[(path, "off")] = start_ours(off_build, *off)
        for (proc, port) in procs.values():
            drive(driver, proc.pid, port, 16, 0.5)  # warm: code paths and allocator arenas
        for r in range(rounds):
            for path in pairs:
                for conns in loads:
                    order = ("on", "off") if r % 2 == 0 else ("off", "on")
                    got = {}
                    for variant in order:
                        proc, port = procs[(path, variant)]
                        got[variant] = drive(driver, proc.pid, port, conns, seconds)["calls_per_cpu_s"]
                    ratio = got["on"] / got["off"]
                    out.setdefault(path, {}).setdefault(conns, []).append(
                        {"on": got["on"], "off": got["off"], "ratio": round(ratio, 4)})
                    print(f"round {r + 1}: {path:20} {conns:3} sessions: on {got['on']:7} off {got['off']:7} "
                          f"calls/CPU-s  on/off {ratio:.3f}", flush=True)
    finally:
        for proc, _ in procs.values():
            stop(proc)
    print("\non / off, calls per server-CPU-second (median, min..max over rounds):")
    for path, by_load in out.items():
        for conns, runs in by_load.items():
            ratios = sorted(x["ratio"] for x in runs)
            median = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
            print(f"  {path:20} {conns:3} sessions: {median:.3f} ({ratios[0]:.3f}..{ratios[-1]:.3f}), "
                  f"{(1 - median) * 100:+.1f}% fewer calls per CPU-second with {path.split()[0]} on")
            by_load[conns] = {"runs": runs, "median_ratio": round(median, 4)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--loads", default="1,16,64")
    ap.add_argument("--idle-sessions", type=int, default=9999)  # + the warm-up one: the 10,000 limit
    ap.add_argument("--wide", type=int, default=2000, help="sessions on their own connections at once (0: skip)")
    ap.add_argument("--skip-python", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--baseline-build", help="another build directory whose everything server runs side by side")
    ap.add_argument("--metrics-ab", type=int, default=0, metavar="ROUNDS",
                    help="only measure metrics on vs off, interleaved over ROUNDS rounds")
    ap.add_argument("--trace-ab", type=int, default=0, metavar="ROUNDS",
                    help="only measure tracing (a counting hook) on vs off, interleaved over ROUNDS rounds")
    ap.add_argument("--ops-ab", type=int, default=0, metavar="ROUNDS",
                    help="only measure metrics and tracing together on vs both off, interleaved over ROUNDS rounds")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    if args.metrics_ab or args.trace_ab or args.ops_ab:
        driver = build / "http_driver"
        subprocess.run(["cc", "-O2", "-o", str(driver), str(REPO / "bench" / "http_driver.c")], check=True)
        features = [f for f, n in (("metrics", args.metrics_ab), ("tracing", args.trace_ab),
                                   ("metrics+tracing", args.ops_ab)) if n]
        ab = feature_ab(driver, build, [int(x) for x in args.loads.split(",")], args.seconds,
                        max(args.metrics_ab, args.trace_ab, args.ops_ab), features,
                        Path(args.baseline_build).resolve() if args.baseline_build else None)
        if args.json:
            Path(args.json).write_text(json.dumps({"ab": ab}, indent=2))
        return 0
    scratch = build / "swiftpm"
    if not scratch.is_dir():  # the CMake cache knows where SwiftPM builds
        cache = (build / "CMakeCache.txt").read_text()
        scratch = Path(re.search(r"MCP_SWIFT_SCRATCH:PATH=(.*)", cache).group(1))

    driver = build / "http_driver"
    subprocess.run(["cc", "-O2", "-o", str(driver), str(REPO / "bench" / "http_driver.c")], check=True)
    # The echo ceiling is built with the library's own flags (the same scratch
    # directory, so nothing is rebuilt, and the same code generation for NIO).
    flags = re.search(r"MCP_SWIFT_FLAGS:STRING=(.*)", (build / "CMakeCache.txt").read_text())
    subprocess.run(["swift", "build", "-c", "release", "--product", "mcp-bench-nio-echo", "--package-path", str(REPO),
                    "--scratch-path", str(scratch), *(flags.group(1).split(";") if flags else [])],
                   check=True, stdout=subprocess.DEVNULL)
    nio_binary = scratch / "release" / "mcp-bench-nio-echo"

    # "ours/ping": ping instead of tools/call, answered on the I/O thread with no
    # host callback: the transport's and JSON-RPC layer's own cost.
    # "ours": test_echo registered with MCP_TOOL_INLINE (the callback runs on
    # the I/O thread); "ours/workers": the same tool handed to a worker thread
    # (the default for callbacks that may block), --no-inline.
    servers = {"ours": lambda: start_ours(build), "ours/workers": lambda: start_ours(build, "--no-inline"),
               "ours/ping": lambda: start_ours(build),
               "nio-echo": lambda: start_nio_echo(nio_binary)}
    if args.baseline_build:
        base = Path(args.baseline_build).resolve()
        servers["base"] = lambda: start_ours(base)
        servers["base/workers"] = lambda: start_ours(base, "--no-inline")
    if not args.skip_python:
        servers["python"] = start_python
    loads = [int(x) for x in args.loads.split(",")]
    results: dict = {"throughput": {}, "idle": {}, "wide": {}}
    for name, start in servers.items():
        proc, port = start()
        try:
            for conns in loads:
                r = drive(driver, proc.pid, port, conns, args.seconds, ping=name == "ours/ping")
                results["throughput"].setdefault(name, {})[conns] = r
                print(f"{name:9} {conns:3} sessions: {r['calls_per_s']:9.0f} calls/s  p50 {r['p50_us']:6} us  "
                      f"p99 {r['p99_us']:6} us  {r['calls_per_cpu_s']:7} calls/CPU-s", flush=True)
        finally:
            stop(proc)
    if args.wide:
        proc, port = start_ours(build)
        try:
            def snapshot(r: dict) -> None:
                r["server_fds"] = len(os.listdir(f"/proc/{proc.pid}/fd"))
                r["server_rss_kib"] = rss_kib(proc.pid)
            r = results["wide"] = drive(driver, proc.pid, port, args.wide, args.seconds, warmup=2.0, at_end=snapshot)
            print(f"ours    {args.wide} sessions, one connection each: {r['calls_per_s']:.0f} calls/s  "
                  f"p50 {r['p50_us']} us  p99 {r['p99_us']} us  {r['calls_per_cpu_s']} calls/CPU-s  "
                  f"server fds {r['server_fds']}  RSS {r['server_rss_kib']} KiB  errors {r['errors']}", flush=True)
        finally:
            stop(proc)
    if args.idle_sessions:
        proc, port = start_ours(build)  # a fresh server: the runs above left sessions behind
        try:
            drive(driver, proc.pid, port, 1, 0.5)  # warm: code paths and allocator arenas
            i = results["idle"]["ours"] = idle_sessions(driver, proc.pid, port, args.idle_sessions)
            print(f"ours      {i['sessions']} idle sessions: RSS {i['rss_before_kib']} -> {i['rss_after_kib']} KiB, "
                  f"{i['kib_per_session']} KiB/session (created in {i['create_s']} s)", flush=True)
        finally:
            stop(proc)

    t = results["throughput"]
    print("\nper server-CPU-second, ours (inline tool; tool on workers) vs:")
    for conns in loads:
        ours = t["ours"][conns]["calls_per_cpu_s"]
        workers = t["ours/workers"][conns]["calls_per_cpu_s"]
        echo = t['nio-echo'][conns]['calls_per_cpu_s']
        line = (f"  {conns:3} sessions: nio-echo ceiling {ours / echo:.2f}x; {workers / echo:.2f}x "
                f"(ping {t['ours/ping'][conns]['calls_per_cpu_s'] / echo:.2f}x)")
        if "python" in t:
            py = t['python'][conns]['calls_per_cpu_s']
            line += f", python SDK {ours / py:.1f}x; {workers / py:.1f}x"
        if "base" in t:
            b, bw = t["base"][conns]["calls_per_cpu_s"], t["base/workers"][conns]["calls_per_cpu_s"]
            line += f"; baseline build {b / echo:.2f}x; {bw / echo:.2f}x (ours/baseline {ours / b:.2f}; {workers / bw:.2f})"
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
