#!/usr/bin/env python3
"""mcp-bridge against mcp-proxy (PyPI) doing the same job (not a test): a stdio MCP server
served over Streamable HTTP. Behind each, the same child: the everything server over stdio
(a C server on our engine, fast enough that the proxy is what is measured). The load is
bench/http_driver.c: tools/call of test_echo {"text": "hello"}, --conns connections with one
call in flight each, a 2025-era session per connection ("2025"), and for mcp-bridge also
revision 2026-07-28 ("modern"; mcp-proxy 0.13.0, on the 1.x SDK, does not serve it).

For each run: calls/s, latency, and CPU seconds over the measured window, of the proxy
process alone and of the proxy with its child; calls per CPU-second uses the proxy alone
(the child is the same program under both).

mcp-proxy lives in its own venv (.venv-bench, from bench/requirements-bridge.txt), made on
first use. Usage:
    python3 bench/bridge_bench.py --build build [--seconds 5] [--conns 1,16] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import CLK_TCK, REPO, cpu_seconds, free_port, stop, wait_port  # noqa: E402

BENCH_VENV = REPO / ".venv-bench"


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, their children, ...)."""
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in parents.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of pid itself, and of its descendants."""
    own = cpu_seconds(pid)
    below = 0.0
    for c in descendants(pid):
        try:
            below += cpu_seconds(c)
        except OSError:
            pass
    return own, below


def ensure_mcp_proxy() -> Path:
    exe = BENCH_VENV / "bin" / "mcp-proxy"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "-r",
                        str(REPO / "bench" / "requirements-bridge.txt")], check=True)
    return exe


def start(name: str, build: Path, proxy_exe: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    child = [str(build / "bin" / "mcp-everything-server")]
    env = dict(os.environ, LD_LIBRARY_PATH=str(build / "lib"))
    if name == "mcp-bridge":
        argv = [str(build / "bin" / "mcp-bridge"), "--listen", f"127.0.0.1:{port}", "--", *child]
    else:
        argv = [str(proxy_exe), "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING",
                "--pass-environment", "--", *child]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    wait_port(port, proc, timeout=60)
    return proc, port


def drive(driver: Path, pid: int, port: int, conns: int, seconds: float, modern: bool) -> dict:
    p = subprocess.Popen([str(driver), "--port", str(port), "--conns", str(conns), "--seconds", str(seconds),
                          "--warmup", "1"] + (["--modern"] if modern else []),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    before = after = (0.0, 0.0)
    result: dict = {}
    for raw in p.stdout:
        line = raw.decode().strip()
        if line == "START":
            before = tree_cpu(pid)
        elif line == "END":
            after = tree_cpu(pid)
        elif line.startswith("{"):
            result.update(json.loads(line))
    p.wait()
    if p.returncode != 0 or not result:
        raise SystemExit(f"driver failed: {p.stderr.read().decode()[-1000:]}")
    proxy_cpu = max(after[0] - before[0], 1.0 / CLK_TCK)
    child_cpu = max(after[1] - before[1], 0.0)
    result["proxy_cpu_s"] = round(proxy_cpu, 2)
    result["child_cpu_s"] = round(child_cpu, 2)
    result["calls_per_proxy_cpu_s"] = round(result["calls"] / proxy_cpu)
    result["calls_per_total_cpu_s"] = round(result["calls"] / (proxy_cpu + child_cpu))
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--conns", default="1,16")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    build = Path(args.build).resolve()
    driver = build / "http_driver"
    subprocess.run(["cc", "-O2", "-o", str(driver), str(REPO / "bench" / "http_driver.c")], check=True)
    proxy_exe = ensure_mcp_proxy()
    version = subprocess.run([str(proxy_exe), "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# mcp-bridge ({build}) vs mcp-proxy {version}; child: mcp-everything-server over stdio; "
          f"{args.seconds} s per run, median of {args.repeat}; {os.cpu_count()} CPUs")
    runs = [("mcp-bridge", False), ("mcp-bridge", True), ("mcp-proxy", False)]
    rows = []
    for conns in [int(c) for c in args.conns.split(",")]:
        for name, modern in runs:
            samples = []
            for _ in range(args.repeat):
                proc, port = start(name, build, proxy_exe)
                try:
                    samples.append(drive(driver, proc.pid, port, conns, args.seconds, modern))
                finally:
                    stop(proc)
            row = {"proxy": name, "era": "modern" if modern else "2025", "conns": conns}
            for key in ("calls_per_s", "p50_us", "p99_us", "proxy_cpu_s", "child_cpu_s", "calls_per_proxy_cpu_s",
                        "calls_per_total_cpu_s", "errors"):
                row[key] = statistics.median(s[key] for s in samples)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"{'proxy':<11} {'era':<7} {'conns':>5} {'calls/s':>9} {'p50 us':>8} {'p99 us':>8} "
          f"{'calls/proxy-CPU-s':>18} {'calls/CPU-s (with child)':>25}")
    for r in rows:
        print(f"{r['proxy']:<11} {r['era']:<7} {r['conns']:>5} {r['calls_per_s']:>9.0f} {r['p50_us']:>8.0f} "
              f"{r['p99_us']:>8.0f} {r['calls_per_proxy_cpu_s']:>18.0f} {r['calls_per_total_cpu_s']:>25.0f}")
    for conns in sorted({r["conns"] for r in rows}):
        ours = next(r for r in rows if r["proxy"] == "mcp-bridge" and r["era"] == "2025" and r["conns"] == conns)
        peer = next(r for r in rows if r["proxy"] == "mcp-proxy" and r["conns"] == conns)
        print(f"conns {conns}: mcp-bridge/mcp-proxy calls/s x{ours['calls_per_s'] / max(peer['calls_per_s'], 1):.1f}, "
              f"per proxy CPU-second x{ours['calls_per_proxy_cpu_s'] / max(peer['calls_per_proxy_cpu_s'], 1):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
