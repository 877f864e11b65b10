#!/usr/bin/env python3
"""Python binding benchmark (not a test): the same small tool written with our
binding (libmcp, bindings/python) and with the official SDK's MCPServer, side by
side in one run, over stdio and over Streamable HTTP (JSON-response mode).

The tool is test_echo(text) -> Echo (bench/python_binding_server.py). Our
binding runs it twice: registered as usual ("ours": each call is handed to an
engine worker thread) and with inline=True ("ours inline": it runs on the thread
that read the request, the HTTP I/O thread or the stdio reader). The load
comes from the lean C drivers, never from the Python client (which costs about
0.5 ms per call by itself):
  stdio  bench/stdio_driver.c: 1 call in flight (sequential) and 64 (pipelined)
  http   bench/http_driver.c: 1 and 16 sessions, each on its own keep-alive
         connection with one call in flight

For each row: calls/s, p50 latency, and calls per server-CPU-second. Server
CPU: over HTTP, utime+stime of the server process from /proc/<pid>/stat between
the driver's START and END markers; over stdio, the server's own
time.process_time() from the first measured call to the last (the same
instrumentation in both servers, see python_binding_server.py). Each figure is
the median of --repeat runs, the servers alternating; "x sdk" is that median
over the SDK's.

Usage: python3 bench/python_binding_bench.py [--build build] [--repeat 3] [--requests 5000]
           [--min-seconds 2] [--seconds 3] [--windows 1,64] [--conns 1,16]
           [--servers ours,ours-inline,sdk] [--baseline-src DIR] [--placement free|same|split]
           [--json out.json]
The library: $LIBMCP_PATH, else <build>/lib/libmcp.so.1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVER = HERE / "python_binding_server.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
IMPLS = ("ours", "ours-inline", "sdk")
LABELS = {"ours": "ours", "ours-inline": "ours inline", "sdk": "sdk", "baseline": "baseline"}
BINDING_SRC = {"baseline": None}  # --baseline-src: another checkout of the binding, run as "ours"
PLACEMENT: dict[str, list[str]] = {"driver": [], "server": []}  # --placement: taskset prefixes


def set_placement(how: str) -> None:
    """free: the scheduler places the driver and the server; same: both on CPU 0; split: the
    driver on CPU 0, the server on the other CPUs. A sequential client is bound by wake-up
    latency, which on this kind of machine depends mostly on whether the two share a CPU."""
    if how == "free":
        return
    cpus = sorted(os.sched_getaffinity(0))
    if how == "split" and len(cpus) < 2:
        fail("--placement split needs two CPUs")
    server = cpus[:1] if how == "same" else cpus[1:]
    PLACEMENT["driver"] = ["taskset", "-c", str(cpus[0])]
    PLACEMENT["server"] = ["taskset", "-c", ",".join(map(str, server))]


def fail(message: str) -> None:
    print(f"python_binding_bench: {message}", file=sys.stderr)
    sys.exit(1)


def build_driver(out_dir: Path, name: str) -> Path:
    src, out = HERE / f"{name}.c", out_dir / name
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", str(out), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"cannot build {src}:\n{r.stderr}")
    return out


def server_env(library: Path, impl: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, LIBMCP_PATH=str(library), **extra)
    src = BINDING_SRC.get(impl) or str(REPO / "bindings" / "python" / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ------------------------------------------------------------------ stdio

def run_stdio(driver: Path, library: Path, impl: str, window: int, requests: int, min_seconds: float) -> dict:
    """One run, lengthened until its timed phase lasts min_seconds (short runs are mostly noise)."""
    while True:
        stats = run_stdio_once(driver, library, impl, window, requests)
        if stats["seconds"] >= min_seconds or requests >= 2_000_000:
            return stats
        requests = int(requests * min_seconds / max(stats["seconds"], 1e-3) * 1.2) + 1


def run_stdio_once(driver: Path, library: Path, impl: str, window: int, requests: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cpu_file = Path(tmp) / "cpu.json"
        env = server_env(library, impl, BENCH_CPU_FILE=str(cpu_file), BENCH_WARMUP="200")
        cmd = [*PLACEMENT["driver"], str(driver), "--requests", str(requests), "--window", str(window),
               "--warmup", "200", "--init", "--expect", '"result":', "--timeout", "600", "--",
               *PLACEMENT["server"], sys.executable, str(SERVER), impl, "stdio"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if r.returncode != 0:
            fail(f"stdio driver failed against {impl} (window {window}):\n{r.stderr[-2000:]}")
        stats = json.loads(r.stdout)
        deadline = time.monotonic() + 10
        while not cpu_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not cpu_file.exists():
            fail(f"{impl} did not report its CPU time (stdio)")
        cpu = json.loads(cpu_file.read_text())
    stats["server_cpu_s"] = cpu["cpu_s"]
    stats["calls_per_cpu_s"] = cpu["calls"] / max(cpu["cpu_s"], 1e-6)
    return stats


# ------------------------------------------------------------------ http

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http(library: Path, impl: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([*PLACEMENT["server"], sys.executable, str(SERVER), impl, "http", str(port)],
                            env=server_env(library, impl),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{impl} HTTP server exited ({proc.returncode}): "
                               f"{log.read().decode(errors='replace')[-1500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{impl} HTTP server does not listen on {port}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def run_http(driver: Path, pid: int, port: int, conns: int, seconds: float) -> dict:
    p = subprocess.Popen([*PLACEMENT["driver"], str(driver), "--port", str(port), "--conns", str(conns),
                          "--seconds", str(seconds), "--warmup", "1.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cpu0 = cpu1 = 0.0
    result: dict = {}
    for raw in p.stdout:
        line = raw.decode().strip()
        if line == "START":
            cpu0 = cpu_seconds(pid)
        elif line == "END":
            cpu1 = cpu_seconds(pid)
        elif line.startswith("{"):
            result = json.loads(line)
    p.wait()
    if p.returncode != 0 or not result:
        fail(f"http driver failed: {p.stderr.read().decode()[-1000:]}")
    if result.get("errors"):
        fail(f"http driver saw {result['errors']} error answers")
    result["server_cpu_s"] = cpu1 - cpu0
    result["calls_per_cpu_s"] = result["calls"] / max(cpu1 - cpu0, 1.0 / CLK_TCK)
    return result


# ------------------------------------------------------------------ report

def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="where drivers are built (and <build>/lib/libmcp.so.1)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=5000, help="stdio calls per run, at least (after 200 warm-up)")
    ap.add_argument("--min-seconds", type=float, default=2.0, help="lengthen stdio runs shorter than this")
    ap.add_argument("--seconds", type=float, default=3.0, help="HTTP measured seconds per run")
    ap.add_argument("--windows", default="1,64")
    ap.add_argument("--conns", default="1,16")
    ap.add_argument("--servers", default=",".join(IMPLS), help="which of " + ", ".join(IMPLS))
    ap.add_argument("--baseline-src", help="also run the tool registered as usual with the binding found in this "
                    "directory (the src/ of another checkout of bindings/python, e.g. before a change), as "
                    "\"baseline\", in the same run")
    ap.add_argument("--placement", choices=("free", "same", "split"), default="free",
                    help="CPUs of the driver and the server: free (the scheduler's choice), same (both on one "
                         "CPU), split (different CPUs)")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--json")
    opts = ap.parse_args()
    impls = [i for i in IMPLS if i in opts.servers.split(",")]
    unknown = set(opts.servers.split(",")) - set(IMPLS)
    if unknown or not impls:
        fail(f"--servers: unknown {sorted(unknown)} (known: {', '.join(IMPLS)})")
    set_placement(opts.placement)
    if opts.baseline_src:
        base = Path(opts.baseline_src).resolve()
        if not (base / "libmcp" / "__init__.py").exists():
            fail(f"--baseline-src {base}: no libmcp package there")
        BINDING_SRC["baseline"] = str(base)
        impls.insert(0, "baseline")

    build = Path(opts.build).resolve()
    library = Path(os.environ.get("LIBMCP_PATH") or build / "lib" / "libmcp.so.1")
    if not library.exists():
        fail(f"{library} not found: build libmcp first or set LIBMCP_PATH")
    stdio_driver = build_driver(build / "bench", "stdio_driver")
    http_driver = build_driver(build / "bench", "http_driver")

    print("tools/call test_echo {\"text\":\"hello\"} -> Echo: our Python binding (worker dispatch, inline=True) "
          "vs the official SDK's MCPServer")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; library {library}; "
          f"median of {opts.repeat} runs; placement {opts.placement}")
    rows: list[dict] = []

    for window in (int(w) for w in opts.windows.split(",")):
        runs: dict[str, list[dict]] = {i: [] for i in impls}
        for _ in range(opts.repeat):
            for impl in impls:
                runs[impl].append(run_stdio(stdio_driver, library, impl, window, opts.requests, opts.min_seconds))
        rows.append({"transport": "stdio", "load": f"{window} in flight", "runs": runs})
        print(f"  stdio, {window} in flight: done", flush=True)

    http_note = None
    if not opts.skip_http:
        for conns in (int(c) for c in opts.conns.split(",")):
            runs = {i: [] for i in impls}
            try:
                for _ in range(opts.repeat):
                    for impl in impls:
                        proc, port = start_http(library, impl)
                        try:
                            runs[impl].append(run_http(http_driver, proc.pid, port, conns, opts.seconds))
                        finally:
                            stop(proc)
            except RuntimeError as e:
                http_note = str(e)
                break
            rows.append({"transport": "http", "load": f"{conns} sessions", "runs": runs})
            print(f"  http, {conns} sessions: done", flush=True)

    print()
    header = (f"{'transport':<9} {'load':<13} {'server':<11} {'calls/s':>9} {'x sdk':>6}  {'p50 us':>7}  "
              f"{'calls/CPU-s':>11} {'x sdk':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        row["median"] = {impl: {key: med(runs, key) for key in ("calls_per_s", "p50_us", "calls_per_cpu_s")}
                         for impl, runs in row["runs"].items()}
        sdk = row["median"].get("sdk")
        first = True
        for impl, m in row["median"].items():
            ratio = (lambda key: f"{m[key] / sdk[key]:>6.1f}") if sdk else (lambda key: f"{'-':>6}")
            lead = f"{row['transport']:<9} {row['load']:<13}" if first else " " * 23
            first = False
            print(f"{lead} {LABELS[impl]:<11} {m['calls_per_s']:>9,.0f} {ratio('calls_per_s')}  "
                  f"{m['p50_us']:>7,.0f}  {m['calls_per_cpu_s']:>11,.0f} {ratio('calls_per_cpu_s')}")
    if http_note:
        print(f"\nHTTP rows missing: {http_note}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(rows, indent=2) + "\n")
        print(f"runs written to {opts.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
